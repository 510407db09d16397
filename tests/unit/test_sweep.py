"""The fanned-out sweep: plan (list only), queue, evaluate work items with partial-batch replies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aiwarden import sweep
from aiwarden.engine import Runtime
from aiwarden.registry import select
from tests.conftest import ACCOUNT, REGION

KMS = "s3_bucket_default_encryption_kms"
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


@pytest.fixture
def buckets(aws: Any) -> list[str]:
    s3 = aws.client("s3")
    names = [f"sweep-bucket-{i:02d}" for i in range(7)]
    for name in names:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=SSE_S3)
    return names


def queue(aws: Any) -> str:
    return str(aws.client("sqs").create_queue(QueueName="aiwarden-sweep")["QueueUrl"])


def records(aws: Any, url: str) -> list[dict[str, Any]]:
    out = []
    while True:
        messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append({"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"})
            aws.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_plan_lists_without_describing_and_batches_per_type(aws, buckets):
    described: list[str] = []
    aws.client("s3").meta.events.register(
        "before-call.s3.GetBucketTagging", lambda **_: described.append("x")
    )
    planned = sweep.plan(aws, select([KMS]), batch=3)
    assert planned.resources == 7
    assert [len(item["resources"]) for item in planned.items] == [3, 3, 1]
    assert {item["resource_type"] for item in planned.items} == {"AWS::S3::Bucket"}
    assert described == []  # listing only: the workers describe


def test_queued_work_items_are_evaluated_by_the_worker(aws, buckets, monkeypatch):
    url = queue(aws)
    planned = sweep.plan(aws, select([KMS]), batch=3)
    assert sweep.enqueue(aws.client("sqs"), url, planned.items) == 3
    evaluated: list[int] = []
    from aiwarden import engine

    original = engine.settle

    def counting(invocation: Any, runtime: Any, *args: Any) -> Any:
        out = original(invocation, runtime, aws)
        evaluated.append(out["statuses"].get("FAIL", 0))
        return out

    monkeypatch.setattr(engine, "settle", counting)
    reply = sweep.handle_batch({"Records": records(aws, url)}, Runtime(alert_topic_arn=None, region=REGION))
    assert reply == {"batchItemFailures": []}
    assert sum(evaluated) >= 7  # every bucket evaluated, each failing the KMS check


def test_bad_or_failing_items_are_reported_for_retry_alone(aws, buckets, monkeypatch):
    good = sweep.plan(aws, select([KMS]), batch=10).items[0]
    batch = {
        "Records": [
            {"messageId": "ok", "body": json.dumps(good)},
            {"messageId": "not-json", "body": "{"},
            {"messageId": "not-ours", "body": json.dumps({"kind": "something-else"})},
        ]
    }
    from aiwarden import engine

    monkeypatch.setattr(engine, "settle", lambda invocation, runtime, *a: {"evaluated": 1})
    reply = sweep.handle_batch(batch, Runtime(alert_topic_arn=None, region=REGION))
    assert reply == {"batchItemFailures": [{"itemIdentifier": "not-json"}, {"itemIdentifier": "not-ours"}]}

    def broken(invocation: Any, runtime: Any, *a: Any) -> Any:
        raise RuntimeError("throttled for good")

    monkeypatch.setattr(engine, "settle", broken)
    reply = sweep.handle_batch(
        {"Records": batch["Records"][:1]}, Runtime(alert_topic_arn=None, region=REGION)
    )
    assert reply == {"batchItemFailures": [{"itemIdentifier": "ok"}]}


def test_schedule_handler_queues_the_plan(aws, buckets):
    url = queue(aws)
    out = sweep.handle_schedule({"account": ACCOUNT}, Runtime(alert_topic_arn=None, region=REGION), url)
    assert out["resources"] >= 7 and out["work_items"] >= 1
    bodies = [json.loads(r["body"]) for r in records(aws, url)]
    assert all(b["kind"] == sweep.KIND and b["account"] == ACCOUNT for b in bodies)
