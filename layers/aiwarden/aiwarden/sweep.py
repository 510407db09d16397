"""The scheduled sweep, fanned out on SQS so it never depends on one Lambda finishing in 15 min.

The scheduled ``SweepFunction`` only lists: every resource of every checked type, paginated,
packed into work items of up to ``BATCH`` resources (one resource type each) on the ``SweepQueue``.
``SweepWorkerFunction`` consumes the queue with partial-batch responses: a work item that fails is
retried alone, and after ``maxReceiveCount`` attempts SQS moves it to the dead-letter queue, where
``aiwarden redrive`` can replay it. Listing 50,000 resources is a few hundred List calls; the
evaluation spreads over as many worker invocations as the queue needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiwarden.clients import Clients
from aiwarden.events import Invocation, Target
from aiwarden.model import ResourceRef, TriggerInfo
from aiwarden.registry import Check
from aiwarden.resources import RESOURCE_TYPES

logger = logging.getLogger(__name__)

BATCH = 100  # resources per work item: one worker evaluates it well inside its timeout (see template)
KIND = "aiwarden.sweep-batch"
QUEUE_ENV = "AIWARDEN_SWEEP_QUEUE_URL"


@dataclass(frozen=True)
class Plan:
    items: list[dict[str, Any]]
    resources: int
    listing_errors: list[str]


def plan(clients: Clients, checks: list[Check] | None = None, batch: int = BATCH) -> Plan:
    """Work items for every resource of every checked type (listing only: no describe calls)."""
    from aiwarden.engine import enabled_checks

    enabled = checks if checks is not None else enabled_checks()
    by_type: dict[str, list[str]] = {}
    for check in enabled:
        by_type.setdefault(check.resource.cfn_type, []).append(check.id)
    items: list[dict[str, Any]] = []
    errors: list[str] = []
    total = 0
    started = datetime.now(UTC).isoformat(timespec="seconds")
    for cfn_type, check_ids in sorted(by_type.items()):
        try:
            refs = list(RESOURCE_TYPES[cfn_type].list_refs(clients))
        except Exception as exc:
            # The workers cannot evaluate what was not listed: say so, and let the type's own
            # work item report the listing error as the engine does (ERROR finding).
            errors.append(f"{cfn_type}: {exc!r}")
            refs = []
            items.append(_item(cfn_type, check_ids, None, clients, started))
            continue
        total += len(refs)
        for start in range(0, len(refs), batch):
            items.append(_item(cfn_type, check_ids, refs[start : start + batch], clients, started))
    return Plan(items=items, resources=total, listing_errors=errors)


def _item(
    cfn_type: str, check_ids: list[str], refs: list[ResourceRef] | None, clients: Clients, started: str
) -> dict[str, Any]:
    return {
        "kind": KIND,
        "sweep_started": started,
        "account": clients.account_id,
        "region": clients.region,
        "resource_type": cfn_type,
        "check_ids": sorted(check_ids),
        # None: list the type again in the worker (its listing failed while planning).
        "resources": None
        if refs is None
        else [{"id": r.resource_id, "region": r.region, "arn": r.arn_hint} for r in refs],
    }


def enqueue(sqs: Any, queue_url: str, items: Iterable[dict[str, Any]]) -> int:
    """SendMessageBatch in tens; raise if SQS refuses any, so the schedule's retry keeps it."""
    pending = list(items)
    sent = 0
    for start in range(0, len(pending), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(item)}
            for i, item in enumerate(pending[start : start + 10])
        ]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(
                f"SQS refused {len(response['Failed'])} sweep item(s): {response['Failed'][0]}"
            )
        sent += len(response.get("Successful", []))
    return sent


def invocation_for(item: dict[str, Any]) -> Invocation:
    """A work item as the engine's Invocation (validated: a bad item raises ValueError)."""
    if not isinstance(item, dict) or item.get("kind") != KIND:
        raise ValueError("not an AI Warden sweep work item")
    scope = RESOURCE_TYPES.get(str(item.get("resource_type")))
    if scope is None:
        raise ValueError(f"unknown resource type {item.get('resource_type')!r}")
    account, region = str(item["account"]), str(item["region"])
    check_ids = frozenset(str(c) for c in item.get("check_ids") or [])
    resources = item.get("resources")
    if resources is None:
        targets = [Target(scope=scope, check_ids=check_ids)]
    else:
        targets = [
            Target(
                scope=scope,
                check_ids=check_ids,
                ref=ResourceRef(scope, str(r["id"]), str(r["region"]), account, r.get("arn")),
            )
            for r in resources
        ]
    trigger = TriggerInfo(
        kind="scan", source="aiwarden", detail_type="Sweep", event_time=item.get("sweep_started")
    )
    return Invocation(trigger=trigger, account=account, region=region, targets=targets)


def handle_schedule(event: Any, runtime: Any, queue_url: str) -> dict[str, Any]:
    """The SweepFunction: plan the sweep and hand it to the queue."""
    account = event.get("account") if isinstance(event, dict) else None
    clients = Clients(
        region=runtime.region,
        endpoint_url=runtime.endpoint_url,
        # The schedule's envelope names our account; without it, STS says who we are.
        account_id=account if isinstance(account, str) and account.isdigit() else None,
    )
    planned = plan(clients)
    sent = enqueue(clients.client("sqs"), queue_url, planned.items)
    out = {"work_items": sent, "resources": planned.resources, "listing_errors": planned.listing_errors}
    logger.info("sweep planned", extra={"summary": out})
    return out


def handle_batch(event: Any, runtime: Any) -> dict[str, Any]:
    """The SweepWorkerFunction: evaluate each work item; report the failed ones so SQS retries only
    those (partial-batch response)."""
    from aiwarden import engine

    failures: list[dict[str, str]] = []
    records = event.get("Records", []) if isinstance(event, dict) else []
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            invocation = invocation_for(json.loads(record["body"]))
        except (KeyError, TypeError, ValueError) as exc:
            # A malformed item will never evaluate: log it and let SQS dead-letter it after its
            # receive count, rather than drop it.
            logger.error("bad sweep work item", extra={"message_id": message_id, "reason": repr(exc)})
            failures.append({"itemIdentifier": message_id})
            continue
        try:
            engine.settle(invocation, runtime)
        except Exception as exc:
            logger.error("sweep work item failed", extra={"message_id": message_id, "reason": repr(exc)})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
