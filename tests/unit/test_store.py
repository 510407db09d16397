"""aiwarden.store: event dedup, alert-on-change transitions and the remediation audit (moto)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from aiwarden.model import Finding, ResourceRef, Severity, Status
from aiwarden.resources.account import ACCOUNT as ACCOUNT_TYPE
from aiwarden.resources.s3 import BUCKET
from aiwarden.store import (
    Change,
    IndexedUse,
    ServedBy,
    StateStore,
    StoreError,
    create_table,
    resource_key,
    table_definition,
)
from tests.conftest import ACCOUNT, REGION

TABLE = "aiwarden-state"
T0 = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def finding(status: Status, bucket: str = "training-data", check_id: str = "s3_public_access") -> Finding:
    return Finding(
        check_id=check_id,
        title="S3 buckets block public access",
        severity=Severity.CRITICAL,
        status=status,
        ref=ResourceRef(BUCKET, bucket, REGION, ACCOUNT),
        reason=f"bucket {bucket} is {status.value}",
    )


@pytest.fixture
def dynamodb(aws: Any) -> Any:
    client = aws.client("dynamodb")
    create_table(client, TABLE)
    return client


@pytest.fixture
def store(dynamodb: Any) -> StateStore:
    return StateStore(dynamodb, TABLE)


def state_item(dynamodb: Any, f: Finding) -> dict[str, Any] | None:
    key = {"pk": {"S": f"STATE#{resource_key(f.ref)}"}, "sk": {"S": f"CHECK#{f.check_id}"}}
    item: dict[str, Any] | None = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    return item


# -- table ---------------------------------------------------------------------------------------


def test_table_has_composite_key_on_demand_billing_and_ttl(dynamodb):
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_table_definition_with_kms_key_encrypts_with_that_key(aws):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(**table_definition("encrypted", kms_key_id=key_arn))
    sse = dynamodb.describe_table(TableName="encrypted")["Table"]["SSEDescription"]
    assert sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyArn"] == key_arn
    assert "SSESpecification" not in table_definition("plain")


def test_from_env_reads_table_and_windows(dynamodb, monkeypatch):
    monkeypatch.setenv("AIWARDEN_STATE_TABLE", TABLE)
    monkeypatch.setenv("AIWARDEN_REPEAT_WINDOW_HOURS", "6")
    monkeypatch.setenv("AIWARDEN_AUDIT_TTL_DAYS", "30")
    monkeypatch.delenv("AIWARDEN_EVENT_TTL_HOURS", raising=False)
    configured = StateStore.from_env(dynamodb)
    assert configured.table_name == TABLE
    assert configured.repeat_window == timedelta(hours=6)
    assert configured.audit_ttl == timedelta(days=30)
    assert configured.event_ttl == timedelta(days=2)
    monkeypatch.delenv("AIWARDEN_STATE_TABLE")
    with pytest.raises(ValueError, match="AIWARDEN_STATE_TABLE"):
        StateStore.from_env(dynamodb)


def test_state_ttl_must_outlast_the_repeat_window(dynamodb):
    with pytest.raises(ValueError, match="repeat window"):
        StateStore(dynamodb, TABLE, repeat_window=timedelta(days=10), state_ttl=timedelta(days=5))


# -- event dedup ---------------------------------------------------------------------------------


def test_first_claim_wins_and_a_redelivery_is_refused(store):
    assert store.claim_event("080c4c0c-393d-49cd-aaec-ddf94250899c") is True
    assert store.claim_event("080c4c0c-393d-49cd-aaec-ddf94250899c") is False
    assert store.claim_event("another-event") is True


def test_claim_item_expires_via_ttl(store, dynamodb):
    store.claim_event("evt-1", now=T0)
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "EVENT#evt-1"}, "sk": {"S": "EVENT"}})["Item"]
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=2)).timestamp())


def test_expired_claim_not_yet_deleted_by_ttl_can_be_claimed_again(store):
    assert store.claim_event("evt-1", now=T0) is True
    assert store.claim_event("evt-1", now=T0 + timedelta(seconds=60)) is False  # within the lease
    store.complete_event("evt-1")
    assert store.claim_event("evt-1", now=T0 + timedelta(days=1)) is False
    assert store.claim_event("evt-1", now=T0 + timedelta(days=2, seconds=1)) is True


def test_released_claim_lets_lambdas_retry_through(store):
    assert store.claim_event("evt-1") is True
    store.release_event("evt-1")
    assert store.claim_event("evt-1") is True


def test_claim_without_event_id_is_refused(store):
    with pytest.raises(ValueError):
        store.claim_event("")


# -- transitions ---------------------------------------------------------------------------------


def test_first_failure_is_new_and_alerts(store, dynamodb):
    t = store.record(finding(Status.FAIL), now=T0)
    assert t.change is Change.NEW_FAILURE
    assert t.alert
    assert t.previous is None
    assert t.first_failed_at == T0
    assert t.resource == "arn:aws:s3:::training-data"
    item = state_item(dynamodb, finding(Status.FAIL))
    assert item is not None
    assert item["status"]["S"] == "FAIL"
    assert item["last_alerted_at"]["S"] == "2025-11-25T09:00:00.000000Z"
    assert int(item["expires_at"]["N"]) > int(T0.timestamp())


def test_fail_again_within_window_is_suppressed(store):
    store.record(finding(Status.FAIL), now=T0)
    t = store.record(finding(Status.FAIL), now=T0 + 23 * HOUR)
    assert t.change is Change.STILL_FAILING
    assert not t.alert
    assert t.previous is Status.FAIL
    assert t.first_failed_at == T0


def test_fail_after_window_reminds_and_restarts_the_window(store):
    store.record(finding(Status.FAIL), now=T0)
    reminder = store.record(finding(Status.FAIL), now=T0 + 25 * HOUR)
    assert reminder.change is Change.REMINDER
    assert reminder.alert
    assert reminder.previous is Status.FAIL
    assert reminder.first_failed_at == T0  # still failing since the first time
    # The window now counts from the reminder, not from the first alert.
    assert store.record(finding(Status.FAIL), now=T0 + 30 * HOUR).change is Change.STILL_FAILING
    assert store.record(finding(Status.FAIL), now=T0 + 50 * HOUR).change is Change.REMINDER


def test_repeat_window_is_configurable(dynamodb):
    short = StateStore(dynamodb, TABLE, repeat_window=2 * HOUR)
    short.record(finding(Status.FAIL), now=T0)
    assert short.record(finding(Status.FAIL), now=T0 + HOUR).change is Change.STILL_FAILING
    assert short.record(finding(Status.FAIL), now=T0 + 3 * HOUR).change is Change.REMINDER


@pytest.mark.parametrize("after", [Status.PASS, Status.EXEMPT, Status.NOT_APPLICABLE])
def test_fail_then_compliant_exempt_or_gone_is_resolved(store, dynamodb, after):
    store.record(finding(Status.FAIL), now=T0)
    t = store.record(finding(after), now=T0 + HOUR)
    assert t.change is Change.RESOLVED
    assert t.alert
    assert t.previous is Status.FAIL
    assert t.first_failed_at == T0
    item = state_item(dynamodb, finding(after))
    assert item is not None
    assert item["status"]["S"] == after.value
    assert "first_failed_at" not in item
    assert "last_alerted_at" not in item


def test_failing_again_after_resolution_is_a_new_failure(store):
    store.record(finding(Status.FAIL), now=T0)
    store.record(finding(Status.PASS), now=T0 + HOUR)
    t = store.record(finding(Status.FAIL), now=T0 + 2 * HOUR)
    assert t.change is Change.NEW_FAILURE
    assert t.previous is Status.PASS
    assert t.first_failed_at == T0 + 2 * HOUR


def test_exempt_to_fail_is_a_new_failure(store):
    store.record(finding(Status.FAIL), now=T0)
    store.record(finding(Status.EXEMPT), now=T0 + HOUR)
    t = store.record(finding(Status.FAIL), now=T0 + 2 * HOUR)
    assert (t.change, t.previous) == (Change.NEW_FAILURE, Status.EXEMPT)


def test_pass_of_a_never_failing_resource_is_unchanged_and_stores_nothing(store, dynamodb):
    t = store.record(finding(Status.PASS), now=T0)
    assert (t.change, t.previous, t.alert) == (Change.UNCHANGED, None, False)
    assert state_item(dynamodb, finding(Status.PASS)) is None


def test_pass_to_pass_and_pass_to_exempt_are_unchanged(store, dynamodb):
    store.record(finding(Status.FAIL), now=T0)
    store.record(finding(Status.PASS), now=T0 + HOUR)
    before = state_item(dynamodb, finding(Status.PASS))
    again = store.record(finding(Status.PASS), now=T0 + 2 * HOUR)
    assert (again.change, again.previous) == (Change.UNCHANGED, Status.PASS)
    assert state_item(dynamodb, finding(Status.PASS)) == before  # a repeat verdict costs no write
    exempt = store.record(finding(Status.EXEMPT), now=T0 + 3 * HOUR)
    assert (exempt.change, exempt.previous) == (Change.UNCHANGED, Status.PASS)


def test_error_keeps_the_stored_status_and_does_not_alert(store, dynamodb):
    store.record(finding(Status.FAIL), now=T0)
    t = store.record(finding(Status.ERROR), now=T0 + 30 * HOUR)
    assert (t.change, t.previous, t.alert) == (Change.ERROR, Status.FAIL, False)
    assert t.first_failed_at == T0
    item = state_item(dynamodb, finding(Status.FAIL))
    assert item is not None
    assert item["status"]["S"] == "FAIL"
    # The error did not use up the reminder: the next FAIL after the window still reminds.
    assert store.record(finding(Status.FAIL), now=T0 + 31 * HOUR).change is Change.REMINDER


def test_error_for_an_unknown_resource_reports_no_previous_status(store):
    t = store.record(finding(Status.ERROR), now=T0)
    assert (t.change, t.previous) == (Change.ERROR, None)


def test_state_is_per_check_and_per_resource(store):
    assert store.record(finding(Status.FAIL), now=T0).change is Change.NEW_FAILURE
    other_check = finding(Status.FAIL, check_id="s3_encryption")
    assert store.record(other_check, now=T0).change is Change.NEW_FAILURE
    other_bucket = finding(Status.FAIL, bucket="model-artifacts")
    assert store.record(other_bucket, now=T0).change is Change.NEW_FAILURE
    assert store.record(finding(Status.FAIL), now=T0 + HOUR).change is Change.STILL_FAILING


def test_resource_without_arn_is_keyed_by_type_region_and_id(store):
    ref = ResourceRef(ACCOUNT_TYPE, ACCOUNT, REGION, ACCOUNT)
    account_finding = replace(finding(Status.FAIL), check_id="iam_root_mfa", ref=ref)
    t = store.record(account_finding, now=T0)
    assert t.resource == f"AWS::::Account/{REGION}/{ACCOUNT}"
    assert store.record(account_finding, now=T0 + HOUR).change is Change.STILL_FAILING


def test_record_many_keeps_order_and_applies_one_resources_verdicts_in_sequence(store):
    batch = [
        finding(Status.FAIL, bucket="a"),
        finding(Status.PASS, bucket="b"),
        finding(Status.FAIL, bucket="c"),
        finding(Status.PASS, bucket="a"),
    ]
    changes = [(t.change, t.resource) for t in store.record_many(batch, now=T0)]
    assert changes == [
        (Change.NEW_FAILURE, "arn:aws:s3:::a"),
        (Change.UNCHANGED, "arn:aws:s3:::b"),
        (Change.NEW_FAILURE, "arn:aws:s3:::c"),
        (Change.RESOLVED, "arn:aws:s3:::a"),
    ]
    assert store.record_many([]) == []


# -- concurrency ---------------------------------------------------------------------------------


class RacingClient:
    """The real client, except that just before this invocation's first UpdateItem reaches
    DynamoDB, ``rival`` runs to completion: the worst interleaving of two invocations that both
    started from the same (empty or old) state."""

    def __init__(self, real: Any, rival: Any) -> None:
        self._real = real
        self._rival = rival

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def update_item(self, **kwargs: Any) -> Any:
        rival, self._rival = self._rival, None
        if rival is not None:
            rival()
        return self._real.update_item(**kwargs)


def test_two_invocations_racing_on_a_new_failure_alert_once(dynamodb):
    other = StateStore(dynamodb, TABLE)
    seen: list[Change] = []
    racing = StateStore(
        RacingClient(dynamodb, lambda: seen.append(other.record(finding(Status.FAIL), now=T0).change)),
        TABLE,
    )
    # Both saw no state: this invocation reads it as empty, then the other one commits first.
    assert state_item(dynamodb, finding(Status.FAIL)) is None
    mine = racing.record(finding(Status.FAIL), now=T0 + timedelta(seconds=1))
    assert seen == [Change.NEW_FAILURE]
    assert mine.change is Change.STILL_FAILING
    assert mine.previous is Status.FAIL


def test_two_invocations_racing_on_a_reminder_remind_once(dynamodb):
    StateStore(dynamodb, TABLE).record(finding(Status.FAIL), now=T0)
    other = StateStore(dynamodb, TABLE)
    seen: list[Change] = []
    later = T0 + 25 * HOUR
    racing = StateStore(
        RacingClient(dynamodb, lambda: seen.append(other.record(finding(Status.FAIL), now=later).change)),
        TABLE,
    )
    assert racing.record(finding(Status.FAIL), now=later).change is Change.STILL_FAILING
    assert seen == [Change.REMINDER]


def test_two_invocations_racing_on_a_resolution_resolve_once(dynamodb):
    StateStore(dynamodb, TABLE).record(finding(Status.FAIL), now=T0)
    other = StateStore(dynamodb, TABLE)
    seen: list[Change] = []
    racing = StateStore(
        RacingClient(dynamodb, lambda: seen.append(other.record(finding(Status.PASS), now=T0 + HOUR).change)),
        TABLE,
    )
    assert racing.record(finding(Status.PASS), now=T0 + HOUR).change is Change.UNCHANGED
    assert seen == [Change.RESOLVED]


# -- undo ----------------------------------------------------------------------------------------


def test_undo_of_a_new_failure_lets_the_retry_alert_again(store, dynamodb):
    t = store.record(finding(Status.FAIL), now=T0)
    assert store.undo(t) is True
    assert state_item(dynamodb, finding(Status.FAIL)) is None
    assert store.record(finding(Status.FAIL), now=T0 + timedelta(minutes=1)).change is Change.NEW_FAILURE


def test_undo_restores_the_previous_item_exactly(store, dynamodb):
    store.record(finding(Status.FAIL), now=T0)
    before = state_item(dynamodb, finding(Status.FAIL))
    reminder = store.record(finding(Status.FAIL), now=T0 + 25 * HOUR)
    assert store.undo(reminder) is True
    assert state_item(dynamodb, finding(Status.FAIL)) == before
    assert store.record(finding(Status.FAIL), now=T0 + 26 * HOUR).change is Change.REMINDER
    resolved = store.record(finding(Status.PASS), now=T0 + 27 * HOUR)
    assert store.undo(resolved) is True
    assert store.record(finding(Status.PASS), now=T0 + 28 * HOUR).change is Change.RESOLVED


def test_undo_never_overwrites_a_later_write(store, dynamodb):
    first = store.record(finding(Status.FAIL), now=T0)
    store.record(finding(Status.PASS), now=T0 + HOUR)
    assert store.undo(first) is False
    item = state_item(dynamodb, finding(Status.PASS))
    assert item is not None
    assert item["status"]["S"] == "PASS"


def test_undo_of_a_transition_that_wrote_nothing_is_a_no_op(store):
    store.record(finding(Status.FAIL), now=T0)
    quiet = store.record(finding(Status.FAIL), now=T0 + HOUR)
    assert store.undo(quiet) is False
    assert store.record(finding(Status.FAIL), now=T0 + 2 * HOUR).change is Change.STILL_FAILING


# -- errors --------------------------------------------------------------------------------------


def test_throttling_beyond_retries_raises_store_error(store, dynamodb):
    with Stubber(dynamodb) as stub:
        stub.add_client_error(
            "update_item",
            service_error_code="ProvisionedThroughputExceededException",
            service_message="The level of configured provisioned throughput for the table was exceeded.",
            http_status_code=400,
        )
        with pytest.raises(StoreError, match="ProvisionedThroughputExceededException"):
            store.record(finding(Status.FAIL), now=T0)
        stub.add_client_error("put_item", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(StoreError, match="ThrottlingException"):
            store.claim_event("evt-1")


def test_condition_failure_carrying_the_item_is_an_answer_not_an_error(store, dynamodb):
    # The real ConditionalCheckFailedException shape, with the ALL_OLD item it returns.
    item = {
        "pk": {"S": "STATE#arn:aws:s3:::training-data"},
        "sk": {"S": "CHECK#s3_public_access"},
        "status": {"S": "FAIL"},
        "first_failed_at": {"S": "2025-11-24T09:00:00.000000Z"},
        "last_alerted_at": {"S": "2025-11-25T08:00:00.000000Z"},
    }
    with Stubber(dynamodb) as stub:
        stub.add_client_error(
            "update_item",
            service_error_code="ConditionalCheckFailedException",
            service_message="The conditional request failed",
            http_status_code=400,
            modeled_fields={"message": "The conditional request failed", "Item": item},
        )
        t = store.record(finding(Status.FAIL), now=T0)
    assert (t.change, t.previous) == (Change.STILL_FAILING, Status.FAIL)
    assert t.first_failed_at == datetime(2025, 11, 24, 9, 0, tzinfo=UTC)


def test_missing_table_raises_store_error(aws):
    store = StateStore(aws.client("dynamodb"), "no-such-table")
    with pytest.raises(StoreError, match="ResourceNotFoundException"):
        store.record(finding(Status.FAIL))
    with pytest.raises(StoreError):
        store.audit_trail("arn:aws:s3:::training-data")


# -- audit ---------------------------------------------------------------------------------------


def entry(at: datetime | str, outcome: str = "remediated", check_id: str = "s3_public_access") -> dict:
    return {
        "check_id": check_id,
        "resource": "arn:aws:s3:::training-data",
        "action": "turn on S3 Block Public Access",
        "mode": "enforce",
        "outcome": outcome,
        "detail": "PutPublicAccessBlock: all four settings on",
        "actor": "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe",
        "event_id": "080c4c0c-393d-49cd-aaec-ddf94250899c",
        "at": at,
    }


def test_audit_trail_reads_back_newest_first_with_every_field(store):
    store.audit(entry(T0 + HOUR, "would-remediate"))
    store.audit(entry((T0 + 3 * HOUR).isoformat(), "failed"))  # the remediation module's format
    store.audit(entry(T0, "remediated"))
    trail = store.audit_trail("arn:aws:s3:::training-data")
    assert [r["outcome"] for r in trail] == ["failed", "would-remediate", "remediated"]
    assert [r["at"] for r in trail] == [
        "2025-11-25T12:00:00.000000Z",
        "2025-11-25T10:00:00.000000Z",
        "2025-11-25T09:00:00.000000Z",
    ]
    newest = trail[0]
    for name in ("check_id", "resource", "action", "mode", "detail", "actor", "event_id"):
        assert newest[name] == entry(T0)[name]
    assert "pk" not in newest
    assert store.audit_trail("arn:aws:s3:::training-data", limit=2) == trail[:2]
    assert store.audit_trail("arn:aws:s3:::other") == []


def test_audit_records_expire_via_ttl_in_the_future(store, dynamodb):
    store.audit(entry(datetime.now(UTC).isoformat()))
    (record,) = store.audit_trail("arn:aws:s3:::training-data")
    now = time.time()
    assert record["expires_at"] > now + 89 * 86400
    assert record["expires_at"] <= now + 90 * 86400 + 5


def test_two_decisions_in_the_same_instant_are_both_kept(store):
    store.audit(entry(T0, "remediated"))
    store.audit(entry(T0, "failed"))
    assert sorted(r["outcome"] for r in store.audit_trail("arn:aws:s3:::training-data")) == [
        "failed",
        "remediated",
    ]


def test_audit_omits_missing_fields_and_requires_the_key_fields(store):
    store.audit({"check_id": "s3_public_access", "resource": "arn:aws:s3:::x", "outcome": "skipped-loop"})
    (record,) = store.audit_trail("arn:aws:s3:::x")
    assert record["outcome"] == "skipped-loop"
    assert "actor" not in record
    with pytest.raises(ValueError):
        store.audit({"check_id": "s3_public_access", "outcome": "failed"})


def test_remediation_attempts_counts_actions_on_that_check_inside_the_window(store):
    store.audit(entry(T0 - 2 * HOUR, "remediated"))  # before the window
    store.audit(entry(T0 + HOUR, "remediated"))
    store.audit(entry(T0 + 2 * HOUR, "failed"))
    store.audit(entry(T0 + 3 * HOUR, "would-remediate"))  # dry-run: touched nothing
    store.audit(entry(T0 + 4 * HOUR, "skipped-rate-limit"))
    store.audit(entry(T0 + 5 * HOUR, "remediated", check_id="s3_encryption"))
    key = "arn:aws:s3:::training-data"
    assert store.remediation_attempts("s3_public_access", key, since=T0) == 2
    assert store.remediation_attempts("s3_public_access", key, since=T0 - 3 * HOUR) == 3
    assert store.remediation_attempts("s3_public_access", key, since=T0 + timedelta(minutes=90)) == 1
    assert store.remediation_attempts("s3_encryption", key, since=T0) == 1
    assert store.remediation_attempts("s3_public_access", "arn:aws:s3:::other", since=T0) == 0
    everything = store.remediation_attempts(
        "s3_public_access", key, since=T0, outcomes={"remediated", "failed", "would-remediate"}
    )
    assert everything == 3


def test_remediation_attempts_follows_query_pages(store, dynamodb):
    # Enough audit records that the Query returns several 1 MB pages: a count must add them up.
    big = "x" * 300_000
    for minute in range(8):
        store.audit({**entry(T0 + timedelta(minutes=minute)), "detail": big})
    pages = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "AUDIT#arn:aws:s3:::training-data"}},
    )
    assert "LastEvaluatedKey" in pages  # the premise: more than one page
    assert store.remediation_attempts("s3_public_access", "arn:aws:s3:::training-data", since=T0) == 8
    assert len(store.audit_trail("arn:aws:s3:::training-data")) == 8


# -- bucket -> AI usage index --------------------------------------------------------------------


def use(bucket: str, name: str, what: str = "") -> IndexedUse:
    return IndexedUse(bucket, "AWS::SageMaker::Model", name, (what,) if what else ())


def test_usage_items_round_trip_in_batches_of_25(store, dynamodb):
    uses = [use("models", f"m{i:02d}", f"SageMaker model m{i:02d} (model artifacts)") for i in range(60)]
    sizes: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params["RequestItems"][TABLE]))

    dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", record)
    assert store.put_usage(ACCOUNT, REGION, [*uses, use("other", "m00")], now=datetime.now(UTC)) == 61
    assert sizes == [25, 25, 11]
    found = store.bucket_usage(ACCOUNT, REGION, "models")
    assert found == sorted(uses, key=lambda u: u.name)
    assert store.bucket_usage(ACCOUNT, REGION, "nobody-uses-this") == []


def test_expired_usage_items_are_left_out_before_dynamodb_deletes_them(store):
    store.put_usage(ACCOUNT, REGION, [use("models", "old")], now=T0)
    store.put_usage(ACCOUNT, REGION, [use("models", "new")], now=T0 + timedelta(days=2))
    later = T0 + store.usage_ttl + HOUR
    assert [u.name for u in store.bucket_usage(ACCOUNT, REGION, "models", now=later)] == ["new"]


def test_the_usage_index_is_fresh_only_within_the_refresh_interval(store):
    assert not store.usage_fresh(ACCOUNT, REGION, now=T0)
    store.mark_usage_built(ACCOUNT, REGION, now=T0)
    assert store.usage_fresh(ACCOUNT, REGION, now=T0 + store.usage_refresh - HOUR)
    assert not store.usage_fresh(ACCOUNT, REGION, now=T0 + store.usage_refresh + HOUR)
    assert not store.usage_fresh(ACCOUNT, "eu-west-1", now=T0)  # one marker per account and region
    store.forget_usage_built(ACCOUNT, REGION)
    assert not store.usage_fresh(ACCOUNT, REGION, now=T0)


def test_unprocessed_usage_items_are_retried_then_raise(store, dynamodb, monkeypatch):
    monkeypatch.setattr("aiwarden.store.time.sleep", lambda _: None)
    item = {"PutRequest": {"Item": {"pk": {"S": "USES#x"}, "sk": {"S": "AWS::SageMaker::Model#m"}}}}
    with Stubber(dynamodb) as stub:
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [item]}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        store.put_usage(ACCOUNT, REGION, [use("models", "m")], now=T0)
        for _ in range(5):
            stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [item]}})
        with pytest.raises(StoreError, match="left unprocessed"):
            store.put_usage(ACCOUNT, REGION, [use("models", "m")], now=T0)


def test_a_usage_item_this_code_did_not_write_is_an_error(store, dynamodb):
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"USES#{ACCOUNT}#{REGION}#models"},
            "sk": {"S": "garbage"},
            "expires_at": {"N": "1"},
        },
    )
    with pytest.raises(StoreError, match="malformed usage item"):
        store.bucket_usage(ACCOUNT, REGION, "models", now=T0)


def test_usage_items_must_outlive_the_refresh_interval(dynamodb):
    with pytest.raises(ValueError, match="usage_ttl"):
        StateStore(dynamodb, TABLE, usage_refresh=timedelta(days=3), usage_ttl=timedelta(days=1))


# -- upstream resource -> SageMaker endpoints (lineage) index -------------------------------------


def serves(name: str, endpoint: str, kind: str = "bucket", chain: str = "c0ffee") -> ServedBy:
    return ServedBy(kind, name, endpoint, chain)


def test_lineage_items_round_trip_in_batches_of_25(store, dynamodb):
    items = [serves("models", f"e{i:02d}") for i in range(60)]
    sizes: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params["RequestItems"][TABLE]))

    dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", record)
    others = [serves("models", "e00", kind="role"), serves("other", "e00")]
    assert store.put_served_by(ACCOUNT, REGION, [*items, *others, items[0]], now=datetime.now(UTC)) == 62
    assert sizes == [25, 25, 12]
    assert store.served_by(ACCOUNT, REGION, "bucket", "models") == items
    assert store.served_by(ACCOUNT, REGION, "role", "models") == [serves("models", "e00", kind="role")]
    assert store.served_by(ACCOUNT, REGION, "bucket", "nobody-serves-this") == []
    assert store.served_by(ACCOUNT, "eu-west-1", "bucket", "models") == []
    # Kept apart from the usage index of the same bucket.
    assert store.bucket_usage(ACCOUNT, REGION, "models") == []


def test_expired_lineage_items_are_left_out_before_dynamodb_deletes_them(store):
    store.put_served_by(ACCOUNT, REGION, [serves("models", "old")], now=T0)
    store.put_served_by(ACCOUNT, REGION, [serves("models", "new")], now=T0 + timedelta(days=2))
    later = T0 + store.lineage_ttl + HOUR
    assert [s.endpoint for s in store.served_by(ACCOUNT, REGION, "bucket", "models", now=later)] == ["new"]


def test_the_lineage_index_is_fresh_only_within_the_refresh_interval(store):
    assert not store.lineage_fresh(ACCOUNT, REGION, now=T0)
    store.mark_lineage_built(ACCOUNT, REGION, now=T0)
    assert store.lineage_fresh(ACCOUNT, REGION, now=T0 + store.lineage_refresh - HOUR)
    assert not store.lineage_fresh(ACCOUNT, REGION, now=T0 + store.lineage_refresh + HOUR)
    assert not store.lineage_fresh(ACCOUNT, "eu-west-1", now=T0)  # one marker per account and region
    assert not store.usage_fresh(ACCOUNT, REGION, now=T0)  # and one per index
    store.forget_lineage_built(ACCOUNT, REGION)
    assert not store.lineage_fresh(ACCOUNT, REGION, now=T0)


def test_unprocessed_lineage_items_are_retried_then_raise(store, dynamodb, monkeypatch):
    monkeypatch.setattr("aiwarden.store.time.sleep", lambda _: None)
    item = {"PutRequest": {"Item": {"pk": {"S": "SERVES#x"}, "sk": {"S": "e"}}}}
    with Stubber(dynamodb) as stub:
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [item]}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        store.put_served_by(ACCOUNT, REGION, [serves("models", "e")], now=T0)
        for _ in range(5):
            stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [item]}})
        with pytest.raises(StoreError, match=r"1 lineage item\(s\) left unprocessed"):
            store.put_served_by(ACCOUNT, REGION, [serves("models", "e")], now=T0)


@pytest.mark.parametrize(
    "item",
    [
        {"sk": {"S": "e"}},  # no expiry
        {"sk": {"S": "e"}, "expires_at": {"S": "tomorrow"}},
        {"sk": {"S": "e"}, "expires_at": {"N": "9999999999"}, "chain": {"N": "1"}},
    ],
)
def test_a_lineage_item_this_code_did_not_write_is_an_error(store, dynamodb, item):
    pk = {"S": f"SERVES#{ACCOUNT}#{REGION}#bucket#models"}
    dynamodb.put_item(TableName=TABLE, Item={"pk": pk, **item})
    with pytest.raises(StoreError, match="malformed lineage item"):
        store.served_by(ACCOUNT, REGION, "bucket", "models", now=T0)


def test_lineage_items_must_outlive_the_refresh_interval(dynamodb):
    with pytest.raises(ValueError, match="lineage_ttl"):
        StateStore(dynamodb, TABLE, lineage_refresh=timedelta(days=3), lineage_ttl=timedelta(days=1))
