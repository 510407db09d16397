"""CloudTrail fixes: safe, one call each, always made in the trail's home region (the only region
where a trail can be changed).

Creating a trail is out of reach on purpose: it needs an S3 bucket whose policy lets
cloudtrail.amazonaws.com write, and inventing one is not a remediation anyone asked for. Nor does
a fix rewrite event selectors: they may hold data-event selectors someone pays for on purpose.
"""

from __future__ import annotations

from typing import Any

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix
from aiwarden.resources import cloudtrail as trails

READS = ["cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"]


def _name(trail: dict[str, Any]) -> str:
    return str(trail.get("TrailARN") or trail["Name"])


def _owner(trail: dict[str, Any]) -> str | None:
    parts = str(trail.get("TrailARN", "")).split(":")
    return parts[4] if len(parts) > 5 else None


@fix(
    check_id="cloudtrail_trail_log_file_validation_enabled",
    action="turn on log file integrity validation for the trail",
    permissions=["cloudtrail:UpdateTrail"],
)
def trail_log_file_validation(trail: Resource, clients: Clients) -> str:
    home = trails.home_region(trail.data, trail.ref.region)
    clients.client("cloudtrail", home).update_trail(Name=_name(trail.data), EnableLogFileValidation=True)
    return (
        f"turned on log file validation for trail {trail.name} ({home}); digest files cover log files "
        "delivered from now on (check them with aws cloudtrail validate-logs)"
    )


@fix(
    check_id="cloudtrail_multi_region_trail_logging",
    action=(
        "start the stopped multi-Region trail, or make the logging single-Region trail multi-Region "
        "(never creates a trail)"
    ),
    permissions=[*READS, "cloudtrail:StartLogging", "cloudtrail:UpdateTrail"],
)
def multi_region_trail_logging(account: Resource, clients: Clients) -> str:
    region = account.ref.region
    current = clients.fresh()  # what is true now, not what the scan read
    listed = sorted(trails.trails_in(current, region), key=lambda t: str(t.get("Name")))
    if not listed:
        raise RuntimeError(
            f"account {account.name} has no CloudTrail trail in {region} to fix; AI Warden does not create "
            "one, since a trail needs an S3 bucket whose policy lets cloudtrail.amazonaws.com write: "
            "create it with aws cloudtrail create-trail --is-multi-region-trail ... (see the check's advice)"
        )
    problems = []
    own: list[dict[str, Any]] = []
    for trail in listed:
        owner = _owner(trail)
        if owner not in (None, account.name):
            problems.append(f"trail {trail.get('Name')} belongs to account {owner} (organization trail)")
        else:
            own.append(trail)

    def state(trail: dict[str, Any]) -> tuple[bool, trails.Coverage]:
        logging = bool(trails.trail_status(current, trail, region).get("IsLogging"))
        return logging, trails.management_coverage(trails.event_selectors(current, trail, region))

    # One call must make the account compliant; otherwise a person decides.
    for trail in own:
        if not trail.get("IsMultiRegionTrail"):
            continue
        logging, coverage = state(trail)
        home = trails.home_region(trail, region)
        if not logging and coverage.complete:
            current.client("cloudtrail", home).start_logging(Name=_name(trail))
            return f"started logging on multi-Region trail {trail.get('Name')} ({home})"
        problems.append(
            f"multi-Region trail {trail.get('Name')} "
            + ("is not logging and " if not logging else "")
            + coverage.describe("management events")
            + " (AI Warden does not rewrite event selectors)"
        )
    for trail in own:
        home = trails.home_region(trail, region)
        if trail.get("IsMultiRegionTrail") or home != region:
            continue
        logging, coverage = state(trail)
        if logging and coverage.complete:
            # Multi-Region trails must include global service events (IAM, STS, CloudFront).
            current.client("cloudtrail", home).update_trail(
                Name=_name(trail), IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True
            )
            return (
                f"made trail {trail.get('Name')} ({home}) multi-Region: it now logs every Region's "
                "management events to the same bucket"
            )
        problems.append(
            f"single-Region trail {trail.get('Name')} "
            + ("is not logging" if not logging else coverage.describe("management events"))
        )
    raise RuntimeError(
        f"no single change makes a multi-Region trail log every management event in {region}: "
        + "; ".join(problems)
    )
