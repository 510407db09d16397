"""Amazon GuardDuty: threat detection, including S3 Protection for the buckets that hold training
data and model artifacts."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import guardduty
from aiwarden.resources.account import ACCOUNT


@check(
    id="guardduty_detector_enabled_with_s3_protection",
    title="GuardDuty is enabled with S3 Protection",
    severity=Severity.HIGH,
    resource=ACCOUNT,
    triggers=[
        cloudtrail("guardduty", "CreateDetector", "UpdateDetector", "DeleteDetector", ids=ALL_RESOURCES),
    ],
    permissions=["guardduty:ListDetectors", "guardduty:GetDetector"],
    practice=Practice.THREAT_DETECTION,
    remediation=(
        "Enable GuardDuty with S3 Protection in every region (S3 Protection watches object-level "
        "access to training data and model artifacts for exfiltration and tampering): aws "
        "guardduty create-detector --enable --features Name=S3_DATA_EVENTS,Status=ENABLED, or for "
        "an existing detector aws guardduty update-detector --detector-id ID --enable --features "
        "Name=S3_DATA_EVENTS,Status=ENABLED. In an organization, let the delegated administrator "
        "auto-enable both for member accounts."
    ),
    controls={
        "AWS-FSBP": ["GuardDuty.1", "GuardDuty.10"],
        "AWS-Config": ["GUARDDUTY_ENABLED_CENTRALIZED", "GUARDDUTY_S3_PROTECTION_ENABLED"],
        "NIST-800-53r5": ["AC-2(12)", "AU-6(1)", "CA-7", "RA-3(4)", "SI-3(8)", "SI-4"],
        "HIPAA": ["164.308(a)(1)(ii)(a)", "164.308(a)(1)(ii)(d)", "164.308(a)(3)(ii)(a)"],
    },
)
def detector_enabled_with_s3_protection(account: Resource, clients: Clients) -> Outcome:
    region = account.ref.region
    detectors = guardduty.detectors(clients, region)
    if not detectors:
        return fail(f"account {account.name} has no GuardDuty detector in {region}")
    problems = []
    for detector in detectors:
        detector_id = detector["DetectorId"]
        s3 = guardduty.s3_protection_status(detector)
        if detector.get("Status") != "ENABLED":
            problems.append(f"detector {detector_id} is {str(detector.get('Status', 'not enabled')).lower()}")
        elif s3 != "ENABLED":
            problems.append(f"detector {detector_id} has S3 Protection {s3.lower()}")
        else:
            return ok(
                f"account {account.name}: GuardDuty detector {detector_id} is enabled with S3 "
                f"Protection in {region}"
            )
    return fail(f"account {account.name}: " + "; ".join(problems) + f" in {region}")
