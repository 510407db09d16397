"""aiwarden.securityhub: ASFF findings valid for BatchImportFindings, and the batching importer.

The strongest check is botocore's own ParamValidator run against the BatchImportFindings input
shape: the request a real client would send. ParamValidator checks types, required members,
enums and unknown keys, but not maximum lengths or patterns, so the documented limits are
asserted separately.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from aiwarden import securityhub
from aiwarden.model import Finding, RemediationResult, ResourceRef, Severity, Status, TriggerInfo
from aiwarden.registry import REGISTRY, all_checks
from aiwarden.resources import RESOURCE_TYPES
from tests.conftest import ACCOUNT, REGION

NOW = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
ACTOR = "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"
TRIGGER = TriggerInfo(
    kind="cloudtrail",
    source="aws.s3",
    detail_type="AWS API Call via CloudTrail",
    event_name="PutBucketEncryption",
    event_id="080c4c0c-393d-49cd-aaec-ddf94250899c",
    event_time="2025-01-02T03:00:00Z",
    actor=ACTOR,
)
NON_EMPTY = re.compile(r".*\S.*")  # the ASFF string pattern; "." does not match a line break


def _model() -> Any:
    return botocore.session.get_session().get_service_model("securityhub")


def _enum_errors(value: Any, shape: Any, path: str = "") -> list[str]:
    """Enum values ParamValidator does not check (botocore leaves enums to the service)."""
    errors: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += _enum_errors(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            errors += _enum_errors(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += _enum_errors(item, shape.value, f"{path}[{key}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} not in {shape.enum}")
    return errors


def _validate(findings: list[dict[str, Any]]) -> None:
    shape = _model().operation_model("BatchImportFindings").input_shape
    params = {"Findings": findings}
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    assert _enum_errors(params, shape) == []


def _finding(
    check_id: str = "s3_bucket_default_encryption_kms",
    status: Status = Status.FAIL,
    resource_id: str = "aiw-training-data",
    region: str = REGION,
    reason: str = "bucket aiw-training-data encrypts with SSE-S3, not SSE-KMS",
    **extra: Any,
) -> Finding:
    all_checks()
    check = REGISTRY[check_id]
    ref_region = "global" if check.resource.is_global else region
    return Finding(
        check_id=check.id,
        title=check.title,
        severity=check.severity,
        status=status,
        ref=extra.pop("ref", None) or ResourceRef(check.resource, resource_id, ref_region, ACCOUNT),
        reason=reason,
        remediation_advice=extra.pop("remediation_advice", check.remediation),
        **extra,
    )


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [
            item for k, v in value.items() for item in [(f"{path}.{k}#key", k), *_strings(v, f"{path}.{k}")]
        ]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _strings(v, f"{path}[{i}]")]
    return []


def _assert_documented_limits(asff: dict[str, Any]) -> None:
    def nbytes(text: str) -> int:
        return len(text.encode("utf-8"))

    assert nbytes(asff["Id"]) <= 512
    assert nbytes(asff["Title"]) <= 256
    assert nbytes(asff["Description"]) <= 1024
    assert len(asff["Types"]) <= 50
    assert 1 <= len(asff["Resources"]) <= 32
    for resource in asff["Resources"]:
        assert nbytes(resource["Region"]) <= 16
        assert resource["Partition"] in ("aws", "aws-cn", "aws-us-gov")
    assert len(asff["ProductFields"]) <= 50
    for key, value in asff["ProductFields"].items():
        assert isinstance(value, str)
        assert nbytes(key) <= 128
        assert nbytes(value) <= 2048
    assert len(asff["Compliance"].get("RelatedRequirements", [])) <= 32
    if "Remediation" in asff:
        assert nbytes(asff["Remediation"]["Recommendation"]["Text"]) <= 512
    assert asff["Severity"]["Label"] == asff["Severity"]["Original"]
    assert len(asff["Severity"]["Original"]) <= 64
    for path, text in _strings(asff):
        assert NON_EMPTY.fullmatch(text), f"{path} = {text!r} breaks the .*\\S.* pattern"
    assert securityhub._size(asff) <= securityhub.FINDING_MAX_BYTES


# --- the botocore model -----------------------------------------------------------------------


def test_every_check_and_status_validates_against_the_batch_import_findings_model():
    findings = []
    for check in all_checks():
        resource_id = ACCOUNT if check.resource.cfn_type == "AWS::::Account" else f"aiw-{check.id[:40]}"
        for status, underlying in (
            (Status.FAIL, None),
            (Status.PASS, None),
            (Status.ERROR, None),
            (Status.NOT_APPLICABLE, None),
            (Status.EXEMPT, Status.FAIL),
            (Status.EXEMPT, Status.PASS),
        ):
            finding = _finding(check.id, status, resource_id=resource_id, underlying=underlying)
            findings.append(securityhub.to_asff(finding, TRIGGER, ACCOUNT, REGION, now=NOW))
    assert len(findings) == 6 * len(all_checks())
    for start in range(0, len(findings), 100):  # the model allows at most 100 per request
        _validate(findings[start : start + 100])
    for asff in findings:
        _assert_documented_limits(asff)


def test_validator_catches_a_broken_finding_so_the_model_test_can_fail():
    asff = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=NOW)
    broken = dict(asff, Severity={"Label": "SEVERE"}, Resources={"Type": "AwsS3Bucket"})
    broken.pop("Title")
    shape = _model().operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": [broken]}, shape).generate_report()
    assert 'Missing required parameter in Findings[0]: "Title"' in report
    assert "Findings[0].Resources" in report
    assert _enum_errors({"Findings": [broken]}, shape) == [
        ".Findings[0].Severity.Label: 'SEVERE' not in ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']"
    ]


def test_required_members_and_fixed_values():
    asff = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=NOW)
    required = _model().shape_for("AwsSecurityFinding").required_members
    assert set(required) <= set(asff)
    assert asff["SchemaVersion"] == "2018-10-08"
    assert asff["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert asff["GeneratorId"] == "s3_bucket_default_encryption_kms"
    assert asff["AwsAccountId"] == ACCOUNT
    assert asff["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
    assert asff["CreatedAt"] == asff["UpdatedAt"] == "2025-01-02T03:04:05.678Z"
    assert asff["Title"] == REGISTRY["s3_bucket_default_encryption_kms"].title
    assert asff["Description"] == "bucket aiw-training-data encrypts with SSE-S3, not SSE-KMS"
    assert asff["Severity"] == {"Label": "MEDIUM", "Original": "MEDIUM"}  # the check's severity
    assert asff["FindingProviderFields"] == {"Severity": asff["Severity"], "Types": asff["Types"]}
    assert "Region" not in asff  # Security Hub fills it; BatchImportFindings cannot set it
    assert "Url" not in asff["Remediation"]["Recommendation"]  # no URL known: left out


def test_asff_resource_type_names_exist_in_the_model():
    details = set(_model().shape_for("ResourceDetails").members)
    for cfn_type, asff_type in securityhub.ASFF_RESOURCE_TYPES.items():
        assert cfn_type in RESOURCE_TYPES, cfn_type
        if asff_type != "AwsAccount":  # AwsAccount has no details object; see the module
            assert asff_type in details, asff_type


# --- Id ----------------------------------------------------------------------------------------


def test_id_is_stable_across_calls_times_and_arn_hints():
    first = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=NOW)
    later = securityhub.to_asff(
        _finding(status=Status.PASS, reason="now SSE-KMS"),
        TriggerInfo(kind="scan"),
        ACCOUNT,
        REGION,
        now=NOW + timedelta(days=3),
    )
    assert first["Id"] == later["Id"]
    assert first["UpdatedAt"] != later["UpdatedAt"]

    check = REGISTRY["iam_sagemaker_execution_role_least_privilege"]
    plain = ResourceRef(check.resource, "SageMakerExec", "global", ACCOUNT)
    hinted = ResourceRef(
        check.resource, "SageMakerExec", "global", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/ml/SageMakerExec"
    )
    a = securityhub.to_asff(_finding(check.id, ref=plain), TRIGGER, ACCOUNT, REGION, now=NOW)
    b = securityhub.to_asff(_finding(check.id, ref=hinted), TRIGGER, ACCOUNT, REGION, now=NOW)
    assert a["Id"] == b["Id"]
    assert b["Resources"][0]["Id"] == f"arn:aws:iam::{ACCOUNT}:role/ml/SageMakerExec"


def test_id_differs_per_resource_check_account_and_region():
    base = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=NOW)["Id"]
    others = {
        securityhub.to_asff(_finding(resource_id="aiw-other"), TRIGGER, ACCOUNT, REGION, now=NOW)["Id"],
        securityhub.to_asff(_finding("s3_bucket_versioning_enabled"), TRIGGER, ACCOUNT, REGION, now=NOW)[
            "Id"
        ],
        securityhub.to_asff(_finding(), TRIGGER, "210987654321", REGION, now=NOW)["Id"],
        securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, "eu-west-1", now=NOW)["Id"],
    }
    assert base not in others
    assert len(others) == 4
    assert base.startswith(f"aiwarden/s3_bucket_default_encryption_kms/{ACCOUNT}/{REGION}/")
    assert "aiw-training-data" not in base  # hashed, so odd characters in names cannot leak in


# --- limits and truncation ---------------------------------------------------------------------


def test_long_text_is_truncated_within_limits_without_splitting_characters():
    reason = "données chiffrées ✓ " * 300 + "\nline two"
    advice = "Encrypt\nwith\tKMS. " * 100
    finding = _finding(reason=reason, remediation_advice=advice)
    finding = Finding(**{**finding.__dict__, "title": "T" * 300})
    asff = securityhub.to_asff(finding, TRIGGER, ACCOUNT, REGION, now=NOW)
    _validate([asff])
    _assert_documented_limits(asff)
    for text, limit in (
        (asff["Title"], 256),
        (asff["Description"], 1024),
        (asff["Remediation"]["Recommendation"]["Text"], 512),
    ):
        assert text.endswith("...")
        assert len(text.encode("utf-8")) <= limit
        assert len(text.encode("utf-8")) > limit - 8  # cut near the limit, not far below it
        assert "\n" not in text and "\t" not in text
    assert asff["Description"].startswith("données chiffrées ✓ données")


def test_short_text_is_kept_whole_and_whitespace_collapsed():
    asff = securityhub.to_asff(_finding(reason="line one\n  line two"), TRIGGER, ACCOUNT, REGION, now=NOW)
    assert asff["Description"] == "line one line two"


def test_related_requirements_are_capped_at_32_and_use_security_hub_spelling():
    controls = {
        "NIST-800-53r5": [f"AC-{n}" for n in range(1, 30)],
        "CIS-AWS-5.0": ["1.1", "1.2", "1.3", "1.4", "1.5"],
        "AWS-Config": ["SOME_RULE"],
        "GDPR": ["Art.32"],
    }
    requirements = securityhub.related_requirements(controls)
    assert len(requirements) == 32
    assert requirements[0] == "NIST.800-53.r5 AC-1"
    assert requirements[29] == "CIS AWS Foundations Benchmark v5.0.0/1.1"
    assert not any("SOME_RULE" in r for r in requirements)


def test_check_controls_become_related_requirements():
    asff = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=NOW)
    requirements = asff["Compliance"]["RelatedRequirements"]
    assert "NIST.800-53.r5 SC-28" in requirements
    assert "AWS Foundational Security Best Practices v1.0.0/S3.17" in requirements
    assert "HIPAA 164.312(a)(2)(iv)" in requirements
    assert "GDPR Art.32" in requirements
    assert asff["ProductFields"]["aiwarden/config_rules"] == "S3_DEFAULT_ENCRYPTION_KMS"

    mfa = securityhub.to_asff(_finding("iam_user_console_mfa_enabled"), TRIGGER, ACCOUNT, REGION, now=NOW)
    assert "CIS AWS Foundations Benchmark v5.0.0/1.9" in mfa["Compliance"]["RelatedRequirements"]


def test_unknown_check_still_builds_a_valid_finding_without_controls_or_advice():
    finding = Finding(
        check_id="custom_check",
        title="Custom",
        severity=Severity.LOW,
        status=Status.FAIL,
        ref=ResourceRef(REGISTRY["s3_bucket_tls_only"].resource, "b", REGION, ACCOUNT),
        reason="custom reason",
    )
    asff = securityhub.to_asff(finding, TriggerInfo(kind="scan"), ACCOUNT, REGION, now=NOW)
    _validate([asff])
    assert "Remediation" not in asff
    assert "RelatedRequirements" not in asff["Compliance"]


# --- partitions, resources, timestamps ---------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-central-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
    ],
)
def test_partition_follows_the_region(region, partition):
    asff = securityhub.to_asff(_finding(region=region), TRIGGER, ACCOUNT, region, now=NOW)
    assert asff["ProductArn"] == f"arn:{partition}:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert asff["Resources"][0]["Partition"] == partition
    assert asff["Resources"][0]["Id"] == f"arn:{partition}:s3:::aiw-training-data"
    assert asff["Resources"][0]["Region"] == region
    _validate([asff])


@pytest.mark.parametrize(
    ("check_id", "asff_type"),
    [
        ("s3_bucket_tls_only", "AwsS3Bucket"),
        ("iam_user_console_mfa_enabled", "AwsIamUser"),
        ("iam_sagemaker_execution_role_least_privilege", "AwsIamRole"),
        ("iam_policy_no_passrole_escalation_to_sagemaker", "AwsIamPolicy"),
        ("kms_key_rotation_enabled", "AwsKmsKey"),
        ("ecr_repository_scan_on_push_enabled", "AwsEcrRepository"),
        ("cloudtrail_trail_kms_encrypted", "AwsCloudTrailTrail"),
        ("sagemaker_notebook_root_access_disabled", "AwsSageMakerNotebookInstance"),
        ("iam_root_mfa_enabled", "AwsAccount"),
        ("bedrock_guardrail_sensitive_filters_configured", "Other"),
        ("sagemaker_model_in_vpc", "Other"),
    ],
)
def test_resource_types_map_to_asff(check_id, asff_type):
    resource_id = ACCOUNT if asff_type == "AwsAccount" else "res-1"
    asff = securityhub.to_asff(_finding(check_id, resource_id=resource_id), TRIGGER, ACCOUNT, REGION, now=NOW)
    resource = asff["Resources"][0]
    assert resource["Type"] == asff_type
    if asff_type == "AwsAccount":
        assert resource["Id"] == f"AWS::::Account:{ACCOUNT}"
    elif asff_type == "Other":
        assert resource["Details"]["Other"]["aiwarden/resource_type"] == REGISTRY[check_id].resource.cfn_type
        assert "res-1" in resource["Id"]
    else:
        assert resource["Id"].startswith("arn:aws:")
        assert "Details" not in resource
    assert resource["Region"] == REGION  # IAM's "global" becomes the reporting Region


def test_timestamps_are_utc_with_z():
    naive = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=datetime(2025, 6, 1, 12, 0))
    assert naive["UpdatedAt"] == "2025-06-01T12:00:00.000Z"
    plus2 = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION, now=plus2)["CreatedAt"] == (
        "2025-06-01T12:00:00.000Z"
    )
    default = securityhub.to_asff(_finding(), TRIGGER, ACCOUNT, REGION)["UpdatedAt"]
    parsed = datetime.fromisoformat(default.replace("Z", "+00:00"))
    assert abs(parsed - datetime.now(UTC)) < timedelta(minutes=1)
    assert default.endswith("Z")


def test_product_fields_carry_check_trigger_and_remediation_as_strings():
    remediation = RemediationResult(
        action="s3_enable_kms", mode="dry-run", outcome="would-remediate", detail="x"
    )
    asff = securityhub.to_asff(_finding(remediation=remediation), TRIGGER, ACCOUNT, REGION, now=NOW)
    fields = asff["ProductFields"]
    assert fields["aiwarden/check_id"] == "s3_bucket_default_encryption_kms"
    assert fields["aiwarden/trigger/event_name"] == "PutBucketEncryption"
    assert fields["aiwarden/trigger/actor"] == ACTOR
    assert fields["aiwarden/remediation/outcome"] == "would-remediate"
    assert all(isinstance(v, str) for v in fields.values())
    scan = securityhub.to_asff(_finding(), TriggerInfo(kind="scan"), ACCOUNT, REGION, now=NOW)[
        "ProductFields"
    ]
    assert "aiwarden/trigger/actor" not in scan  # absent, not "None"
    assert scan["aiwarden/trigger/kind"] == "scan"


# --- status mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "underlying", "compliance", "record", "label", "workflow"),
    [
        (Status.FAIL, None, "FAILED", "ACTIVE", "MEDIUM", None),
        (Status.PASS, None, "PASSED", "ACTIVE", "INFORMATIONAL", "RESOLVED"),
        (Status.ERROR, None, "NOT_AVAILABLE", "ACTIVE", "MEDIUM", None),
        (Status.NOT_APPLICABLE, None, "NOT_AVAILABLE", "ARCHIVED", "INFORMATIONAL", None),
        (Status.EXEMPT, Status.FAIL, "FAILED", "ARCHIVED", "MEDIUM", None),
        (Status.EXEMPT, Status.PASS, "PASSED", "ARCHIVED", "INFORMATIONAL", "RESOLVED"),
        (Status.EXEMPT, None, "NOT_AVAILABLE", "ARCHIVED", "INFORMATIONAL", None),
    ],
)
def test_status_mapping(status, underlying, compliance, record, label, workflow):
    asff = securityhub.to_asff(
        _finding(status=status, underlying=underlying), TRIGGER, ACCOUNT, REGION, now=NOW
    )
    assert asff["Compliance"]["Status"] == compliance
    assert asff["RecordState"] == record
    assert asff["Severity"]["Label"] == label
    assert asff["FindingProviderFields"]["Severity"]["Label"] == label
    assert asff.get("Workflow", {}).get("Status") == workflow
    assert asff["ProductFields"]["aiwarden/status"] == status.value
    assert asff["ProductFields"]["aiwarden/check_severity"] == "MEDIUM"
    _validate([asff])


# --- import_findings ---------------------------------------------------------------------------


def _many(n: int) -> list[dict[str, Any]]:
    return [
        securityhub.to_asff(_finding(resource_id=f"aiw-bucket-{i:04d}"), TRIGGER, ACCOUNT, REGION, now=NOW)
        for i in range(n)
    ]


@pytest.fixture
def client() -> Any:
    return boto3.client("securityhub", region_name=REGION)


def _ok(n: int) -> dict[str, Any]:
    return {"FailedCount": 0, "SuccessCount": n, "FailedFindings": []}


def test_250_findings_go_in_three_calls_of_at_most_100(client):
    findings = _many(250)
    with Stubber(client) as stub:
        for chunk in (findings[:100], findings[100:200], findings[200:]):
            stub.add_response("batch_import_findings", _ok(len(chunk)), {"Findings": chunk})
        assert securityhub.import_findings(client, findings) == 250
        stub.assert_no_pending_responses()


def test_failed_entries_are_retried_once_alone(client):
    findings = _many(3)
    refused = {"Id": findings[1]["Id"], "ErrorCode": "InternalException", "ErrorMessage": "try again"}
    with Stubber(client) as stub:
        stub.add_response(
            "batch_import_findings",
            {"FailedCount": 1, "SuccessCount": 2, "FailedFindings": [refused]},
            {"Findings": findings},
        )
        stub.add_response("batch_import_findings", _ok(1), {"Findings": [findings[1]]})
        assert securityhub.import_findings(client, findings) == 3
        stub.assert_no_pending_responses()


def test_failure_after_retry_raises_naming_the_finding_and_still_sends_other_batches(client):
    findings = _many(150)
    refused = {"Id": findings[7]["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "Title too long"}
    failed = {"FailedCount": 1, "SuccessCount": 0, "FailedFindings": [refused]}
    with Stubber(client) as stub:
        stub.add_response(
            "batch_import_findings",
            {"FailedCount": 1, "SuccessCount": 99, "FailedFindings": [refused]},
            {"Findings": findings[:100]},
        )
        stub.add_response("batch_import_findings", failed, {"Findings": [findings[7]]})
        stub.add_response("batch_import_findings", _ok(50), {"Findings": findings[100:]})
        with pytest.raises(securityhub.SecurityHubImportError) as raised:
            securityhub.import_findings(client, findings)
        stub.assert_no_pending_responses()
    assert findings[7]["Id"] in str(raised.value)
    assert "InvalidInput" in str(raised.value)
    assert raised.value.imported == 149
    assert [f["Id"] for f in raised.value.failures] == [findings[7]["Id"]]


def test_failed_count_without_details_raises(client):
    findings = _many(1)
    with Stubber(client) as stub:
        stub.add_response(
            "batch_import_findings",
            {"FailedCount": 1, "SuccessCount": 0, "FailedFindings": []},
            {"Findings": findings},
        )
        with pytest.raises(securityhub.SecurityHubImportError, match="FailedCount=1"):
            securityhub.import_findings(client, findings)


def test_empty_list_makes_no_call(client):
    with Stubber(client) as stub:
        assert securityhub.import_findings(client, []) == 0
        stub.assert_no_pending_responses()


def test_duplicate_ids_are_sent_once_with_the_last_copy(client):
    first, other = _many(2)
    newer = dict(first, Description="newer reason")
    with Stubber(client) as stub:
        stub.add_response("batch_import_findings", _ok(2), {"Findings": [other, newer]})
        assert securityhub.import_findings(client, [first, other, newer]) == 2
        stub.assert_no_pending_responses()


class FakeSecurityHub:
    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(Findings)
        return _ok(len(Findings))


def test_batches_respect_a_byte_budget():
    findings = _many(30)
    budget = 10 * securityhub._size(findings[0])
    fake = FakeSecurityHub()
    assert securityhub.import_findings(fake, findings, max_batch_bytes=budget) == 30
    assert len(fake.requests) >= 3
    assert [f["Id"] for batch in fake.requests for f in batch] == [f["Id"] for f in findings]
    for batch in fake.requests:
        body = json.dumps({"Findings": batch}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert len(body) <= budget


def test_default_budget_fits_a_full_batch_of_real_findings():
    fake = FakeSecurityHub()
    assert securityhub.import_findings(fake, _many(100)) == 100
    assert len(fake.requests) == 1


def test_oversized_finding_is_refused_before_any_call():
    huge = dict(_many(1)[0], ProductFields={f"k{i}": "x" * 2048 for i in range(130)})
    fake = FakeSecurityHub()
    with pytest.raises(ValueError, match="240 KB"):
        securityhub.import_findings(fake, [huge])
    assert fake.requests == []


def test_round_trip_through_moto_updates_the_same_finding_in_place(aws):
    """moto's Security Hub keys findings on Id as AWS does: a PASS re-import of the same resource
    replaces the FAIL rather than adding a finding."""
    client = aws.client("securityhub")
    client.enable_security_hub()
    failing = _many(120)
    assert securityhub.import_findings(client, failing) == 120
    fixed = securityhub.to_asff(
        _finding(status=Status.PASS, resource_id="aiw-bucket-0007", reason="now SSE-KMS"),
        TriggerInfo(kind="scan"),
        ACCOUNT,
        REGION,
        now=NOW + timedelta(hours=1),
    )
    assert fixed["Id"] == failing[7]["Id"]
    assert securityhub.import_findings(client, [fixed]) == 1
    stored = [f for page in client.get_paginator("get_findings").paginate() for f in page["Findings"]]
    assert len(stored) == 120
    by_id = {f["Id"]: f for f in stored}
    assert by_id[fixed["Id"]]["Compliance"]["Status"] == "PASSED"
    assert by_id[failing[8]["Id"]]["Compliance"]["Status"] == "FAILED"
