"""CloudTrail trails, and the account-level view of which trails log what in a region.

A trail is named by its name and evaluated in its home region (the only region where it can be
updated, and where DescribeTrails without shadow trails returns it). The account-level readers
look at every trail that applies to a region, shadow copies of other regions' multi-Region and
organization trails included, and read each trail's status and selectors in its home region.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, error_code, register, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients

_ARN = re.compile(r"arn:aws[\w-]*:cloudtrail:(?P<region>[\w-]+):\d{12}:trail/(?P<id>[^/]+)")


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    cloudtrail = clients.client("cloudtrail", ref.region)
    try:
        listed = cloudtrail.describe_trails(trailNameList=[ref.resource_id], includeShadowTrails=False)
    except ClientError as exc:
        if error_code(exc) in {"TrailNotFoundException", "TrailNotFound"}:
            return None
        raise
    trail = next(
        (t for t in listed.get("trailList", []) if ref.resource_id in (t.get("Name"), t.get("TrailARN"))),
        None,
    )
    if trail is None:
        return None
    arn = trail.get("TrailARN")
    described = ResourceRef(TRAIL, trail["Name"], ref.region, ref.account, arn)
    tags: dict[str, str] = {}
    if arn:
        for item in cloudtrail.list_tags(ResourceIdList=[arn]).get("ResourceTagList", []):
            tags.update(tags_from_list(item.get("TagsList")))
    return Resource(ref=described, data=dict(trail), tags=tags)


def _list(clients: Clients) -> Iterator[ResourceRef]:
    # Only trails whose home region this is: each trail is evaluated once, where it lives.
    cloudtrail = clients.client("cloudtrail")
    for trail in cloudtrail.describe_trails(includeShadowTrails=False).get("trailList", []):
        yield ResourceRef(TRAIL, trail["Name"], clients.region, clients.account_id, trail.get("TrailARN"))


TRAIL = register(
    ResourceType(
        cfn_type="AWS::CloudTrail::Trail",
        label="CloudTrail trail",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:cloudtrail:{region}:{account}:trail/{id}",
        console_format="https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/trails",
        arn_regex=_ARN,
        permissions=("cloudtrail:DescribeTrails", "cloudtrail:ListTags"),
    )
)


# --- the account-level view of one region ---------------------------------------------------


def trails_in(clients: Clients, region: str) -> list[dict[str, Any]]:
    """Every trail that logs events of ``region``, shadow trails of other home regions included."""

    def fetch() -> list[dict[str, Any]]:
        response = clients.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
        return list(response.get("trailList", []))

    return list(clients.memo(("cloudtrail", "trails", region), fetch))


def home_region(trail: dict[str, Any], default: str) -> str:
    if trail.get("HomeRegion"):
        return str(trail["HomeRegion"])
    match = _ARN.fullmatch(str(trail.get("TrailARN", "")))
    return match.group("region") if match else default


def trail_status(clients: Clients, trail: dict[str, Any], region: str) -> dict[str, Any]:
    """GetTrailStatus, asked in the trail's home region (shadow trails answer only by ARN)."""
    arn = trail.get("TrailARN") or trail["Name"]

    def fetch() -> dict[str, Any]:
        client = clients.client("cloudtrail", home_region(trail, region))
        response = dict(client.get_trail_status(Name=arn))
        response.pop("ResponseMetadata", None)
        return response

    return dict(clients.memo(("cloudtrail", "status", arn), fetch))


def event_selectors(clients: Clients, trail: dict[str, Any], region: str) -> dict[str, Any]:
    """GetEventSelectors in the trail's home region: basic EventSelectors or AdvancedEventSelectors."""
    arn = trail.get("TrailARN") or trail["Name"]

    def fetch() -> dict[str, Any]:
        client = clients.client("cloudtrail", home_region(trail, region))
        response = dict(client.get_event_selectors(TrailName=arn))
        response.pop("ResponseMetadata", None)
        return response

    return dict(clients.memo(("cloudtrail", "selectors", arn), fetch))


# --- what a trail's selectors record --------------------------------------------------------


@dataclass
class Coverage:
    """Which kinds of events a trail's selectors record."""

    read: bool = False
    write: bool = False
    excluded: list[str] = field(default_factory=list)

    def add(self, read: bool, write: bool) -> None:
        self.read = self.read or read
        self.write = self.write or write

    @property
    def complete(self) -> bool:
        return self.read and self.write and not self.excluded

    def describe(self, what: str) -> str:
        if not self.read and not self.write:
            return f"records no {what}"
        kinds = "read and write" if self.read and self.write else "only read" if self.read else "only write"
        text = f"records {kinds} {what}"
        if self.excluded:
            text += " but excludes " + ", ".join(sorted(set(self.excluded)))
        return text


def _read_write(read_write_type: str | None) -> tuple[bool, bool]:
    kind = read_write_type or "All"
    return kind in ("All", "ReadOnly"), kind in ("All", "WriteOnly")


def _fields(selector: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["Field"]: f for f in selector.get("FieldSelectors", []) if "Field" in f}


def _advanced_read_write(fields: dict[str, dict[str, Any]]) -> tuple[bool, bool]:
    read_only = fields.get("readOnly")
    if read_only is None:
        return True, True
    equals = [str(v).lower() for v in read_only.get("Equals", [])]
    not_equals = [str(v).lower() for v in read_only.get("NotEquals", [])]
    if not equals and not not_equals:
        return True, True
    read = "true" in equals or (not equals and "true" not in not_equals)
    write = "false" in equals or (not equals and "false" not in not_equals)
    return read, write


def _category(fields: dict[str, dict[str, Any]]) -> list[str]:
    return list(fields.get("eventCategory", {}).get("Equals", []))


def management_coverage(selectors: dict[str, Any]) -> Coverage:
    """Management events a trail records. With no selectors at all CloudTrail's documented default
    applies: every read and write management event."""
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    coverage = Coverage()
    if not basic and not advanced:
        coverage.add(True, True)
        return coverage
    for selector in basic:
        if selector.get("IncludeManagementEvents", True):
            coverage.add(*_read_write(selector.get("ReadWriteType")))
            coverage.excluded += selector.get("ExcludeManagementEventSources") or []
    for selector in advanced:
        fields = _fields(selector)
        if "Management" not in _category(fields):
            continue
        coverage.add(*_advanced_read_write(fields))
        source = fields.get("eventSource", {})
        coverage.excluded += source.get("NotEquals", [])
        coverage.excluded += [f"all but {v}" for v in source.get("Equals", [])]
    return coverage


# S3 data resources: "arn:aws:s3" (or the older "arn:aws:s3:::") means every bucket.
_S3_ARN = re.compile(r"arn:aws[\w-]*:s3(?::::(?P<rest>.*))?")
_ADVANCED_FIELDS_KEEPING_ALL_OBJECTS = {
    "eventCategory",
    "resources.type",
    "resources.ARN",
    "readOnly",
    "eventSource",
}


def _s3_rest(value: str) -> str | None:
    """What an S3 ARN names after "arn:aws:s3:::" ("" for every bucket); None if not an S3 ARN."""
    match = _S3_ARN.fullmatch(value)
    if match is None:
        return None
    return match.group("rest") or ""


def _namespace(bucket: str | None) -> str:
    return "" if bucket is None else f"{bucket}/"


def _basic_value_covers(value: str, bucket: str | None) -> bool:
    rest = _s3_rest(value)
    if rest is None:
        return False
    return rest == "" or (bucket is not None and rest in (bucket, f"{bucket}/"))


def _arn_condition_covers(condition: dict[str, Any], bucket: str | None) -> bool:
    """Whether a resources.ARN field selector keeps every object of ``bucket`` (every bucket when
    None): a StartsWith that reaches the whole bucket, and no exclusion inside it."""
    namespace = _namespace(bucket)
    if condition.get("Equals") or condition.get("EndsWith") or condition.get("NotEndsWith"):
        return False
    starts = [r for v in condition.get("StartsWith", []) if (r := _s3_rest(v)) is not None]
    if condition.get("StartsWith") and not any(namespace.startswith(r) for r in starts):
        return False
    for value in [*condition.get("NotStartsWith", []), *condition.get("NotEquals", [])]:
        rest = _s3_rest(value)
        if rest is None:
            continue
        if namespace.startswith(rest) or bucket is None or rest.startswith(namespace):
            return False
    return True


def _advanced_covers_objects(fields: dict[str, dict[str, Any]], bucket: str | None) -> bool:
    if "Data" not in _category(fields):
        return False
    if "AWS::S3::Object" not in fields.get("resources.type", {}).get("Equals", []):
        return False
    if set(fields) - _ADVANCED_FIELDS_KEEPING_ALL_OBJECTS:
        return False  # narrowed by event name, caller, endpoint...: not every object access
    source = fields.get("eventSource", {})
    if "s3.amazonaws.com" in source.get("NotEquals", []) or (
        source.get("Equals") and "s3.amazonaws.com" not in source["Equals"]
    ):
        return False
    arn = fields.get("resources.ARN")
    return arn is None or _arn_condition_covers(arn, bucket)


def s3_object_coverage(selectors: dict[str, Any], bucket: str | None = None) -> Coverage:
    """S3 object-level (data) events a trail records for every object of ``bucket``, or of every
    bucket when ``bucket`` is None. A selector that keeps only some objects or calls does not count."""
    coverage = Coverage()
    for selector in selectors.get("EventSelectors") or []:
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") != "AWS::S3::Object":
                continue
            if any(_basic_value_covers(v, bucket) for v in resource.get("Values", [])):
                coverage.add(*_read_write(selector.get("ReadWriteType")))
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = _fields(selector)
        if _advanced_covers_objects(fields, bucket):
            coverage.add(*_advanced_read_write(fields))
    return coverage


def merge(coverages: Iterable[Coverage]) -> Coverage:
    total = Coverage()
    for coverage in coverages:
        total.add(coverage.read, coverage.write)
    return total
