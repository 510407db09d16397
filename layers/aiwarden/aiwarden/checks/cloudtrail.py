"""CloudTrail: the audit trail of who did what to AI resources, and AI Warden's own event source.

Without a logging trail that records write management events, no "AWS API Call via CloudTrail"
event reaches EventBridge at all, so AI Warden falls back to its periodic sweep.
"""

from __future__ import annotations

from typing import Any

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import bucket_usage, s3
from aiwarden.resources import cloudtrail as trails
from aiwarden.resources.account import ACCOUNT
from aiwarden.resources.cloudtrail import TRAIL

# Anything that changes which trails log what, for the account-level checks.
TRAIL_CHANGES = cloudtrail(
    "cloudtrail",
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
    "PutEventSelectors",
    ids=ALL_RESOURCES,
)
# Trail-level events: the trail's name (or ARN) is "name" in these requests.
TRAIL_SETTINGS = cloudtrail("cloudtrail", "CreateTrail", "UpdateTrail", ids="requestParameters.name")
TAGGING = cloudtrail("cloudtrail", "AddTags", "RemoveTags", ids="requestParameters.resourceId")

PERMISSIONS = ["cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"]


def _trail_label(trail: dict[str, Any]) -> str:
    home = trail.get("HomeRegion")
    return f"trail {trail.get('Name')}" + (f" ({home})" if home else "")


def _multi_region_problem(clients: Clients, trail: dict[str, Any], region: str) -> str | None:
    if not trails.trail_status(clients, trail, region).get("IsLogging"):
        return "is not logging"
    coverage = trails.management_coverage(trails.event_selectors(clients, trail, region))
    if not coverage.complete:
        return coverage.describe("management events")
    return None


@check(
    id="cloudtrail_multi_region_trail_logging",
    title="A multi-Region CloudTrail trail is logging all read and write management events",
    severity=Severity.HIGH,
    resource=ACCOUNT,
    triggers=[TRAIL_CHANGES],
    permissions=PERMISSIONS,
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Create (or fix) a multi-Region trail that records every read and write management event: "
        "aws cloudtrail create-trail --name NAME --s3-bucket-name BUCKET --is-multi-region-trail "
        "--enable-log-file-validation --kms-key-id KEY_ARN; aws cloudtrail put-event-selectors "
        '--trail-name NAME --event-selectors \'[{"ReadWriteType":"All",'
        '"IncludeManagementEvents":true}]\'; aws cloudtrail start-logging --name NAME. Without it '
        "AI Warden receives no CloudTrail events and relies on its periodic sweep."
    ),
    controls={
        "AWS-FSBP": ["CloudTrail.1"],
        "AWS-Config": ["MULTI_REGION_CLOUD_TRAIL_ENABLED"],
        "CIS-AWS-5.0": ["3.1"],
        "NIST-800-53r5": ["AC-2(4)", "AU-2", "AU-3", "AU-10", "AU-12", "AU-14(1)"],
        "HIPAA": ["164.308(a)(1)(ii)(d)", "164.308(a)(3)(ii)(a)", "164.308(a)(6)(ii)"],
        "GDPR": ["Art.25", "Art.30"],
    },
)
def multi_region_trail_logging(account: Resource, clients: Clients) -> Outcome:
    region = account.ref.region
    candidates = [t for t in trails.trails_in(clients, region) if t.get("IsMultiRegionTrail")]
    if not candidates:
        return fail(f"account {account.name} has no multi-Region CloudTrail trail covering {region}")
    problems = []
    for trail in candidates:
        problem = _multi_region_problem(clients, trail, region)
        if problem is None:
            return ok(
                f"account {account.name}: multi-Region {_trail_label(trail)} is logging every read "
                "and write management event"
            )
        problems.append(f"{_trail_label(trail)} {problem}")
    return fail(
        f"account {account.name} has no multi-Region trail logging every read and write management "
        "event: " + "; ".join(problems)
    )


@check(
    id="cloudtrail_trail_log_file_validation_enabled",
    title="CloudTrail trails validate their log files with signed digests",
    severity=Severity.LOW,
    resource=TRAIL,
    triggers=[TRAIL_SETTINGS, TAGGING],
    permissions=[],
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Turn on log file integrity validation, so tampering with or deleting delivered log files "
        "can be detected (aws cloudtrail validate-logs): aws cloudtrail update-trail --name NAME "
        "--enable-log-file-validation."
    ),
    controls={
        "AWS-FSBP": ["CloudTrail.4"],
        "AWS-Config": ["CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED"],
        "CIS-AWS-5.0": ["3.2"],
        "NIST-800-53r5": ["AU-9", "SI-4", "SI-7(1)", "SI-7(3)", "SI-7(7)"],
        "HIPAA": ["164.308(a)(1)(ii)(b)", "164.308(a)(1)(ii)(d)", "164.312(b)"],
        "GDPR": ["Art.25", "Art.32"],
    },
)
def trail_log_file_validation_enabled(trail: Resource, clients: Clients) -> Outcome:
    if not trail.data.get("LogFileValidationEnabled"):
        return fail(f"trail {trail.name} does not validate its log files: tampering would go unnoticed")
    return ok(f"trail {trail.name} validates its log files with signed digest files")


@check(
    id="cloudtrail_trail_kms_encrypted",
    title="CloudTrail trails encrypt their log files with a KMS key",
    severity=Severity.MEDIUM,
    resource=TRAIL,
    triggers=[TRAIL_SETTINGS, TAGGING],
    permissions=[],
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Encrypt the trail's log files with a customer managed key whose policy lets "
        "cloudtrail.amazonaws.com encrypt and your auditors decrypt: aws cloudtrail update-trail "
        "--name NAME --kms-key-id KEY_ARN."
    ),
    controls={
        "AWS-FSBP": ["CloudTrail.2"],
        "AWS-Config": ["CLOUD_TRAIL_ENCRYPTION_ENABLED"],
        "CIS-AWS-5.0": ["3.5"],
        "NIST-800-53r5": ["AU-9", "SC-13", "SC-28", "SC-28(1)"],
        "HIPAA": ["164.308(a)(1)(ii)(b)", "164.308(a)(1)(ii)(d)", "164.308(a)(4)(ii)(a)"],
        "GDPR": ["Art.25", "Art.30", "Art.32"],
    },
)
def trail_kms_encrypted(trail: Resource, clients: Clients) -> Outcome:
    key = trail.data.get("KmsKeyId")
    if not key:
        return fail(f"trail {trail.name} log files are encrypted with SSE-S3 only, not a KMS key")
    return ok(f"trail {trail.name} encrypts its log files with {key}")


def _s3_object_coverage(clients: Clients, region: str, bucket: str) -> trails.Coverage:
    """Read/write coverage of every object of ``bucket`` across the trails logging in ``region``
    (the bucket's region: S3 data events are logged there, by the trails that apply there)."""
    coverages = []
    for trail in trails.trails_in(clients, region):
        if trails.trail_status(clients, trail, region).get("IsLogging"):
            selectors = trails.event_selectors(clients, trail, region)
            coverages.append(trails.s3_object_coverage(selectors, bucket))
    return trails.merge(coverages)


def _shown(items: list[str], limit: int = 5) -> str:
    return "; ".join(items[:limit] + ([f"{len(items) - limit} more"] if len(items) > limit else []))


@check(
    id="cloudtrail_s3_data_events_on_ai_buckets",
    title="CloudTrail records S3 object-level reads and writes on buckets AI resources use",
    severity=Severity.MEDIUM,
    resource=ACCOUNT,
    # A new AI resource can bring a new bucket into scope: the sweep notices it (an account-wide
    # re-check on every CreateTrainingJob would recompute bucket_usage.ai_buckets far too often).
    triggers=[TRAIL_CHANGES],
    permissions=[
        *PERMISSIONS,
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        *bucket_usage.AI_BUCKET_PERMISSIONS,
    ],
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Record S3 data events for the buckets that hold training data, model artifacts and "
        "captured inference data on a logging trail (billed per event, so scope them): aws "
        "cloudtrail put-event-selectors --trail-name NAME --advanced-event-selectors "
        '\'[{"Name":"Management","FieldSelectors":[{"Field":"eventCategory","Equals":'
        '["Management"]}]},{"Name":"AI buckets","FieldSelectors":[{"Field":"eventCategory",'
        '"Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},'
        '{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::BUCKET/"]}]}]\' (the trail must '
        "apply to the bucket's region)."
    ),
    controls={
        "AWS-FSBP": ["S3.22", "S3.23"],
        "AWS-Config": [
            "CLOUDTRAIL_S3_DATAEVENTS_ENABLED",
            "CLOUDTRAIL_ALL_WRITE_S3_DATA_EVENT_CHECK",
            "CLOUDTRAIL_ALL_READ_S3_DATA_EVENT_CHECK",
        ],
        "CIS-AWS-5.0": ["3.8", "3.9"],
        "HIPAA": ["164.308(a)(1)(ii)(d)", "164.308(a)(3)(ii)(a)", "164.308(a)(6)(ii)"],
        "GDPR": ["Art.30"],
    },
)
def s3_data_events_on_ai_buckets(account: Resource, clients: Clients) -> Outcome:
    # Which buckets: those the region's AI resources read or write (bucket_usage.ai_buckets), of this
    # account (another account's bucket is logged by its owner). Whole-account S3 data events
    # (S3.22/S3.23) pass too; they just cost more.
    region = account.ref.region
    used = bucket_usage.ai_buckets(clients)
    owned = s3.own_buckets(clients)
    buckets = sorted(b for b in used if b in owned)
    if not buckets:
        return ok(f"account {account.name}: no bucket of the account is used by AI resources in {region}")
    gaps = []
    for bucket in buckets:
        coverage = _s3_object_coverage(clients, owned[bucket], bucket)
        if not (coverage.read and coverage.write):
            gaps.append(f"bucket {bucket} ({used[bucket][0]}): {coverage.describe('object-level events')}")
    if gaps:
        return fail(
            f"account {account.name}: logging trails do not record every object read and write on "
            f"buckets AI resources in {region} use: " + _shown(gaps)
        )
    return ok(
        f"account {account.name}: logging trails record object reads and writes on all "
        f"{len(buckets)} bucket(s) AI resources in {region} use"
    )
