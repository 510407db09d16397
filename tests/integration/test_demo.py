"""The main job end to end: `aiwarden demo` on its own moto server, read as JSON."""

from __future__ import annotations

import json

import pytest

from aiwarden_dev.estate import PLANTED_FAILURES
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo() -> dict:
    result = run_cli("demo", "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def statuses(rows: list[dict]) -> dict[tuple[str, str], str]:
    return {(r["check_id"], r["resource_id"]): r["status"] for r in rows}


def test_sweep_finds_each_planted_drift_and_no_false_positive(demo):
    found = statuses(demo["sweep"])
    fails = {key for key, status in found.items() if status == "FAIL"}
    assert fails == PLANTED_FAILURES
    assert found[("s3_bucket_default_encryption_kms", "aiw-scratch-exempt")] == "EXEMPT"
    assert "ERROR" not in found.values()


def test_each_drift_event_is_routed_by_the_template_rules_and_alerts(demo):
    steps = {step["event_name"]: step for step in demo["timeline"] if step["routed_by"]}
    removed = steps["DeleteBucketEncryption"]
    assert removed["routed_by"] == ["CloudTrailS3"]
    alerted = {(a["attributes"]["check_id"], a["body"]["resource_id"]) for a in removed["alerts"]}
    assert alerted == {
        ("s3_bucket_default_encryption_kms", "aiw-models-kms"),
        ("sagemaker_model_artifacts_encrypted", "fraud-v3"),  # lineage: the model in that bucket
        ("s3_ai_bucket_sensitive_data_protected", "aiw-models-kms"),  # classified confidential
        ("sagemaker_endpoint_serving_chain_compliant", "fraud-v3"),  # the endpoint serving that model
    }
    chain = next(
        a for a in removed["alerts"] if a["attributes"]["check_id"].endswith("serving_chain_compliant")
    )
    assert chain["body"]["reason"].startswith(
        "endpoint fraud-v3 serves model fraud-v3 whose artifacts are in bucket aiw-models-kms"
    )
    assert steps["CreateNotebookInstance"]["alerts"][0]["body"]["resource_id"] == "llm-playground"
    login = steps["CreateLoginProfile"]["alerts"][0]
    assert login["body"]["trigger"]["actor"] == "arn:aws:iam::123456789012:user/admin-jane"
    assert login["attributes"]["severity"] == "HIGH"
    public = steps["DeleteBucketPublicAccessBlock"]["alerts"][0]
    assert public["attributes"]["severity"] == "CRITICAL"
    assert public["body"]["remediation_advice"]


def test_failed_call_is_dropped_by_the_rules_and_a_fix_is_announced_once(demo):
    failed = [
        s for s in demo["timeline"] if s["event_name"] == "DeleteBucketEncryption" and not s["routed_by"]
    ]
    assert len(failed) == 1 and failed[0]["alerts"] == []
    fix = next(s for s in demo["timeline"] if s["event_name"] == "PutBucketEncryption")
    assert "FAIL" not in fix["results"][0]["statuses"]
    assert {a["attributes"]["change"] for a in fix["alerts"]} == {"RESOLVED"}
    redelivered = demo["timeline"][demo["timeline"].index(fix) + 1]
    assert redelivered["results"][0]["duplicate"] is True
    assert redelivered["alerts"] == []


def test_dry_run_then_enforce_remediation_with_audit_and_loop_guard(demo):
    first = demo["timeline"][0]
    dry = next(
        a for a in first["alerts"] if a["attributes"]["check_id"] == "s3_bucket_default_encryption_kms"
    )
    assert dry["body"]["remediation"]["outcome"] == "would-remediate"
    enforced = next(s for s in demo["timeline"] if s["event_name"] == "DeleteBucketPublicAccessBlock")
    [alert] = enforced["alerts"]
    assert alert["body"]["remediation"] == {
        "action": "turn on all four Block Public Access settings for the bucket",
        "mode": "enforce",
        "outcome": "remediated",
        "detail": "turned on Block Public Access for aiw-datasets-plain",
        "compliant_after": True,
    }
    assert alert["subject"].startswith("[CRITICAL] s3_bucket_public_access_blocked REMEDIATED")
    own_fix = next(s for s in demo["timeline"] if s["event_name"] == "PutBucketPublicAccessBlock")
    assert own_fix["alerts"] == [] and "remediations" not in {
        k for k, v in own_fix["results"][0].items() if v
    }
    audited = {(a["check_id"], a["outcome"]) for a in demo["audit"]}
    assert ("s3_bucket_public_access_blocked", "remediated") in audited
    assert ("s3_bucket_default_encryption_kms", "would-remediate") in audited


def test_every_alert_reaches_slack_as_block_kit(demo):
    assert len(demo["slack"]) == len(demo["alerts"])
    first = demo["slack"][0]
    assert first["attachments"][0]["blocks"][0]["type"] == "header"


def test_guardduty_finding_is_forwarded_and_re_evaluates_the_bucket(demo):
    step = next(s for s in demo["timeline"] if s["event_name"] == "Policy:S3/BucketAnonymousAccessGranted")
    kinds = [a["attributes"]["kind"] for a in step["alerts"]]
    assert kinds.count("guardduty_finding") == 1
    assert ("s3_bucket_public_access_blocked", "aiw-public-share") in {
        (a["attributes"]["check_id"], a["body"].get("resource_id")) for a in step["alerts"]
    }


def test_alert_contract_on_the_wire(demo):
    for alert in demo["alerts"]:
        assert len(alert["subject"]) <= 100
        assert {"severity", "check_id", "resource_type"} <= set(alert["attributes"])
        assert {"account", "region", "console_url", "remediation_advice", "trigger"} <= set(alert["body"])


def test_malformed_event_is_reported_not_raised(demo):
    assert demo["malformed"]["skipped"] == "UnsupportedEvent"
    assert demo["malformed"]["reason"]
