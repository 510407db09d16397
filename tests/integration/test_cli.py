"""`aiwarden scan` / `evaluate` / `checks`: the JSON contract and exit codes scripts rely on."""

from __future__ import annotations

import json

import pytest

from aiwarden.registry import all_checks
from aiwarden_dev.estate import MOTO_BLIND_CHECKS, PLANTED_FAILURES, seed
from tests.conftest import ACCOUNT, EVENTS, REGION
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration

# Every check moto can answer truthfully (the others are tested with Stubber).
TRUTHFUL = ",".join(c.id for c in all_checks() if c.id not in MOTO_BLIND_CHECKS)
FIRST_SIX = ",".join(
    [
        "s3_bucket_default_encryption_kms",
        "s3_bucket_public_access_blocked",
        "sagemaker_model_artifacts_encrypted",
        "sagemaker_notebook_direct_internet_access_disabled",
        "sagemaker_endpoint_config_kms_encrypted",
        "iam_user_console_mfa_enabled",
    ]
)

CONTRACT = {
    "check_id",
    "title",
    "severity",
    "status",
    "resource_type",
    "resource_id",
    "resource_arn",
    "region",
    "reason",
}


def by_resource(rows: list[dict], check_id: str) -> dict[str, dict]:
    return {r["resource_id"]: r for r in rows if r["check_id"] == check_id}


def test_scan_json_reports_every_planted_drift(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    result = run_cli(
        "scan", "--endpoint-url", endpoint, "--region", REGION, "--format", "json", "--checks", TRUTHFUL
    )
    assert result.returncode == 1, result.stderr
    rows = json.loads(result.stdout)
    assert {(r["check_id"], r["resource_id"]) for r in rows if r["status"] == "FAIL"} == PLANTED_FAILURES
    assert all(set(row) == CONTRACT for row in rows)
    assert {r["severity"] for r in rows} <= {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"}
    assert {r["status"] for r in rows} <= {"FAIL", "PASS", "EXEMPT", "ERROR"}

    encryption = by_resource(rows, "s3_bucket_default_encryption_kms")
    assert encryption["aiw-models-kms"]["status"] == "PASS"
    assert encryption["aiw-datasets-plain"]["status"] == "FAIL"
    assert encryption["aiw-scratch-exempt"]["status"] == "EXEMPT"
    assert "aiwarden:exempt=true" in encryption["aiw-scratch-exempt"]["reason"]
    assert encryption["aiw-models-kms"]["resource_arn"] == "arn:aws:s3:::aiw-models-kms"
    assert encryption["aiw-models-kms"]["resource_type"] == "AWS::S3::Bucket"

    public = by_resource(rows, "s3_bucket_public_access_blocked")
    assert public["aiw-public-share"]["status"] == "FAIL"
    assert public["aiw-public-share"]["severity"] == "CRITICAL"
    assert "PublicRead" in public["aiw-public-share"]["reason"]

    models = by_resource(rows, "sagemaker_model_artifacts_encrypted")
    assert (models["fraud-v3"]["status"], models["churn-v1"]["status"]) == ("PASS", "FAIL")
    assert "aiw-datasets-plain" in models["churn-v1"]["reason"]

    notebooks = by_resource(rows, "sagemaker_notebook_direct_internet_access_disabled")
    assert (notebooks["research-locked"]["status"], notebooks["research-open"]["status"]) == ("PASS", "FAIL")
    assert notebooks["research-open"]["resource_arn"].endswith(":notebook-instance/research-open")

    configs = by_resource(rows, "sagemaker_endpoint_config_kms_encrypted")
    assert (configs["fraud-v3-config"]["status"], configs["churn-v1-config"]["status"]) == ("PASS", "FAIL")

    users = by_resource(rows, "iam_user_console_mfa_enabled")
    assert {u: r["status"] for u, r in users.items()} == {"alice": "PASS", "bob": "FAIL", "ci-bot": "PASS"}
    assert users["bob"]["region"] == "global"


def test_scan_of_an_account_without_ai_resources_exits_zero(endpoint):
    result = run_cli("scan", "--endpoint-url", endpoint, "--format", "json", "--checks", FIRST_SIX)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_scan_selected_checks_only(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    result = run_cli(
        "scan", "--endpoint-url", endpoint, "--checks", "iam_user_console_mfa_enabled", "--format", "json"
    )
    assert {r["check_id"] for r in json.loads(result.stdout)} == {"iam_user_console_mfa_enabled"}
    assert result.returncode == 1


def test_scan_table_is_readable(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    result = run_cli("scan", "--endpoint-url", endpoint)
    assert result.stdout.splitlines()[0].split() == ["STATUS", "SEVERITY", "CHECK", "RESOURCE", "REASON"]
    assert "research-open" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--checks", "no_such_check"], "unknown check id(s): no_such_check"),
        (["scan", "--format", "xml"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(endpoint, args, message):
    result = run_cli(*args, "--endpoint-url", endpoint) if args[0] == "scan" else run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unreachable_endpoint_exits_2_without_traceback():
    result = run_cli("scan", "--endpoint-url", "http://127.0.0.1:9", "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "cannot reach AWS" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_credentials_exit_2_and_say_what_to_do():
    result = run_cli("scan", env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert result.returncode == 2
    assert "no AWS credentials" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_evaluate_event_as_the_lambda_would(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    aws_at("s3").delete_bucket_encryption(Bucket="aiw-models-kms")
    event = EVENTS / "cloudtrail" / "s3_delete_bucket_encryption.json"
    result = run_cli("evaluate", str(event), "--endpoint-url", endpoint, "--format", "json")
    assert result.returncode == 1, result.stderr
    rows = json.loads(result.stdout)
    failing = {(r["check_id"], r["resource_id"]) for r in rows if r["status"] == "FAIL"}
    # The bucket itself, its classification's stricter rule, and through the lineage the model
    # whose artifacts it holds.
    assert failing == {
        ("s3_bucket_default_encryption_kms", "aiw-models-kms"),
        ("s3_ai_bucket_sensitive_data_protected", "aiw-models-kms"),
        ("sagemaker_model_artifacts_encrypted", "fraud-v3"),
        ("sagemaker_endpoint_serving_chain_compliant", "fraud-v3"),
    }


def test_evaluate_reads_stdin(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    event = (EVENTS / "cloudtrail" / "iam_create_login_profile.json").read_text()
    result = run_cli("evaluate", "-", "--endpoint-url", endpoint, "--format", "json", stdin=event)
    rows = json.loads(result.stdout)
    assert [(r["resource_id"], r["status"]) for r in rows if r["status"] != "PASS"] == [("bob", "FAIL")]
    assert result.returncode == 1


def test_evaluate_failed_call_evaluates_nothing(endpoint):
    event = EVENTS / "cloudtrail" / "s3_delete_bucket_encryption_access_denied.json"
    result = run_cli("evaluate", str(event), "--endpoint-url", endpoint, "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
    assert "AccessDenied" in result.stderr


@pytest.mark.parametrize("name", ["invalid/unknown_source.json", "invalid/truncated_cloudtrail.json"])
def test_evaluate_unsupported_event_exits_2_with_reason(endpoint, name):
    result = run_cli("evaluate", str(EVENTS / name), "--endpoint-url", endpoint, "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_rejects_invalid_json(tmp_path, endpoint):
    broken = tmp_path / "event.json"
    broken.write_text('{"detail-type": ')
    result = run_cli("evaluate", str(broken), "--endpoint-url", endpoint)
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_evaluate_deleted_resource_reports_nothing(endpoint):
    event = EVENTS / "cloudtrail" / "sagemaker_create_notebook_instance.json"
    result = run_cli("evaluate", str(event), "--endpoint-url", endpoint, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_checks_catalog_lists_at_least_fifty_checks_with_the_first_six():
    result = run_cli("checks", "--format", "json")
    rows = json.loads(result.stdout)
    assert set(FIRST_SIX.split(",")) <= {r["check_id"] for r in rows}
    assert len(rows) >= 50
    assert all(r["triggers"] and r["remediation_advice"] for r in rows)


def test_report_writes_html_with_each_failure(endpoint, aws_at, tmp_path):
    seed(aws_at, ACCOUNT, REGION)
    target = tmp_path / "out" / "report.html"
    result = run_cli(
        "report",
        "--endpoint-url",
        endpoint,
        "--framework",
        "hipaa",
        "--output",
        str(target),
        "--checks",
        TRUTHFUL,
    )
    assert result.returncode == 1, result.stderr
    page = target.read_text()
    assert "HIPAA" in page and "research-open" in page and "Fix:" in page
    assert result.stdout == ""


def test_scan_remediate_enforce_fixes_allow_listed_checks_and_reports_json(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    result = run_cli(
        "scan",
        "--endpoint-url",
        endpoint,
        "--checks",
        "s3_bucket_default_encryption_kms",
        "--remediate",
        "enforce",
        "--format",
        "json",
        env={"AIWARDEN_REMEDIATE_CHECKS": "s3_bucket_default_encryption_kms"},
    )
    rows = {r["resource_id"]: r for r in json.loads(result.stdout)}
    fixed = rows["aiw-datasets-plain"]["remediation"]
    assert (fixed["mode"], fixed["outcome"], fixed["compliant_after"]) == ("enforce", "remediated", True)
    assert set(fixed) >= {"action", "mode", "outcome", "detail"}
    assert rows["aiw-scratch-exempt"]["remediation"]["outcome"] == "skipped-exempt"
    assert "remediation" not in rows["aiw-models-kms"]
    rules = aws_at("s3").get_bucket_encryption(Bucket="aiw-datasets-plain")[
        "ServerSideEncryptionConfiguration"
    ]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "remediated" in result.stderr


def test_evaluate_remediate_dry_run_changes_nothing(endpoint, aws_at):
    seed(aws_at, ACCOUNT, REGION)
    event = EVENTS / "cloudtrail" / "s3_put_bucket_policy_public.json"
    result = run_cli(
        "evaluate",
        str(event),
        "--endpoint-url",
        endpoint,
        "--remediate",
        "dry-run",
        "--format",
        "json",
        "--checks",
        "s3_bucket_public_access_blocked",
    )
    [row] = json.loads(result.stdout)
    assert row["remediation"]["outcome"] == "would-remediate"
    assert aws_at("s3").get_bucket_policy(Bucket="aiw-public-share")["Policy"]
    try:
        aws_at("s3").get_public_access_block(Bucket="aiw-public-share")
        blocked = True
    except Exception:
        blocked = False
    assert not blocked
