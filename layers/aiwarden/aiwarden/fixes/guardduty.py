"""GuardDuty fix: safe (it only watches), but billed: GuardDuty charges per analysed CloudTrail,
VPC flow log, DNS and S3 data event, after a 30-day free trial per account and region."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix
from aiwarden.resources import guardduty

S3_PROTECTION = [{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}]


@fix(
    check_id="guardduty_detector_enabled_with_s3_protection",
    action="enable GuardDuty with S3 Protection in the region (billed per analysed event)",
    permissions=[
        "guardduty:ListDetectors",
        "guardduty:GetDetector",
        "guardduty:CreateDetector",
        "guardduty:UpdateDetector",
        # The first detector in an account creates GuardDuty's service-linked role.
        "iam:CreateServiceLinkedRole",
    ],
)
def detector_enabled_with_s3_protection(account: Resource, clients: Clients) -> str:
    region = account.ref.region
    client = clients.client("guardduty", region)
    found = guardduty.detectors(clients.fresh(), region)  # at most one per region
    if not found:
        detector_id = client.create_detector(Enable=True, Features=S3_PROTECTION)["DetectorId"]
        return (
            f"created GuardDuty detector {detector_id} in {region} with S3 Protection (billed per analysed "
            "event after the 30-day trial)"
        )
    detector_id = found[0]["DetectorId"]
    # Features lists only S3 Protection: UpdateDetector leaves every other protection plan as it is.
    client.update_detector(DetectorId=detector_id, Enable=True, Features=S3_PROTECTION)
    return (
        f"enabled GuardDuty detector {detector_id} in {region} with S3 Protection (billed per analysed "
        "event); other protection plans unchanged"
    )
