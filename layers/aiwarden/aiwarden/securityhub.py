"""Export findings to AWS Security Hub (CSPM) in the AWS Security Finding Format (ASFF).

Security Hub is where many security teams already triage; sending AI Warden's verdicts there
puts them next to the FSBP/CIS control findings, with the same compliance and workflow
vocabulary. Field names and limits follow the ``AwsSecurityFinding`` shape in botocore's
securityhub model and the ASFF user guide; the unit tests validate every finding against that
model.

Updating in place
-----------------
Security Hub keys a finding on (ProductArn, Id), so ``finding_id`` is deterministic: the same
(check, account, Region, resource) always yields the same Id and each re-import updates the
existing finding instead of adding a new one. When a resource is fixed, re-importing the same Id
with ``Compliance.Status`` PASSED is how the finding is updated.

What Security Hub does with the workflow status (verified against the Workflow/WorkflowUpdate
API reference and the "workflow status" user guide page):

- It sets ``Workflow.Status`` to RESOLVED automatically for PASSED findings only "for findings
  from controls", i.e. Security Hub's own control findings. Nothing in the docs says it does so
  for findings imported through BatchImportFindings, so we do not rely on it.
- BatchImportFindings cannot change ``Workflow`` after a finding exists. We therefore send
  ``Workflow.Status`` RESOLVED with PASSED findings: it takes effect when a finding is first
  created as PASSED and is ignored on later imports. A finding that goes FAILED -> PASSED keeps
  its workflow status (usually NEW) with ``Compliance.Status`` PASSED. Closing it is a
  customer-side action (BatchUpdateFindings, or an automation rule that matches our ProductArn
  and ComplianceStatus PASSED).
- It resets NOTIFIED or RESOLVED back to NEW when ``Compliance.Status`` goes from PASSED to
  FAILED, WARNING or NOT_AVAILABLE, and when ``RecordState`` goes from ARCHIVED to ACTIVE. So
  a regression reopens a resolved finding without any action on our side. SUPPRESSED is not
  reset.

Severity, Types and the other provider-owned fields are also sent in ``FindingProviderFields``.
BatchImportFindings is not meant to update the top-level copies of those fields, so later changes
(for example a FAIL, HIGH finding becoming PASS, INFORMATIONAL) reach Security Hub through
``FindingProviderFields``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiwarden.model import Finding, Severity, Status, TriggerInfo
from aiwarden.registry import REGISTRY, Check, all_checks
from aiwarden.resources import GLOBAL_REGION, partition

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "2018-10-08"
FINDING_TYPES = ("Software and Configuration Checks/AWS Security Best Practices",)
PRODUCT_NAME = "AI Warden"

# Limits from the AwsSecurityFinding shape (botocore securityhub service-2.json documentation).
ID_LIMIT = 512
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 1024
RECOMMENDATION_LIMIT = 512
PRODUCT_FIELDS_MAX = 50
PRODUCT_FIELD_KEY_LIMIT = 128
PRODUCT_FIELD_VALUE_LIMIT = 2048
RELATED_REQUIREMENTS_MAX = 32
RESOURCE_REGION_LIMIT = 16
# BatchImportFindings limits (partner guide, "Guidelines for using the BatchImportFindings API"):
# up to 100 findings per batch, 240 KB per finding and 6 MB per batch.
BATCH_MAX_FINDINGS = 100
FINDING_MAX_BYTES = 240 * 1024
BATCH_MAX_BYTES = 6 * 1024 * 1024

ELLIPSIS = "..."

# CloudFormation type -> ASFF resource type. Each name is a key of the ResourceDetails shape in
# botocore's model, apart from AwsAccount, which Security Hub's own control findings use for
# account-level checks ("Type": "AwsAccount", "Id": "AWS::::Account:<id>"). The ASFF docs say to
# use "Other" for anything without a defined type.
ASFF_RESOURCE_TYPES: dict[str, str] = {
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::IAM::User": "AwsIamUser",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::Policy": "AwsIamPolicy",
    "AWS::KMS::Key": "AwsKmsKey",
    "AWS::ECR::Repository": "AwsEcrRepository",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::SageMaker::NotebookInstance": "AwsSageMakerNotebookInstance",
    "AWS::::Account": "AwsAccount",
}
OTHER_RESOURCE_TYPE = "Other"

# Registry framework key -> how Security Hub writes that framework's requirements in
# Compliance.RelatedRequirements. The NIST and CIS forms match Security Hub's own control
# findings ("NIST.800-53.r5 AU-9", "CIS AWS Foundations Benchmark v5.0.0/5.1.1"). FSBP ids are
# Security Hub control ids, so they are named with their standard. In listed order, the first
# frameworks keep their entries if the 32-entry limit cuts the list.
_REQUIREMENT_FORMATS: dict[str, str] = {
    "NIST-800-53r5": "NIST.800-53.r5 {}",
    "CIS-AWS-5.0": "CIS AWS Foundations Benchmark v5.0.0/{}",
    "AWS-FSBP": "AWS Foundational Security Best Practices v1.0.0/{}",
    "HIPAA": "HIPAA {}",
    "GDPR": "GDPR {}",
}
# AWS Config managed rule names are equivalent rules, not framework requirements: they go to
# ProductFields rather than RelatedRequirements.
_CONFIG_RULES_KEY = "AWS-Config"


class SecurityHubImportError(RuntimeError):
    """Security Hub refused findings even after one retry. The invocation should fail so that
    Lambda's retry and on-failure destination keep the update from being lost."""

    def __init__(self, failures: Sequence[Mapping[str, Any]], imported: int) -> None:
        self.failures = [dict(f) for f in failures]
        self.imported = imported
        first = self.failures[0] if self.failures else {}
        super().__init__(
            f"Security Hub refused {len(self.failures)} finding(s) after one retry "
            f"({imported} imported); first: {first.get('Id')}: {first.get('ErrorCode')}: "
            f"{first.get('ErrorMessage')}"
        )


# --- building one finding ---------------------------------------------------------------------


def product_arn(account: str, region: str) -> str:
    """The account's default product ARN, which Security Hub creates when it is enabled. It takes
    findings from any custom integration and needs no product subscription."""
    return f"arn:{partition(region)}:securityhub:{region}:{account}:product/{account}/default"


def finding_id(finding: Finding, account: str, region: str) -> str:
    """The deterministic ASFF Id: check, account, Region and a hash of the resource identity.

    The hash covers the resource type, owning account and resource id, not the ARN. The ARN
    depends on whether a described resource or an event supplied one: IAM paths and SageMaker's
    lower-casing make a computed ARN differ from the real one, and a NOT_APPLICABLE finding
    carries the undescribed reference. A hash of the ARN would give one resource two Ids, and so
    two findings in Security Hub.
    """
    ref = finding.ref
    identity = f"{ref.type.cfn_type}|{ref.account}|{ref.resource_id}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
    return _clip(f"aiwarden/{finding.check_id}/{account}/{region}/{digest}", ID_LIMIT)


def to_asff(
    finding: Finding,
    trigger: TriggerInfo,
    account: str,
    region: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One AI Warden finding as an ``AwsSecurityFinding`` ready for BatchImportFindings.

    ``account`` and ``region`` are where the finding is imported. The ProductArn, AwsAccountId
    and Id use them, and the Security Hub client must be in ``region``. Status mapping:

    ==============  =================  ===========  ===================================
    AI Warden       Compliance.Status  RecordState  Severity.Label
    ==============  =================  ===========  ===================================
    FAIL            FAILED             ACTIVE       the check's severity
    PASS            PASSED             ACTIVE       INFORMATIONAL
    ERROR           NOT_AVAILABLE      ACTIVE       the check's severity
    NOT_APPLICABLE  NOT_AVAILABLE      ARCHIVED     INFORMATIONAL
    EXEMPT          underlying result  ARCHIVED     check's if underlying FAIL, else INFO
    ==============  =================  ===========  ===================================

    PASS is INFORMATIONAL because the SeverityLabel docs define it as "No issue was found". The
    check's own severity is in ProductFields ``aiwarden/check_severity``. NOT_APPLICABLE (the
    resource is gone) copies what Security Hub does for its own controls when a resource is
    deleted: a NOT_AVAILABLE finding, archived at once.

    EXEMPT (the resource carries ``aiwarden:exempt=true``) is archived with the compliance result
    that the check found underneath. We considered FAILED with ``Workflow`` SUPPRESSED and
    rejected it for two reasons:

    1. BatchImportFindings honours ``Workflow`` only when it creates a finding. A resource that
       failed and was then exempted would stay FAILED/NEW and keep paging people.
    2. Security Hub resets only NOTIFIED or RESOLVED to NEW, never SUPPRESSED, so removing the
       exemption would leave a real failure hidden.

    ARCHIVED can be set and cleared on every import. It takes the finding out of the console's
    default (ACTIVE) view. Removing the tag makes
    the next import ACTIVE again, and Security Hub then resets a RESOLVED or NOTIFIED workflow
    to NEW. An auditor can still list exemptions: RecordState ARCHIVED with ProductFields
    ``aiwarden/status`` = EXEMPT.
    """
    check = _check(finding.check_id)

    timestamp = _timestamp(now)
    label = _severity_label(finding)
    compliance_status, record_state = _compliance_and_record_state(finding)
    types = list(FINDING_TYPES)
    severity = {"Label": label.value, "Original": label.value}

    out: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding, account, region),
        "ProductArn": product_arn(account, region),
        # Security Hub fills these itself, except for custom integrations (the default product),
        # where the provider may name itself. This lets the console filter on "AI Warden".
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": finding.check_id,
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": timestamp,
        "UpdatedAt": timestamp,
        "LastObservedAt": timestamp,
        "Severity": severity,
        "Title": _clip(finding.title or finding.check_id, TITLE_LIMIT),
        "Description": _clip(finding.reason or finding.title or finding.check_id, DESCRIPTION_LIMIT),
        "ProductFields": _product_fields(finding, trigger, check),
        "Resources": [_resource(finding, region)],
        "Compliance": {"Status": compliance_status},
        "RecordState": record_state,
        "FindingProviderFields": {"Severity": dict(severity), "Types": list(types)},
    }
    advice = finding.remediation_advice or (check.remediation if check is not None else "")
    if advice.strip():
        # No check carries a remediation URL, and Url is optional, so it is left out.
        out["Remediation"] = {"Recommendation": {"Text": _clip(advice, RECOMMENDATION_LIMIT)}}
    requirements = related_requirements(check.controls if check is not None else {})
    if requirements:
        out["Compliance"]["RelatedRequirements"] = requirements
    if compliance_status == "PASSED":
        # Honoured only when the finding is created; see the module docstring.
        out["Workflow"] = {"Status": "RESOLVED"}
    return out


def _check(check_id: str) -> Check | None:
    """The registered check, for its controls and remediation text (None for an unknown id)."""
    if check_id not in REGISTRY:
        all_checks()  # importing aiwarden.checks fills REGISTRY
    return REGISTRY.get(check_id)


def related_requirements(controls: Mapping[str, Sequence[str]]) -> list[str]:
    """Framework requirements in Security Hub's own spelling, NIST first, at most 32."""
    ordered = [k for k in _REQUIREMENT_FORMATS if k in controls]
    ordered += sorted(k for k in controls if k not in _REQUIREMENT_FORMATS and k != _CONFIG_RULES_KEY)
    out: list[str] = []
    for framework in ordered:
        template = _REQUIREMENT_FORMATS.get(framework, framework + " {}")
        for control in controls[framework]:
            text = template.format(str(control).strip())
            if str(control).strip() and text not in out:
                out.append(text)
    return out[:RELATED_REQUIREMENTS_MAX]


def _timestamp(now: datetime | None) -> str:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:  # a naive datetime is taken to be UTC, as datetime.utcnow() gives
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _severity_label(finding: Finding) -> Severity:
    if finding.status in (Status.FAIL, Status.ERROR):
        return finding.severity
    if finding.status is Status.EXEMPT and finding.underlying is Status.FAIL:
        return finding.severity
    return Severity.INFORMATIONAL


def _compliance_and_record_state(finding: Finding) -> tuple[str, str]:
    status = finding.status
    if status is Status.FAIL:
        return "FAILED", "ACTIVE"
    if status is Status.PASS:
        return "PASSED", "ACTIVE"
    if status is Status.ERROR:
        return "NOT_AVAILABLE", "ACTIVE"
    if status is Status.NOT_APPLICABLE:
        return "NOT_AVAILABLE", "ARCHIVED"
    # EXEMPT: archived, with what the check found underneath.
    underlying = {Status.FAIL: "FAILED", Status.PASS: "PASSED"}.get(finding.underlying or status)
    return underlying or "NOT_AVAILABLE", "ARCHIVED"


def _resource(finding: Finding, region: str) -> dict[str, Any]:
    ref = finding.ref
    asff_type = ASFF_RESOURCE_TYPES.get(ref.type.cfn_type, OTHER_RESOURCE_TYPE)
    if ref.resource_id == "*":  # a listing error: no single resource to name
        resource_id = str(ref)
    elif asff_type == "AwsAccount":
        resource_id = f"AWS::::Account:{ref.resource_id}"
    else:
        resource_id = ref.arn or ref.resource_id
    # IAM resources are "global"; Security Hub wants a real Region, the one we report from.
    resource_region = region if ref.region in ("", GLOBAL_REGION) else ref.region
    resource: dict[str, Any] = {
        "Type": asff_type,
        "Id": resource_id,
        "Partition": partition(resource_region),
        "Region": _clip(resource_region, RESOURCE_REGION_LIMIT),
    }
    if asff_type == OTHER_RESOURCE_TYPE:
        # Without a typed details object, keep the real type visible to filters and readers.
        resource["Details"] = {
            "Other": {
                "aiwarden/resource_type": ref.type.cfn_type,
                "aiwarden/resource_id": _clip(ref.resource_id, PRODUCT_FIELD_VALUE_LIMIT),
            }
        }
    return resource


def _product_fields(finding: Finding, trigger: TriggerInfo, check: Check | None) -> dict[str, str]:
    """String-valued extras, at most about 20 keys, well under the 50-pair limit. Security Hub
    adds a few ``aws/securityhub/*`` keys of its own to the same map."""
    fields: dict[str, str | None] = {
        "aiwarden/check_id": finding.check_id,
        "aiwarden/status": finding.status.value,
        "aiwarden/underlying_status": finding.underlying.value if finding.underlying else None,
        "aiwarden/check_severity": finding.severity.value,
        "aiwarden/resource_type": finding.ref.type.cfn_type,
        "aiwarden/resource_id": finding.ref.resource_id,
        "aiwarden/trigger/kind": trigger.kind,
        "aiwarden/trigger/source": trigger.source,
        "aiwarden/trigger/event_name": trigger.event_name,
        "aiwarden/trigger/event_id": trigger.event_id,
        "aiwarden/trigger/event_time": trigger.event_time,
        "aiwarden/trigger/actor": trigger.actor,
        "aiwarden/trigger/source_ip": trigger.source_ip,
    }
    if check is not None:
        fields["aiwarden/practice"] = check.practice.value
        config_rules = check.controls.get(_CONFIG_RULES_KEY)
        if config_rules:
            fields["aiwarden/config_rules"] = ", ".join(config_rules)
    if finding.remediation is not None:
        fields["aiwarden/remediation/action"] = finding.remediation.action
        fields["aiwarden/remediation/mode"] = finding.remediation.mode
        fields["aiwarden/remediation/outcome"] = finding.remediation.outcome
    out: dict[str, str] = {}
    for key, value in fields.items():
        if value is None or not str(value).strip():
            continue  # FieldMap values must contain a non-space character
        out[_clip(key, PRODUCT_FIELD_KEY_LIMIT)] = _clip(str(value), PRODUCT_FIELD_VALUE_LIMIT)
        if len(out) == PRODUCT_FIELDS_MAX:
            break
    return out


def _clip(text: str, limit: int) -> str:
    """Collapse whitespace, then cut to ``limit`` UTF-8 bytes with a visible "...".

    Whitespace is collapsed because every ASFF string has the pattern ``.*\\S.*``, and ``.``
    does not match a line break. The limit counts bytes, which is never more than the character
    count, so the result fits whichever unit Security Hub counts. A multi-byte character is never
    split.
    """
    clean = " ".join(str(text).split())
    encoded = clean.encode("utf-8")
    if len(encoded) <= limit:
        return clean
    head = encoded[: limit - len(ELLIPSIS)].decode("utf-8", errors="ignore").rstrip()
    return head + ELLIPSIS


# --- importing --------------------------------------------------------------------------------


def _size(finding: Mapping[str, Any]) -> int:
    return len(json.dumps(finding, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def batches(
    findings: Iterable[dict[str, Any]],
    max_findings: int = BATCH_MAX_FINDINGS,
    max_bytes: int = BATCH_MAX_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Split findings into BatchImportFindings requests of at most ``max_findings`` findings and
    ``max_bytes`` of JSON. A single finding over 240 KB raises ValueError, since Security Hub
    refuses it anyway."""
    envelope = len(b'{"Findings":[]}')
    batch: list[dict[str, Any]] = []
    used = envelope
    for finding in findings:
        size = _size(finding)
        if size > FINDING_MAX_BYTES:
            raise ValueError(f"finding {finding.get('Id')} is {size} bytes; Security Hub accepts 240 KB")
        extra = size + (1 if batch else 0)
        if batch and (len(batch) >= max_findings or used + extra > max_bytes):
            yield batch
            batch, used, extra = [], envelope, size
        batch.append(finding)
        used += extra
    if batch:
        yield batch


def import_findings(
    securityhub_client: Any,
    findings: list[dict[str, Any]],
    *,
    max_batch_bytes: int = BATCH_MAX_BYTES,
) -> int:
    """Send ASFF findings with BatchImportFindings and return how many Security Hub accepted.

    Requests hold at most 100 findings and ``max_batch_bytes`` of JSON (6 MB by default, the
    documented batch limit; each finding must also be under 240 KB). If a finding appears twice,
    only the last copy is sent: a request must not carry two versions of one (ProductArn, Id).
    Each rejected finding is retried once, in one more request per batch. Throttling
    (LimitExceededException) is retried by the client's own retry configuration.
    Every batch is sent before anything is raised, so one bad finding does not hold back the
    others. Then SecurityHubImportError names the first finding that still failed.
    """
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for finding in findings:
        key = (str(finding.get("ProductArn")), str(finding.get("Id")))
        latest.pop(key, None)  # re-insert so that order follows the last occurrence
        latest[key] = finding
    imported = 0
    failures: list[dict[str, Any]] = []
    for batch in batches(latest.values(), max_bytes=max_batch_bytes):
        response = securityhub_client.batch_import_findings(Findings=batch)
        imported += int(response.get("SuccessCount") or 0)
        failed = list(response.get("FailedFindings") or [])
        if not failed and not response.get("FailedCount"):
            continue
        by_id = {f["Id"]: f for f in batch}
        retry = [by_id[f["Id"]] for f in failed if f.get("Id") in by_id]
        unknown = [f for f in failed if f.get("Id") not in by_id]
        if not failed:  # FailedCount without details: nothing to retry, report as is
            unknown = [
                {
                    "Id": None,
                    "ErrorCode": "Unknown",
                    "ErrorMessage": f"FailedCount={response.get('FailedCount')} without FailedFindings",
                }
            ]
        failures.extend(unknown)
        if retry:
            logger.warning(
                "Security Hub refused %d finding(s); retrying once (first: %s %s)",
                len(retry),
                failed[0].get("ErrorCode"),
                failed[0].get("ErrorMessage"),
                extra={"failed": len(retry)},
            )
            second = securityhub_client.batch_import_findings(Findings=retry)
            imported += int(second.get("SuccessCount") or 0)
            still = list(second.get("FailedFindings") or [])
            if not still and second.get("FailedCount"):
                still = [
                    {
                        "Id": None,
                        "ErrorCode": "Unknown",
                        "ErrorMessage": f"FailedCount={second.get('FailedCount')} without FailedFindings",
                    }
                ]
            failures.extend(still)
    if failures:
        raise SecurityHubImportError(failures, imported)
    return imported
