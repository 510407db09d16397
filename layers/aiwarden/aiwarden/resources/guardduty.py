"""Amazon GuardDuty detectors: an account-wide setting in each region (at most one detector)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiwarden.clients import Clients


def detectors(clients: Clients, region: str) -> list[dict[str, Any]]:
    """GetDetector for every detector in the region, each with its DetectorId added."""

    def fetch() -> list[dict[str, Any]]:
        guardduty = clients.client("guardduty", region)
        found: list[dict[str, Any]] = []
        for page in guardduty.get_paginator("list_detectors").paginate():
            for detector_id in page.get("DetectorIds", []):
                detector = dict(guardduty.get_detector(DetectorId=detector_id))
                detector.pop("ResponseMetadata", None)
                found.append({"DetectorId": detector_id, **detector})
        return found

    return list(clients.memo(("guardduty", "detectors", region), fetch))


def s3_protection_status(detector: dict[str, Any]) -> str:
    """S3 Protection's status: the S3_DATA_EVENTS feature, or the legacy S3Logs data source on
    detectors that predate features. "UNKNOWN" when the detector reports neither."""
    for feature in detector.get("Features") or []:
        if feature.get("Name") == "S3_DATA_EVENTS":
            return str(feature.get("Status") or "UNKNOWN")
    legacy = (detector.get("DataSources") or {}).get("S3Logs") or {}
    return str(legacy.get("Status") or "UNKNOWN")
