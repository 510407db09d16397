"""AWS Config's recorded configuration as a bulk read for sweeps, trusted only where it is no news.

Some settings have no bulk API: S3 answers a bucket's encryption, versioning, logging, policy and
Block Public Access one bucket and one aspect at a time, four or five calls per bucket. AWS
Config's recorder keeps all of them in the bucket's configuration item, and
``BatchGetResourceConfig`` returns 100 items per call. That is how AWS's own managed rules (and so
Security Hub's S3 controls) judge buckets.

A configuration item can lag the resource, though (minutes with continuous recording), and a
sweep judging from a stale item would overturn the fresher verdict an event just gave: a "resolved"
alert for a bucket that is still public, a "new failure" for one already fixed. So the recorded
configuration is used only where that cannot happen:

- only with a state table (Lambda), never in the CLI's one-off scan, which reads everything live;
- only in a region whose customer managed recorder is recording (last status not a failure) and
  records the type continuously; items recorded daily, deleted or not recorded are not used;
- only the aspects an item carries in a shape AI Warden reads (anything else is read live);
- and every verdict that read it (the bucket's own, or another resource's, such as a model's
  verdict on its artifact bucket's encryption) and is news to the state table (a new failure, a
  resolution, any change of status, an error) is judged again
  from live reads before it is recorded, alerted or remediated (``aiwarden.engine``); a fix in
  enforce mode re-reads live before acting (``aiwarden.remediation``). Only the threads that run
  checks see recorded values at all (``Clients.noting_recorded``). A recorded item can therefore
  only confirm what AI Warden already knew; it never changes a verdict.

What it can leave behind: a verdict whose status stays the same keeps the reason the item gives,
so a reminder of a failure that goes on, or the copy Security Hub holds of it, may describe the
item's version of the problem (say "versioning Suspended" where it is now "never enabled"): as
current as Config's continuous recording, minutes. Confirming every reminder live instead would
cost a daily sweep (the default, with the default 24-hour reminders) every saving on failing
resources.

Set ``AIWARDEN_CONFIG_READS=off`` to read every resource live in sweeps too.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiwarden.resources import config as config_recorder

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.model import ResourceRef

logger = logging.getLogger(__name__)

ENV = "AIWARDEN_CONFIG_READS"
PERMISSIONS = (
    "config:BatchGetResourceConfig",
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
)
BATCH = 100  # BatchGetResourceConfig takes at most 100 resource keys
CURRENT = {"OK", "ResourceDiscovered"}  # items that describe a resource as it is


def enabled(clients: Clients) -> bool:
    """Recorded reads are allowed for these clients: a state table to compare with, not turned off."""
    return clients.state is not None and os.environ.get(ENV, "auto").strip().lower() != "off"


def _covers(group: dict[str, Any], cfn_type: str) -> bool:
    """Whether a recording group records ``cfn_type`` (RecordingGroup in the Config API)."""
    strategy = (group.get("recordingStrategy") or {}).get("useOnly")
    if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        excluded = (group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []
        return cfn_type not in excluded
    if strategy == "INCLUSION_BY_RESOURCE_TYPES":
        return cfn_type in (group.get("resourceTypes") or [])
    if group.get("allSupported", True):
        return True
    return cfn_type in (group.get("resourceTypes") or [])


def _frequency(mode: dict[str, Any] | None, cfn_type: str) -> str:
    """CONTINUOUS or DAILY for ``cfn_type``; a recorder without a recording mode records
    continuously (what AWS did before recording modes existed, and still defaults to)."""
    mode = mode or {}
    for override in mode.get("recordingModeOverrides") or []:
        if cfn_type in (override.get("resourceTypes") or []):
            return str(override.get("recordingFrequency") or "CONTINUOUS")
    return str(mode.get("recordingFrequency") or "CONTINUOUS")


def records_continuously(clients: Clients, region: str, cfn_type: str) -> bool:
    """True when the region's customer managed recorder is recording ``cfn_type`` continuously."""

    def fetch() -> bool:
        recorders = clients.client("config", region).describe_configuration_recorders()
        statuses = {s.get("name"): s for s in config_recorder.recorder_statuses(clients, region)}
        for recorder in recorders.get("ConfigurationRecorders", []):
            if recorder.get("servicePrincipal"):
                continue  # a service-linked recorder records for its service, in its own scope
            status = statuses.get(recorder.get("name"), {})
            if not status.get("recording") or str(status.get("lastStatus", "")).lower() == "failure":
                continue
            if _covers(recorder.get("recordingGroup") or {}, cfn_type) and (
                _frequency(recorder.get("recordingMode"), cfn_type) == "CONTINUOUS"
            ):
                return True
        return False

    return bool(clients.memo(("config", "records_continuously", region, cfn_type), fetch))


def _parsed(value: Any) -> Any:
    """A supplementary configuration value: BatchGetResourceConfig sends each as a JSON string
    (some, such as AccessControlList, encoded twice); a change notification sends objects."""
    for decoded in range(2):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except ValueError:
            return value if decoded else None  # a plain string inside one layer of JSON
    return value


def supplementary(clients: Clients, refs: Iterable[ResourceRef]) -> dict[ResourceRef, dict[str, Any]]:
    """The current, continuously recorded supplementary configuration of each resource that has
    one, keyed by ref; resources without one are left out (read them live). Never raises: a
    refused or failed read means live reads, logged once."""
    by_region: dict[str, list[ResourceRef]] = {}
    for ref in refs:
        by_region.setdefault(ref.region, []).append(ref)
    out: dict[ResourceRef, dict[str, Any]] = {}
    for region, regional in sorted(by_region.items()):
        cfn_type = regional[0].type.cfn_type
        try:
            if not records_continuously(clients, region, cfn_type):
                continue
            out.update(_batch_get(clients, region, cfn_type, regional))
        except Exception as exc:
            logger.warning(
                "AWS Config's recorded configuration is unavailable in %s; reading %d %ss live: %r",
                region,
                len(regional),
                regional[0].type.label,
                exc,
                extra={"region": region, "resource_type": cfn_type, "error": repr(exc)},
            )
    return out


def _batch_get(
    clients: Clients, region: str, cfn_type: str, refs: list[ResourceRef]
) -> dict[ResourceRef, dict[str, Any]]:
    config = clients.client("config", region)
    by_id = {ref.resource_id: ref for ref in refs}
    out: dict[ResourceRef, dict[str, Any]] = {}
    ids = sorted(by_id)
    for start in range(0, len(ids), BATCH):
        keys = [{"resourceType": cfn_type, "resourceId": rid} for rid in ids[start : start + BATCH]]
        response = config.batch_get_resource_config(resourceKeys=keys)
        # Keys Config could not answer this time (unprocessedResourceKeys) are simply read live.
        for item in response.get("baseConfigurationItems", []):
            ref = by_id.get(str(item.get("resourceId")))
            if ref is None or item.get("resourceType") != cfn_type:
                continue
            if item.get("configurationItemStatus") not in CURRENT:
                continue
            if str(item.get("recordingFrequency") or "CONTINUOUS") != "CONTINUOUS":
                continue
            raw = item.get("supplementaryConfiguration") or {}
            out[ref] = {name: _parsed(value) for name, value in raw.items()}
    return out
