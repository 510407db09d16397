"""aiwarden.resources.tagging: tags of many resources per call, without losing an exemption."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aiwarden import engine
from aiwarden.clients import Clients
from aiwarden.model import EXEMPT_TAG, Resource, ResourceRef, Status
from aiwarden.registry import select
from aiwarden.resources import tagging
from aiwarden.resources.ecr import REPOSITORY
from tests.conftest import ACCOUNT, REGION

KMS_DEFAULT = "s3_bucket_default_encryption_kms"
MODEL_IN_VPC = "sagemaker_model_in_vpc"
KEY_ROTATION = "kms_key_rotation_enabled"
EXEMPT = [{"Key": EXEMPT_TAG, "Value": "true"}]


def count(clients: Clients, service: str) -> Counter[str]:
    calls: Counter[str] = Counter()
    clients.client(service).meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


@pytest.fixture
def buckets(aws: Clients) -> list[str]:
    """Three buckets without SSE-KMS (all fail the KMS check); the second is exempt."""
    s3 = aws.client("s3")
    names = ["aiw-bulk-a", "aiw-bulk-b", "aiw-bulk-c"]
    for name in names:
        s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=names[1], Tagging={"TagSet": EXEMPT})
    return names


def statuses(findings: list[Any]) -> dict[str, Status]:
    return {f.ref.resource_id: f.status for f in findings}


def test_scan_reads_every_bucket_tag_in_one_call_and_honours_the_exemption(aws, buckets):
    s3_calls, tag_calls = count(aws, "s3"), count(aws, "resourcegroupstaggingapi")

    findings = engine.scan(aws, select([KMS_DEFAULT]))

    assert statuses(findings) == {
        "aiw-bulk-a": Status.FAIL,
        "aiw-bulk-b": Status.EXEMPT,
        "aiw-bulk-c": Status.FAIL,
    }
    assert tag_calls == {"GetResources": 1}
    assert "GetBucketTagging" not in s3_calls


def test_a_refused_bulk_read_falls_back_to_per_resource_reads(aws, buckets, caplog):
    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetResources")

    api = aws.client("resourcegroupstaggingapi")
    api.meta.events.register("before-call.resource-groups-tagging-api.GetResources", refuse)
    s3_calls = count(aws, "s3")
    try:
        with caplog.at_level(logging.WARNING):
            findings = engine.scan(aws, select([KMS_DEFAULT]))
    finally:
        api.meta.events.unregister("before-call.resource-groups-tagging-api.GetResources", refuse)

    assert statuses(findings)["aiw-bulk-b"] is Status.EXEMPT  # still honoured
    assert s3_calls["GetBucketTagging"] == 3  # each failing bucket read on its own
    assert caplog.text.count("reading their tags one by one") == 1  # once per batch, not per bucket


def test_an_event_on_one_bucket_reads_its_tags_itself(aws, buckets):
    from aiwarden.events import Target
    from aiwarden.model import ResourceRef
    from aiwarden.resources.s3 import BUCKET

    tag_calls, s3_calls = count(aws, "resourcegroupstaggingapi"), count(aws, "s3")
    ref = ResourceRef(BUCKET, "aiw-bulk-b", REGION, ACCOUNT)

    (finding,) = engine.evaluate([Target(BUCKET, frozenset({KMS_DEFAULT}), ref)], aws)

    assert finding.status is Status.EXEMPT
    assert not tag_calls  # the freshest read, and no worse than one call
    assert s3_calls["GetBucketTagging"] == 1


def test_announced_arns_are_read_in_batches_of_one_hundred(aws, monkeypatch):
    batches: list[tuple[str, int]] = []

    def fake(clients: Clients, region: str, batch: tuple[str, ...]) -> dict[str, dict[str, str]]:
        batches.append((region, len(batch)))
        return {tagging._key(arn): {"n": arn.rsplit("/", 1)[-1]} for arn in batch}

    monkeypatch.setattr(tagging, "_get_resources", fake)
    arns = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m{i}" for i in range(250)]
    tagging.announce(aws, REGION, arns + arns[:10])  # announced twice: still one batch each

    assert tagging.tags(aws, arns[0], dict) == {"n": "m0"}
    assert tagging.tags(aws, arns[0].upper().replace("ARN:AWS", "arn:aws"), dict) == {"n": "m0"}
    assert tagging.tags(aws, arns[249], dict) == {"n": "m249"}
    assert batches == [(REGION, 100), (REGION, 50)]  # read on demand, once each
    assert tagging.tags(aws, "arn:aws:s3:::never-announced", lambda: {"own": "read"}) == {"own": "read"}


def test_a_resource_missing_from_the_answer_has_no_tags(aws, buckets):
    # GetResources leaves out resources without tags: announced but absent means untagged.
    refs_arns = [f"arn:aws:s3:::{name}" for name in buckets]
    tagging.announce(aws, REGION, refs_arns)

    assert tagging.tags(aws, refs_arns[0], lambda: pytest.fail("read alone")) == {}
    assert tagging.tags(aws, refs_arns[1], lambda: pytest.fail("read alone")) == {EXEMPT_TAG: "true"}


def test_sagemaker_model_exemption_comes_from_the_bulk_read(aws):
    sm = aws.client("sagemaker")
    role = f"arn:aws:iam::{ACCOUNT}:role/aiw-sm"
    for name, tags in (("aiw-m1", EXEMPT), ("aiw-m2", [])):
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=role,
            PrimaryContainer={"Image": "123.dkr.ecr.us-east-1.amazonaws.com/x:1"},
            **({"Tags": tags} if tags else {}),
        )
    sm_calls, tag_calls = count(aws, "sagemaker"), count(aws, "resourcegroupstaggingapi")

    findings = engine.scan(aws, select([MODEL_IN_VPC]))  # neither model runs in a VPC

    assert statuses(findings) == {"aiw-m1": Status.EXEMPT, "aiw-m2": Status.FAIL}
    assert "ListTags" not in sm_calls
    assert tag_calls == {"GetResources": 1}


def test_kms_key_tags_are_read_only_when_needed_and_in_bulk(aws):
    kms = aws.client("kms")
    exempt = kms.create_key(Tags=[{"TagKey": EXEMPT_TAG, "TagValue": "true"}])["KeyMetadata"]["KeyId"]
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    kms_calls, tag_calls = count(aws, "kms"), count(aws, "resourcegroupstaggingapi")

    findings = engine.scan(aws, select([KEY_ROTATION]))

    assert statuses(findings) == {exempt: Status.EXEMPT, plain: Status.FAIL}
    assert "ListResourceTags" not in kms_calls
    assert tag_calls == {"GetResources": 1}


def test_checks_asking_for_a_resources_tags_at_once_make_one_tag_call() -> None:
    """A scan runs a resource's checks in parallel threads; the lazy tag read must still happen
    once (a race here cost ECR repositories a second ListTagsForResource now and then)."""
    reads: list[int] = []
    lock = threading.Lock()

    def slow_tag_call() -> dict[str, str]:
        with lock:
            reads.append(1)
        time.sleep(0.05)
        return {EXEMPT_TAG: "true"}

    resource = Resource(ResourceRef(REPOSITORY, "repo", REGION, ACCOUNT), {}, tags=slow_tag_call)
    with ThreadPoolExecutor(max_workers=8) as pool:
        exempt = list(pool.map(lambda _: resource.exempt, range(8)))
    assert exempt == [True] * 8
    assert len(reads) == 1
