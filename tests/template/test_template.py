"""template.yaml is derived from the registry and passes the linters AWS's own tools run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from aiwarden import patterns
from aiwarden.registry import all_checks, required_permissions
from tests.conftest import EVENTS, REPO

TEMPLATE = REPO / "template.yaml"
# What each function needs beyond reading resources: publish alerts or report to Config, use the
# stack's key, dead-letter failed invocations.
PLUMBING = {
    "sns:Publish",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "sqs:SendMessage",
    "config:PutEvaluations",
    # The state table: alert on change, event dedup, remediation audit, the AI usage index.
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",  # the bucket -> AI usage index's rebuild
    "dynamodb:BatchGetItem",  # stored verdicts a sweep compares AWS Config's recorded answers with
    "securityhub:BatchImportFindings",
}
FUNCTIONS = ("EvaluateFunction", "SweepFunction", "SweepWorkerFunction", "ConfigRuleFunction")


def rules() -> dict[str, dict[str, Any]]:
    return patterns.template_rules(TEMPLATE)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """AWS's EventBridge matching semantics, as moto implements them (not a hand-written if)."""
    return EventPattern(json.dumps(pattern), pattern).matches_event(event)


def read_statements() -> list[dict[str, Any]]:
    template = patterns.load_template(TEMPLATE)
    return list(template["Resources"]["WardenReadPolicy"]["Properties"]["PolicyDocument"]["Statement"])


def function_statements(function: str) -> list[dict[str, Any]]:
    """The function's own statements; an optional one (!If [Condition, statement, NoValue]) counts."""
    template = patterns.load_template(TEMPLATE)
    policies = template["Resources"][function]["Properties"]["Policies"]
    statements = [
        st
        for policy in policies
        if isinstance(policy, dict) and "Statement" in policy
        for st in policy["Statement"]
    ]
    return [st["Fn::If"][1] if "Fn::If" in st else st for st in statements]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        found.update([value] if isinstance(value, str) else value)
    return found


def test_generated_patterns_are_current(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, copy)
    assert not patterns.write_template(copy), "run `aiwarden patterns --write template.yaml`"


@pytest.mark.parametrize(
    ("check_id", "service", "event_name"),
    [(c.id, t.service, name) for c in all_checks() for t in c.triggers for name in t.event_names],
)
def test_every_trigger_reaches_the_evaluator(check_id: str, service: str, event_name: str) -> None:
    event = {
        "source": f"aws.{service}",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": f"{service}.amazonaws.com", "eventName": event_name},
    }
    assert any(matches(p, event) for p in rules().values()), f"{check_id}: {event_name} not routed"


def test_failed_api_calls_are_not_routed() -> None:
    event = json.loads((EVENTS / "cloudtrail/s3_delete_bucket_encryption_access_denied.json").read_text())
    assert not any(matches(p, event) for p in rules().values())


# Config custom-rule invocations (config_rule/) come from Config itself and SNS notifications
# (sns/) from the alert topic: neither passes through EventBridge.
EVENTBRIDGE_SAMPLES = sorted(
    p.relative_to(EVENTS).as_posix()
    for p in EVENTS.glob("*/*.json")
    if p.parent.name not in {"config_rule", "sns"}
)


@pytest.mark.parametrize("path", EVENTBRIDGE_SAMPLES)
def test_sample_events_route_as_expected(path: str) -> None:
    event = json.loads((EVENTS / path).read_text())
    routed = any(matches(p, event) for p in rules().values())
    expected = not path.startswith("invalid/") and "access_denied" not in path
    assert routed is expected


def test_config_rule_covers_every_checked_resource_type_config_records() -> None:
    types = {c.resource.cfn_type for c in all_checks()} & patterns.CONFIG_RECORDED
    for resource_type in types:
        item = {"resourceType": resource_type}
        for key in ("configurationItem", "configurationItemSummary"):
            event = {
                "source": "aws.config",
                "detail-type": "Config Configuration Item Change",
                "detail": {key: item},
            }
            assert matches(rules()["ConfigItemChange"], event), (resource_type, key)


def test_every_rule_has_a_dead_letter_queue_and_retry_policy() -> None:
    template = patterns.load_template(TEMPLATE)
    events = template["Resources"]["EvaluateFunction"]["Properties"]["Events"]
    for name, event in events.items():
        assert event["Properties"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, (
            name
        )
    on_failure = template["Resources"]["EvaluateFunction"]["Properties"]["EventInvokeConfig"]
    assert on_failure["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }


def test_read_policy_grants_exactly_what_the_checks_declare() -> None:
    from aiwarden.remediation import guard_read_permissions

    granted = actions(read_statements())
    needed = required_permissions() | guard_read_permissions()
    missing = needed - granted
    extra = granted - needed
    assert not missing, f"checks need, template lacks: {sorted(missing)}"
    assert not extra, f"template grants, no check declares: {sorted(extra)}"


def test_read_policy_is_read_only() -> None:
    for action in actions(read_statements()):
        assert "*" not in action, action
        assert action.split(":", 1)[1].startswith(("Get", "List", "Describe", "BatchGet")), action


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_read_through_the_shared_policy_and_add_only_plumbing(function: str) -> None:
    template = patterns.load_template(TEMPLATE)
    policies = template["Resources"][function]["Properties"]["Policies"]
    assert {"Ref": "WardenReadPolicy"} in policies
    for statement in function_statements(function):
        for action in actions([statement]):
            assert action in PLUMBING, f"{function}: {action}"
            if action != "config:PutEvaluations":  # the only one without resource-level permissions
                assert statement["Resource"] != "*", action


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_given_the_state_table_may_keep_the_ai_usage_index(function: str) -> None:
    """Runtime.clients hands the table to the resources whenever AIWARDEN_STATE_TABLE is set: the
    bucket -> AI usage index (aiwarden.resources.s3) then reads, adds, rebuilds and invalidates."""
    template = patterns.load_template(TEMPLATE)
    variables = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    if "AIWARDEN_STATE_TABLE" not in variables:
        return
    on_table = [
        st for st in function_statements(function) if st["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    ]
    index_actions = {"GetItem", "Query", "PutItem", "BatchWriteItem", "DeleteItem", "BatchGetItem"}
    assert {f"dynamodb:{a}" for a in index_actions} <= actions(on_table)


def test_slack_notifier_reads_only_its_secret() -> None:
    statements = function_statements("NotifySlackFunction")
    assert actions(statements) == {
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sqs:SendMessage",
    }
    secret = next(st for st in statements if st["Action"] == "secretsmanager:GetSecretValue")
    assert secret["Resource"] == {"Ref": "SlackWebhookSecretArn"}


def test_cfn_lint_source_and_transformed(tmp_path: Path) -> None:
    import cfnlint.api
    from samtranslator.translator.transform import transform

    def problems(text: str) -> list[str]:
        # Errors and warnings, as the cfn-lint command reports by default; not informational hints.
        return [str(m) for m in cfnlint.api.lint_all(text) if m.rule.id[0] in "EW"]

    assert problems(TEMPLATE.read_text()) == []
    template = patterns.load_template(TEMPLATE)
    # As `sam package` would: local code paths become S3 locations before the transform.
    for resource in template["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if isinstance(resource.get("Properties", {}).get(key), str):
                resource["Properties"][key] = "s3://aiwarden-artifacts/code.zip"
    transformed = transform(template, {}, _NoManagedPolicies())
    assert problems(json.dumps(transformed)) == []


class _NoManagedPolicies:
    """The template names no AWS managed policies, so the translator never needs to look any up."""

    def load(self) -> dict[str, str]:
        return {}


def _sam() -> list[str]:
    sam = os.environ.get("SAM_CLI") or str(REPO / ".venv-sam/bin/sam")
    if not Path(sam).exists():
        if os.environ.get("CI"):
            pytest.fail("aws-sam-cli missing: run `make test`, which installs it")
        pytest.skip("aws-sam-cli not installed (`make install`)")
    return [sam]


def _sam_env() -> dict[str, str]:
    """sam needs a python3.13 on PATH to build for the python3.13 runtime without Docker."""
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    if "AIWARDEN_SAM_PATH" in os.environ:  # set by the Makefile
        env["PATH"] = os.environ["AIWARDEN_SAM_PATH"]
        return env
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(pyenv_root.glob("versions/3.13*/bin"))
    if found:
        env["PATH"] = f"{found[-1]}{os.pathsep}{env['PATH']}"
    return env


@pytest.mark.template
def test_sam_validate_lint() -> None:
    result = subprocess.run(
        [*_sam(), "validate", "--lint", "--template", str(TEMPLATE)],
        cwd=REPO,
        env=_sam_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.template
def test_sam_build_layer_holds_aiwarden_and_no_second_boto(tmp_path: Path) -> None:
    build = tmp_path / "build"
    result = subprocess.run(
        [*_sam(), "build", "--template", str(TEMPLATE), "--build-dir", str(build)],
        cwd=REPO,
        env=_sam_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    layer = build / "AiWardenLayer" / "python"
    assert (layer / "aiwarden" / "engine.py").exists()
    assert (layer / "aws_lambda_powertools").is_dir()
    for shadowing in ("boto3", "botocore", "s3transfer"):
        assert not (layer / shadowing).exists(), f"{shadowing} in the layer shadows the runtime's"
    assert not (layer / "aiwarden_dev").exists(), "dev tools must not ship"
    # Compiled for Lambda's python3.13: /opt is read-only, so .pyc must ship or every cold start
    # recompiles.
    assert list((layer / "aiwarden" / "__pycache__").glob("engine.cpython-313.pyc"))
    assert list((layer / "aws_lambda_powertools" / "__pycache__").glob("*.cpython-313.pyc"))
    for function in (*FUNCTIONS, "NotifySlackFunction"):
        assert (build / function / "app.py").exists(), function
    size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    print(f"\nlayer size: {size / 1e6:.2f} MB unzipped")
    assert size < 20_000_000


def test_check_catalog_doc_is_current() -> None:
    from aiwarden.catalog import render_markdown

    assert (REPO / "docs" / "checks.md").read_text() == render_markdown(), "run `make docs`"


def test_remediation_role_can_do_exactly_the_declared_fixes_and_nothing_else() -> None:
    from aiwarden.remediation import required_permissions as fix_permissions

    template = patterns.load_template(TEMPLATE)
    role = template["Resources"]["RemediationRole"]["Properties"]
    statements = [st for policy in role["Policies"] for st in policy["PolicyDocument"]["Statement"]]
    assert actions(statements) == fix_permissions()
    for statement in statements:
        if statement["Resource"] == "*":
            # Only actions AWS offers no resource-level permissions for.
            assert actions([statement]) <= patterns.UNSCOPABLE, statement
    trusted = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert trusted == [
        {"Fn::GetAtt": ["EvaluateFunctionRole", "Arn"]},
        {"Fn::GetAtt": ["SweepWorkerFunctionRole", "Arn"]},
    ]
    # The evaluators themselves never write: only the remediation role does.
    for function in FUNCTIONS:
        for action in actions(function_statements(function)):
            assert action in PLUMBING


def test_readme_catalog_summary_is_current() -> None:
    from aiwarden.catalog import update_readme

    readme = (REPO / "README.md").read_text()
    assert update_readme(readme) == readme, "run `make docs`"


@pytest.mark.template
def test_checkov_finds_nothing_unexplained() -> None:
    """checkov on the SAM source; every suppression in template.yaml carries its reason."""
    checkov = REPO / ".venv-checkov/bin/checkov"
    if not checkov.exists():
        if os.environ.get("CI"):
            pytest.fail("checkov missing: run `make test`, which installs it")
        pytest.skip("checkov not installed (`make install`)")
    result = subprocess.run(
        [
            str(checkov),
            "-f",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    template = patterns.load_template(TEMPLATE)
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{name}: {skip['id']} suppressed without a reason"
