"""Resource types: how to name, find, describe and link to each kind of AWS resource.

A check names the type it evaluates; everything type-specific (ARN form, console link, the
describe and list calls, the CloudFormation/Config type) lives here once, so the engine, the
event normaliser and the publishers stay generic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef

if TYPE_CHECKING:
    from aiwarden.clients import Clients

GLOBAL_REGION = "global"

Describe = Callable[["Clients", ResourceRef], Resource | None]
Lister = Callable[["Clients"], Iterable[ResourceRef]]
Finder = Callable[["Clients", ResourceRef], Iterable[ResourceRef]]
Prefetch = Callable[["Clients", list[ResourceRef]], None]


@dataclass(eq=False)
class ResourceType:
    cfn_type: str
    label: str
    describe: Describe
    list_refs: Lister
    arn_format: str | None  # {partition} {region} {account} {id}
    console_format: str
    is_global: bool = False
    # IAM actions describe() and list_refs() call; checks declare only what they add.
    permissions: tuple[str, ...] = ()
    # Which configuration-item field holds the id the APIs take: usually the name (a bucket, a
    # user: Config's resourceId for IAM is AIDA...), but the id for types named by id (a domain).
    config_id_field: str = "resourceName"

    def id_from_config_item(self, item: Mapping[str, Any]) -> str | None:
        for field_name in (self.config_id_field, "resourceName", "resourceId"):
            value = item.get(field_name)
            if isinstance(value, str) and value:
                return value
        return None

    # ARNs that events carry for this type, so an ARN can be mapped back to a resource id.
    arn_regex: re.Pattern[str] | None = None
    # Resource types this one depends on, with a finder from the upstream resource to the
    # resources of this type that use it (AI lineage: a bucket -> the models stored in it).
    upstream: dict[str, Finder] = field(default_factory=dict)
    # Bulk reads for many resources of this type at once (a sweep, a work item, a lineage fan-out):
    # fills the invocation's cache so describe() and tag reads cost a fraction of a call each.
    # Only an optimisation: whatever it does not fill, the per-resource reads still fetch.
    prefetch: Prefetch | None = None

    def arn_for(self, ref: ResourceRef) -> str | None:
        if ref.arn_hint:
            return ref.arn_hint
        if self.arn_format is None:
            return None
        return self.arn_format.format(
            partition=partition(ref.region),
            region=ref.region,
            account=ref.account,
            id=ref.resource_id,
        )

    def console_url(self, ref: ResourceRef) -> str:
        region = "us-east-1" if ref.region == GLOBAL_REGION else ref.region
        return self.console_format.format(region=region, id=ref.resource_id, account=ref.account)

    def id_from_arn(self, arn: str) -> str | None:
        if self.arn_regex is None:
            return None
        match = self.arn_regex.fullmatch(arn)
        return match.group("id") if match else None

    def __repr__(self) -> str:
        return f"ResourceType({self.cfn_type})"


RESOURCE_TYPES: dict[str, ResourceType] = {}


def register(resource_type: ResourceType) -> ResourceType:
    RESOURCE_TYPES[resource_type.cfn_type] = resource_type
    return resource_type


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def tags_from_list(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    """AWS returns tags as [{Key, Value}] pairs; checks want a dict."""
    return {t["Key"]: t.get("Value", "") for t in tags or []}
