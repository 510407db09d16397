"""AI Warden's memory: the last verdict per (check, resource), event dedup and the remediation audit.

Without it every evaluation of a failing resource would page someone again, and EventBridge's
at-least-once delivery would page them twice. With it an alert reports a *change*: a new failure,
a reminder once per repeat window while it keeps failing, and its resolution.

One DynamoDB table (on-demand, key ``pk``/``sk``, TTL on ``expires_at`` in epoch seconds) holds
three kinds of item, told apart by their key prefixes:

==========================  ============================  ======================================
pk                          sk                            what
==========================  ============================  ======================================
``EVENT#<event id>``        ``EVENT``                     an event already claimed (TTL: 2 days)
``STATE#<resource key>``    ``CHECK#<check id>``          status, first_failed_at, last_alerted_at
``AUDIT#<resource key>``    ``<iso time>#<check>#<n>``    one remediation decision (TTL: 90 days)
``USES#<acct>#<rgn>#<b>``   ``<cfn type>#<name>``         an AI resource uses bucket b (TTL: 3 days)
``USES#<acct>#<rgn>``       ``BUILT``                     the usage index was rebuilt in full
``SERVES#<a>#<r>#<k>#<n>``  ``<endpoint name>``           the endpoint's chain passes through n (TTL: 3 days)
``SERVES#<acct>#<rgn>``     ``BUILT``                     the lineage index was rebuilt in full
==========================  ============================  ======================================

The ``USES`` items are an index, bucket -> the SageMaker resources of a region that use it
(aiwarden.resources.bucket_usage), so a bucket event need not list and describe every model of the
region. It is only ever a list of candidates: each is re-described before it counts, so an item
left behind by a deleted model changes no verdict, and whenever the index cannot answer (no
rebuild within ``usage_refresh``, an error) the caller computes the usage in full instead.

The ``SERVES`` items are the same kind of index for AI lineage (aiwarden.lineage): an upstream
resource (artifact bucket, execution role, ECR repository, endpoint configuration, model) -> the
SageMaker endpoints of a region whose serving chain passes through it, so that an upstream event
need not resolve every endpoint of the region. The same rules hold: candidates only, each endpoint
resolved again before it counts, trusted only within ``lineage_refresh`` of a full rebuild.

Every decision is a single conditional write, so two Lambda invocations racing on the same
resource cannot both report a NEW_FAILURE: DynamoDB serialises writes to one item and the loser's
condition fails, which makes it STILL_FAILING. A failed condition is an answer, never an error.
Anything else (throttling beyond botocore's retries, an unreachable endpoint, a missing table)
raises :class:`StoreError`: the engine decides whether to fail the invocation or to alert
without memory.

The table in CloudFormation (what ``table_definition`` builds for tests and the demo, plus what
only a template can say)::

    StateTable:
      Type: AWS::DynamoDB::Table
      DeletionPolicy: Retain          # the audit trail outlives the stack
      UpdateReplacePolicy: Retain
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions:
          - {AttributeName: pk, AttributeType: S}
          - {AttributeName: sk, AttributeType: S}
        KeySchema:
          - {AttributeName: pk, KeyType: HASH}
          - {AttributeName: sk, KeyType: RANGE}
        TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        SSESpecification: {SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: !GetAtt WardenKey.Arn}

The functions that use it need ``dynamodb:PutItem``, ``UpdateItem``, ``GetItem``, ``DeleteItem``,
``Query``, ``BatchWriteItem`` (the usage and lineage indexes' rebuilds) and ``BatchGetItem`` (the
stored verdicts a sweep compares AWS Config's answers with) on the table's ARN, and
``kms:Decrypt``/``kms:GenerateDataKey`` on the key.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from aiwarden.model import Finding, ResourceRef, Status

logger = logging.getLogger(__name__)

TABLE_ENV = "AIWARDEN_STATE_TABLE"
CONDITION_FAILED = "ConditionalCheckFailedException"
# Outcomes in which a fix actually touched the resource: what the per-resource rate limit counts.
# Dry-runs and skips change nothing, so they never use up the attempts.
ATTEMPT_OUTCOMES = frozenset({"remediated", "failed"})
AUDIT_FIELDS = ("check_id", "resource", "action", "mode", "outcome", "detail", "actor", "event_id")
MAX_WORKERS = 8
BATCH_WRITE = 25  # BatchWriteItem takes at most 25 items per call
BATCH_GET = 100  # BatchGetItem takes at most 100 keys per call
BATCH_RETRIES = 4  # rounds for items DynamoDB leaves unprocessed (throttling), with backoff


class StoreError(Exception):
    """DynamoDB could not answer (throttled, unreachable, misconfigured); the engine decides."""


class Change(StrEnum):
    """What a new verdict means against the stored one, and so whether to alert."""

    NEW_FAILURE = "NEW_FAILURE"  # not failing (or never seen) -> FAIL: alert
    STILL_FAILING = "STILL_FAILING"  # FAIL -> FAIL, alerted within the repeat window: stay quiet
    REMINDER = "REMINDER"  # FAIL -> FAIL, last alert older than the window: alert again
    RESOLVED = "RESOLVED"  # FAIL -> PASS / EXEMPT / NOT_APPLICABLE: alert "resolved"
    UNCHANGED = "UNCHANGED"  # nothing worth saying (PASS -> PASS, PASS -> EXEMPT, ...)
    ERROR = "ERROR"  # could not evaluate: stored status kept, no alert

    @property
    def alert(self) -> bool:
        return self in (Change.NEW_FAILURE, Change.REMINDER, Change.RESOLVED)


@dataclass(frozen=True)
class Transition:
    """The answer for one finding: the change, the status stored before it and, while a failure
    lasts (or as it resolves), when it started, so an alert can say "failing since"."""

    change: Change
    previous: Status | None
    check_id: str
    resource: str
    first_failed_at: datetime | None = None
    # What ``StateStore.undo`` needs to put the item back: its key, the item as it was before
    # this write (None: there was none) and the revision this write stamped (None: no write).
    _key: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _old: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _rev: str | None = field(default=None, repr=False, compare=False)

    @property
    def alert(self) -> bool:
        return self.change.alert


class IndexedUse(NamedTuple):
    """One usage-index item: an AI resource (CloudFormation type and name) uses ``bucket``, for
    ``what`` (the sentences aiwarden.resources.s3 writes, e.g. "SageMaker model m1 (model
    artifacts)")."""

    bucket: str
    cfn_type: str
    name: str
    what: tuple[str, ...] = ()


class ServedBy(NamedTuple):
    """One lineage-index item: the serving chain of SageMaker endpoint ``endpoint`` passes through
    the ``kind`` (``bucket``, ``role``, ``repository``, ``config``, ``model``) named ``name``.
    ``chain`` fingerprints every dependency the endpoint had when the item was written, so a reader
    that resolves the endpoint again can tell whether its items are still the whole story."""

    kind: str
    name: str
    endpoint: str
    chain: str = ""


def resource_key(ref: ResourceRef) -> str:
    """The resource's stable name in the store: its ARN, else type/region/id (the same key the
    remediation module audits under)."""
    return ref.arn or f"{ref.type.cfn_type}/{ref.region}/{ref.resource_id}"


def table_definition(table_name: str, kms_key_id: str | None = None) -> dict[str, Any]:
    """CreateTable kwargs for tests and the demo. TTL is a separate call (``create_table``);
    point-in-time recovery and the key are the template's business (see the module docstring)."""
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if kms_key_id:
        definition["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key_id}
    return definition


def create_table(dynamodb: Any, table_name: str, kms_key_id: str | None = None) -> None:
    """Create the table, wait for it and turn TTL on: what the template does, for the demo."""
    dynamodb.create_table(**table_definition(table_name, kms_key_id))
    dynamodb.get_waiter("table_exists").wait(TableName=table_name)
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


def _utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(UTC)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _iso(when: datetime) -> str:
    # Fixed width, always UTC, always microseconds: sort keys and conditions compare these as
    # strings, which is only right when every one has the same shape.
    return _utc(when).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _epoch(when: datetime) -> int:
    return int(_utc(when).timestamp())


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python: strings stay strings, numbers become ints."""
    out: dict[str, Any] = {}
    for name, typed in item.items():
        if "S" in typed:
            out[name] = typed["S"]
        elif "N" in typed:
            out[name] = int(float(typed["N"]))
        elif "BOOL" in typed:
            out[name] = typed["BOOL"]
        elif "NULL" in typed:
            out[name] = None
    return out


def _status(item: Mapping[str, Any] | None) -> Status | None:
    if not item or "status" not in item:
        return None
    try:
        return Status(item["status"]["S"])
    except ValueError:
        return None


def _time_attr(item: Mapping[str, Any] | None, name: str) -> datetime | None:
    if not item or name not in item:
        return None
    return _parse(item[name].get("S"))


@dataclass
class StateStore:
    """The table, its client and the windows that shape what counts as news."""

    dynamodb: Any
    table_name: str
    repeat_window: timedelta = timedelta(hours=24)
    event_ttl: timedelta = timedelta(days=2)
    # Longer than the function timeout (300 s) plus Lambda's first retry delay.
    claim_lease: timedelta = timedelta(seconds=330)
    audit_ttl: timedelta = timedelta(days=90)
    # State items expire when nothing has written them for this long (a deleted check, a
    # resource no longer in scope). A failing item is rewritten at least once per repeat window.
    state_ttl: timedelta = timedelta(days=90)
    # The usage index is trusted for this long after its last full rebuild. Its items live a few
    # rebuilds longer, so a use no rebuild writes again (a deleted model) drops out by itself.
    usage_refresh: timedelta = timedelta(hours=24)
    usage_ttl: timedelta = timedelta(days=3)
    # The same for the lineage index (upstream resource -> the endpoints serving it).
    lineage_refresh: timedelta = timedelta(hours=24)
    lineage_ttl: timedelta = timedelta(days=3)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)

    def __post_init__(self) -> None:
        if self.repeat_window <= timedelta(0):
            raise ValueError("the repeat window must be positive")
        if self.state_ttl <= self.repeat_window:
            # Otherwise a failure still being reported would expire and page again as "new".
            raise ValueError("state_ttl must be longer than the repeat window")
        if self.usage_ttl <= self.usage_refresh:
            # Otherwise items of the last rebuild could expire while its marker still vouches for them.
            raise ValueError("usage_ttl must be longer than usage_refresh")
        if self.lineage_ttl <= self.lineage_refresh:
            raise ValueError("lineage_ttl must be longer than lineage_refresh")

    @classmethod
    def from_env(cls, dynamodb: Any, table_name: str | None = None) -> StateStore:
        """Settings from the function's environment (template parameters)."""
        name = table_name or os.environ.get(TABLE_ENV)
        if not name:
            raise ValueError(f"no state table: set {TABLE_ENV}")
        env = os.environ.get
        return cls(
            dynamodb,
            name,
            repeat_window=timedelta(hours=float(env("AIWARDEN_REPEAT_WINDOW_HOURS") or 24)),
            event_ttl=timedelta(hours=float(env("AIWARDEN_EVENT_TTL_HOURS") or 48)),
            claim_lease=timedelta(seconds=float(env("AIWARDEN_CLAIM_LEASE_SECONDS") or 330)),
            audit_ttl=timedelta(days=float(env("AIWARDEN_AUDIT_TTL_DAYS") or 90)),
            state_ttl=timedelta(days=float(env("AIWARDEN_STATE_TTL_DAYS") or 90)),
        )

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StoreError(f"{what}: {error.get('Code')}: {error.get('Message')}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def _conditional(self, operation: str, **kwargs: Any) -> tuple[bool, dict[str, Any]]:
        """Run a conditional write. (True, response) when it happened; (False, the item that
        stood in the way, or {}) when the condition failed, which is an answer, not an error."""
        call = getattr(self.dynamodb, operation)
        with self._calls(operation):
            try:
                return True, call(TableName=self.table_name, **kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                    raise
                return False, exc.response.get("Item") or {}

    # -- event dedup ------------------------------------------------------------------------

    def claim_event(self, event_id: str, now: datetime | None = None) -> bool:
        """True the first time an event id is seen, False for a redelivery. An item whose TTL
        has passed counts as gone even before DynamoDB deletes it (deletion can lag by days).

        The claim is a lease until ``complete_event``: an attempt killed by the Lambda timeout or
        out of memory never releases it, so once the lease runs out a retry may claim the event
        again instead of being dropped as a duplicate (and lost)."""
        if not event_id:
            raise ValueError("an event id is required to deduplicate")
        when = _utc(now or self.clock())
        claimed, _ = self._conditional(
            "put_item",
            Item={
                "pk": _s(f"EVENT#{event_id}"),
                "sk": _s("EVENT"),
                "claimed_at": _s(_iso(when)),
                "lease_until": _n(_epoch(when + self.claim_lease)),
                "expires_at": _n(_epoch(when + self.event_ttl)),
            },
            ConditionExpression=(
                "attribute_not_exists(pk) OR expires_at < :now "
                "OR (attribute_not_exists(done) AND lease_until < :now)"
            ),
            ExpressionAttributeValues={":now": _n(_epoch(when))},
        )
        if not claimed:
            logger.info("duplicate event skipped", extra={"event_id": event_id})
        return claimed

    def complete_event(self, event_id: str) -> None:
        """Mark a claimed event done: from now on every redelivery is a duplicate."""
        with self._calls("update_item"):
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(f"EVENT#{event_id}"), "sk": _s("EVENT")},
                UpdateExpression="SET done = :done",
                ExpressionAttributeValues={":done": {"BOOL": True}},
            )

    def release_event(self, event_id: str) -> None:
        """Forget a claim: call it when the invocation is about to fail, so that Lambda's retry
        of the same event is processed rather than dropped as a duplicate."""
        with self._calls("delete_item"):
            self.dynamodb.delete_item(
                TableName=self.table_name, Key={"pk": _s(f"EVENT#{event_id}"), "sk": _s("EVENT")}
            )

    # -- state transitions ------------------------------------------------------------------

    def record(self, finding: Finding, now: datetime | None = None) -> Transition:
        """Store the verdict and say what changed. One conditional UpdateItem per finding (a
        GetItem for ERROR, which stores nothing)."""
        when = _utc(now or self.clock())
        resource = resource_key(finding.ref)
        key = {"pk": _s(f"STATE#{resource}"), "sk": _s(f"CHECK#{finding.check_id}")}

        def transition(
            change: Change,
            old: Mapping[str, Any] | None,
            first_failed_at: datetime | None = None,
            rev: str | None = None,
        ) -> Transition:
            return Transition(
                change,
                _status(old),
                finding.check_id,
                resource,
                first_failed_at,
                key,
                dict(old) if old else None,
                rev,
            )

        if finding.status is Status.ERROR:
            with self._calls("get_item"):
                item = self.dynamodb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get(
                    "Item"
                )
            return transition(Change.ERROR, item, _time_attr(item, "first_failed_at"))

        rev = secrets.token_hex(8)
        values: dict[str, Any] = {
            ":status": _s(finding.status.value),
            ":now": _s(_iso(when)),
            ":rev": _s(rev),
            ":exp": _n(_epoch(when + self.state_ttl)),
            ":check": _s(finding.check_id),
            ":resource": _s(resource),
        }
        names = {"#status": "status", "#check": "check_id", "#resource": "resource"}
        common = "#status = :status, updated_at = :now, rev = :rev, expires_at = :exp"

        if finding.status is Status.FAIL:
            # New failure, or a reminder once the window has passed since the last alert; a
            # failed condition means someone alerted within the window: stay quiet.
            values[":cutoff"] = _s(_iso(when - self.repeat_window))
            written, response = self._conditional(
                "update_item",
                Key=key,
                UpdateExpression=(
                    f"SET {common}, #check = :check, #resource = :resource, "
                    "first_failed_at = if_not_exists(first_failed_at, :now), last_alerted_at = :now"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #status <> :status "
                    "OR attribute_not_exists(last_alerted_at) OR last_alerted_at <= :cutoff"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            if not written:
                return transition(Change.STILL_FAILING, response, _time_attr(response, "first_failed_at"))
            old = response.get("Attributes")
            change = Change.REMINDER if _status(old) is Status.FAIL else Change.NEW_FAILURE
            first = _time_attr(old, "first_failed_at") if change is Change.REMINDER else when
            return transition(change, old, first, rev)

        # PASS, EXEMPT, NOT_APPLICABLE. Only a change of status is written, and only over an
        # existing item: a resource that never failed needs no memory.
        written, response = self._conditional(
            "update_item",
            Key=key,
            UpdateExpression=f"SET {common} REMOVE first_failed_at, last_alerted_at",
            ConditionExpression="attribute_exists(pk) AND #status <> :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={k: values[k] for k in (":status", ":now", ":rev", ":exp")},
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if not written:
            return transition(Change.UNCHANGED, response or None)
        old = response.get("Attributes")
        if _status(old) is Status.FAIL:
            return transition(Change.RESOLVED, old, _time_attr(old, "first_failed_at"), rev)
        return transition(Change.UNCHANGED, old, rev=rev)

    def record_many(self, findings: Iterable[Finding], now: datetime | None = None) -> list[Transition]:
        """``record`` for each finding, in the same order. Findings for the same (check,
        resource) are applied one after another; different ones concurrently."""
        items = list(findings)
        groups: dict[tuple[str, str], list[int]] = {}
        for index, finding in enumerate(items):
            groups.setdefault((finding.check_id, resource_key(finding.ref)), []).append(index)
        out: list[Transition | None] = [None] * len(items)

        def run(indexes: list[int]) -> None:
            for index in indexes:
                out[index] = self.record(items[index], now)

        if len(groups) <= 1:
            for indexes in groups.values():
                run(indexes)
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(groups))) as pool:
                for done in [pool.submit(run, indexes) for indexes in groups.values()]:
                    done.result()
        return [t for t in out if t is not None]

    def statuses(self, keys: Iterable[tuple[str, ResourceRef]]) -> dict[tuple[str, str], Status]:
        """The stored status of each (check id, resource), read 100 keys per BatchGetItem
        (strongly consistent); a key with no item is left out. For judging whether a verdict
        from AWS Config's recorded configuration is news (aiwarden.resources.recorded)."""
        wanted = {(check_id, resource_key(ref)) for check_id, ref in keys}
        requests = [
            {"pk": _s(f"STATE#{resource}"), "sk": _s(f"CHECK#{check_id}")} for check_id, resource in wanted
        ]
        out: dict[tuple[str, str], Status] = {}

        def read(pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
            response = self.dynamodb.batch_get_item(
                RequestItems={
                    self.table_name: {
                        "Keys": pending,
                        "ConsistentRead": True,
                        "ProjectionExpression": "pk, sk, #status",
                        "ExpressionAttributeNames": {"#status": "status"},
                    }
                }
            )
            for item in (response.get("Responses") or {}).get(self.table_name, []):
                status = _status(item)
                if status is not None:
                    resource = item["pk"]["S"].removeprefix("STATE#")
                    out[(item["sk"]["S"].removeprefix("CHECK#"), resource)] = status
            unprocessed = (response.get("UnprocessedKeys") or {}).get(self.table_name) or {}
            return list(unprocessed.get("Keys") or [])

        self._in_batches("batch_get_item", requests, BATCH_GET, read, "state key(s)")
        return out

    def undo(self, transition: Transition) -> bool:
        """Put the state back as it was before ``transition``'s write, unless something wrote it
        since. For when the alert the transition called for could not be published: otherwise
        Lambda's retry would see STILL_FAILING (or UNCHANGED) and the alert would be lost.
        True when restored; False when there was nothing to undo or someone wrote in between."""
        if transition._rev is None:
            return False
        condition = {
            "ConditionExpression": "rev = :rev",
            "ExpressionAttributeValues": {":rev": _s(transition._rev)},
        }
        if transition._old is None:
            done, _ = self._conditional("delete_item", Key=transition._key, **condition)
        else:
            done, _ = self._conditional("put_item", Item=transition._old, **condition)
        return done

    # -- remediation audit ------------------------------------------------------------------

    def audit(self, entry: Mapping[str, Any]) -> None:
        """Record one remediation decision (the remediation module's entry: check_id, resource,
        action, mode, outcome, detail, actor, event_id and ``at``, an ISO time or datetime)."""
        if not entry.get("check_id") or not entry.get("resource"):
            raise ValueError("an audit entry needs check_id and resource")
        at = entry.get("at")
        when = at if isinstance(at, datetime) else (_parse(at) if isinstance(at, str) else None)
        when = _utc(when or self.clock())
        item: dict[str, Any] = {
            "pk": _s(f"AUDIT#{entry['resource']}"),
            # The random tail keeps two decisions in the same microsecond from overwriting.
            "sk": _s(f"{_iso(when)}#{entry['check_id']}#{secrets.token_hex(4)}"),
            "at": _s(_iso(when)),
            "expires_at": _n(_epoch(when + self.audit_ttl)),
        }
        for name in AUDIT_FIELDS:
            value = entry.get(name)
            if value is not None:
                item[name] = _s(str(value))
        with self._calls("put_item"):
            self.dynamodb.put_item(TableName=self.table_name, Item=item)

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.dynamodb.get_paginator("query")
        with self._calls("query"):
            yield from paginator.paginate(TableName=self.table_name, ConsistentRead=True, **kwargs)

    def audit_trail(self, resource: str, limit: int | None = None) -> list[dict[str, Any]]:
        """A resource's audited decisions, newest first."""
        out: list[dict[str, Any]] = []
        for page in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"AUDIT#{resource}")},
            ScanIndexForward=False,
        ):
            for item in page.get("Items", []):
                record = _plain(item)
                record.pop("pk", None)
                record.pop("sk", None)
                out.append(record)
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def remediation_attempts(
        self,
        check_id: str,
        resource: str,
        since: datetime,
        outcomes: Iterable[str] = ATTEMPT_OUTCOMES,
    ) -> int:
        """How many times a fix for ``check_id`` acted on ``resource`` since ``since``: the
        remediation module's rate limit and loop guard (its ``attempts`` callable)."""
        wanted = {f":o{i}": _s(o) for i, o in enumerate(sorted(set(outcomes)))}
        if not wanted:
            return 0
        values = {":pk": _s(f"AUDIT#{resource}"), ":since": _s(_iso(since)), ":check": _s(check_id), **wanted}
        total = 0
        for page in self._query(
            KeyConditionExpression="pk = :pk AND sk >= :since",
            FilterExpression=f"#check = :check AND #outcome IN ({', '.join(wanted)})",
            ExpressionAttributeNames={"#check": "check_id", "#outcome": "outcome"},
            ExpressionAttributeValues=values,
            Select="COUNT",
        ):
            total += int(page.get("Count", 0))
        return total

    # -- the freshness marker each index keeps (its pk, sk "BUILT") ---------------------------

    def _built_within(self, pk: str, refresh: timedelta, now: datetime | None) -> bool:
        when = _utc(now or self.clock())
        with self._calls("get_item"):
            item = self.dynamodb.get_item(
                TableName=self.table_name, Key={"pk": _s(pk), "sk": _s("BUILT")}, ConsistentRead=True
            ).get("Item")
        built = _time_attr(item, "built_at")
        return built is not None and built > when - refresh

    def _forget_built(self, pk: str) -> None:
        with self._calls("delete_item"):
            self.dynamodb.delete_item(TableName=self.table_name, Key={"pk": _s(pk), "sk": _s("BUILT")})

    def _mark_built(self, pk: str, ttl: timedelta, now: datetime | None) -> None:
        when = _utc(now or self.clock())
        with self._calls("put_item"):
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "pk": _s(pk),
                    "sk": _s("BUILT"),
                    "built_at": _s(_iso(when)),
                    "expires_at": _n(_epoch(when + ttl)),
                },
            )

    # -- bucket -> AI usage index -----------------------------------------------------------

    @staticmethod
    def _usage_pk(account: str, region: str, bucket: str | None = None) -> str:
        return f"USES#{account}#{region}" + (f"#{bucket}" if bucket is not None else "")

    def usage_fresh(self, account: str, region: str, now: datetime | None = None) -> bool:
        """True when the index of ``account``/``region`` was rebuilt in full within
        ``usage_refresh``: only then may a bucket's items stand for every AI resource using it."""
        return self._built_within(self._usage_pk(account, region), self.usage_refresh, now)

    def bucket_usage(
        self, account: str, region: str, bucket: str, now: datetime | None = None
    ) -> list[IndexedUse]:
        """The AI resources indexed as using ``bucket``, expired items left out (DynamoDB deletes
        them lazily). Raises StoreError for an item this code did not write."""
        when = _epoch(now or self.clock())
        out: list[IndexedUse] = []
        for page in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(self._usage_pk(account, region, bucket))},
        ):
            for item in page.get("Items", []):
                try:
                    expires = int(item["expires_at"]["N"])
                    cfn_type, name = item["sk"]["S"].split("#", 1)
                    what = tuple(str(v["S"]) for v in item.get("what", {}).get("L", []))
                except (KeyError, TypeError, ValueError) as exc:
                    raise StoreError(f"malformed usage item {item.get('sk')}: {exc!r}") from exc
                if not cfn_type.startswith("AWS::") or not name:
                    raise StoreError(f"malformed usage item {item.get('sk')}")
                if expires >= when:
                    out.append(IndexedUse(bucket, cfn_type, name, what))
        return out

    def put_usage(
        self, account: str, region: str, uses: Iterable[IndexedUse], now: datetime | None = None
    ) -> int:
        """Write (or overwrite: idempotent) usage items, 25 per BatchWriteItem; returns how many.
        Items DynamoDB leaves unprocessed are retried with backoff, then raise StoreError."""
        when = _utc(now or self.clock())
        expires = _n(_epoch(when + self.usage_ttl))
        items = {
            (use.bucket, use.cfn_type, use.name): {
                "pk": _s(self._usage_pk(account, region, use.bucket)),
                "sk": _s(f"{use.cfn_type}#{use.name}"),
                "what": {"L": [_s(w) for w in use.what]},
                "indexed_at": _s(_iso(when)),
                "expires_at": expires,
            }
            for use in uses
        }
        return self._put_batches(items.values(), "usage")

    def _put_batches(self, items: Iterable[dict[str, Any]], what: str) -> int:
        """PutItem ``items`` 25 per BatchWriteItem; items DynamoDB leaves unprocessed are retried
        with backoff, then raise StoreError. Returns how many were written."""
        requests = [{"PutRequest": {"Item": item}} for item in items]

        def write(pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
            response = self.dynamodb.batch_write_item(RequestItems={self.table_name: pending})
            return list((response.get("UnprocessedItems") or {}).get(self.table_name) or [])

        self._in_batches("batch_write_item", requests, BATCH_WRITE, write, f"{what} item(s)")
        return len(requests)

    def _in_batches(
        self,
        operation: str,
        requests: list[dict[str, Any]],
        size: int,
        call: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        what: str,
    ) -> None:
        """``call`` on ``requests`` ``size`` at a time; what it returns as unprocessed (DynamoDB
        throttling a batch) is retried with backoff, then raises StoreError."""
        for start in range(0, len(requests), size):
            pending = requests[start : start + size]
            for attempt in range(BATCH_RETRIES + 1):
                with self._calls(operation):
                    pending = call(pending)
                if not pending:
                    break
                if attempt < BATCH_RETRIES:
                    time.sleep(0.05 * 2**attempt)
            else:
                raise StoreError(f"{operation}: {len(pending)} {what} left unprocessed")

    def forget_usage_built(self, account: str, region: str) -> None:
        """Drop the marker: the index missed a write, so the next reader rebuilds it."""
        self._forget_built(self._usage_pk(account, region))

    def mark_usage_built(self, account: str, region: str, now: datetime | None = None) -> None:
        """Record a full rebuild of the index: call it only after every item was written."""
        self._mark_built(self._usage_pk(account, region), self.usage_ttl, now)

    # -- upstream resource -> SageMaker endpoints (lineage) index ----------------------------

    @staticmethod
    def _lineage_pk(account: str, region: str, kind: str | None = None, name: str | None = None) -> str:
        return f"SERVES#{account}#{region}" + (f"#{kind}#{name}" if kind is not None else "")

    def lineage_fresh(self, account: str, region: str, now: datetime | None = None) -> bool:
        """True when the lineage index of ``account``/``region`` was rebuilt in full within
        ``lineage_refresh``: only then may a resource's items stand for every endpoint serving it."""
        return self._built_within(self._lineage_pk(account, region), self.lineage_refresh, now)

    def served_by(
        self, account: str, region: str, kind: str, name: str, now: datetime | None = None
    ) -> list[ServedBy]:
        """The endpoints indexed as serving through the ``kind`` ``name``, by endpoint name,
        expired items left out (DynamoDB deletes them lazily). Raises StoreError for an item this
        code did not write."""
        when = _epoch(now or self.clock())
        out: list[ServedBy] = []
        for page in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(self._lineage_pk(account, region, kind, name))},
        ):
            for item in page.get("Items", []):
                try:
                    expires = int(item["expires_at"]["N"])
                    endpoint = str(item["sk"]["S"])
                    chain = str(item["chain"]["S"]) if "chain" in item else ""
                except (KeyError, TypeError, ValueError) as exc:
                    raise StoreError(f"malformed lineage item {item.get('sk')}: {exc!r}") from exc
                if not endpoint:
                    raise StoreError(f"malformed lineage item {item.get('sk')}")
                if expires >= when:
                    out.append(ServedBy(kind, name, endpoint, chain))
        return out

    def put_served_by(
        self, account: str, region: str, entries: Iterable[ServedBy], now: datetime | None = None
    ) -> int:
        """Write (or overwrite: idempotent) lineage items, 25 per BatchWriteItem; returns how many.
        Items DynamoDB leaves unprocessed are retried with backoff, then raise StoreError."""
        when = _utc(now or self.clock())
        expires = _n(_epoch(when + self.lineage_ttl))
        items = {
            (entry.kind, entry.name, entry.endpoint): {
                "pk": _s(self._lineage_pk(account, region, entry.kind, entry.name)),
                "sk": _s(entry.endpoint),
                "chain": _s(entry.chain),
                "indexed_at": _s(_iso(when)),
                "expires_at": expires,
            }
            for entry in entries
        }
        return self._put_batches(items.values(), "lineage")

    def forget_lineage_built(self, account: str, region: str) -> None:
        """Drop the lineage marker: the index missed a write, so the next reader rebuilds it."""
        self._forget_built(self._lineage_pk(account, region))

    def mark_lineage_built(self, account: str, region: str, now: datetime | None = None) -> None:
        """Record a full rebuild of the lineage index: call it only after every item was written."""
        self._mark_built(self._lineage_pk(account, region), self.lineage_ttl, now)
