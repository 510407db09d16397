"""Tags of many resources in one call, through the Resource Groups Tagging API.

Most services read tags one resource per call (S3 GetBucketTagging, SageMaker ListTags, KMS
ListResourceTags). When an invocation is about to evaluate many resources (a scan, a sweep work
item, a lineage fan-out), the resource type announces their ARNs; the first tag read of any of
them then fetches the tags of up to 100 in one ``GetResources(ResourceARNList=...)`` call.

Semantics that matter for the exemption tag:
- ``GetResources`` leaves out an ARN whose resource has no tags (or no longer exists), so an
  announced ARN that is not in the answer has no tags. That only holds for resource types the
  Tagging API supports, so only those types announce (S3 buckets, KMS keys and the SageMaker
  types the Tag Editor lists); every other type keeps its own per-resource tag read.
- The Tagging API is eventually consistent: a tag added seconds ago may be missing. The event
  that added it (TagResource, PutBucketTagging, AddTags) re-evaluates the resource on its own,
  with a per-resource read, so a scan never has the last word on a fresh exemption.
- When the bulk read fails (no ``tag:GetResources`` permission, throttling past the retries), each
  resource falls back to its own tag read: slower, never wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from aiwarden.resources import tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.model import ResourceRef

logger = logging.getLogger(__name__)

BATCH = 100  # GetResources takes at most 100 ARNs per request
PERMISSION = "tag:GetResources"
_INDEX = ("tagging", "index")
_lock = threading.Lock()


def _key(arn: str) -> str:
    # SageMaker lower-cases names inside its ARNs; the Tagging API and Describe* may disagree on case.
    return arn.lower()


def announce(clients: Clients, region: str, arns: Iterable[str | None]) -> None:
    """The resources in ``region`` whose tags this invocation will probably read."""
    index: dict[str, tuple[str, tuple[str, ...]]] = clients.memo(_INDEX, dict)
    with _lock:
        fresh = list(dict.fromkeys(a for a in arns if a and _key(a) not in index))
        for start in range(0, len(fresh), BATCH):
            batch = tuple(fresh[start : start + BATCH])
            for arn in batch:
                index[_key(arn)] = (region, batch)


def announce_refs(clients: Clients, refs: list[ResourceRef]) -> None:
    """A ResourceType.prefetch for types whose tags the Tagging API serves."""
    by_region: dict[str, list[str | None]] = {}
    for ref in refs:
        by_region.setdefault(ref.region, []).append(ref.arn)
    for region, arns in by_region.items():
        announce(clients, region, arns)


def tags(clients: Clients, arn: str | None, read_one: Callable[[], Mapping[str, str]]) -> dict[str, str]:
    """The resource's tags: from the bulk read when its ARN was announced, else ``read_one()``."""
    index: dict[str, tuple[str, tuple[str, ...]]] = clients.memo(_INDEX, dict)
    with _lock:
        entry = index.get(_key(arn)) if arn else None
    if entry is None or arn is None:
        return dict(read_one())
    region, batch = entry
    try:
        found: dict[str, dict[str, str]] = clients.memo(
            ("tagging", region, batch), lambda: _get_resources(clients, region, batch)
        )
    except Exception:
        return dict(read_one())
    return dict(found.get(_key(arn), {}))


def _get_resources(clients: Clients, region: str, batch: tuple[str, ...]) -> dict[str, dict[str, str]]:
    api = clients.client("resourcegroupstaggingapi", region)
    found: dict[str, dict[str, str]] = {}
    params: dict[str, object] = {"ResourceARNList": list(batch)}
    try:
        while True:
            page = api.get_resources(**params)
            for mapping in page.get("ResourceTagMappingList", []):
                found[_key(mapping["ResourceARN"])] = tags_from_list(mapping.get("Tags"))
            # AWS answers an ARN list in one page; follow a token anyway rather than lose tags.
            token = page.get("PaginationToken")
            if not token:
                return found
            params["PaginationToken"] = token
    except Exception as exc:
        logger.warning(
            "bulk tag read of %d resources in %s failed; reading their tags one by one: %r",
            len(batch),
            region,
            exc,
            extra={"region": region, "error": repr(exc)},
        )
        raise
