"""The lineage index in the state table (aiwarden.lineage): an upstream event (a bucket, role,
policy, repository, endpoint configuration or model) resolves only the endpoints the index names
for it, not every endpoint of the region, and gives the same findings as the full computation,
whatever state the index is in (moto)."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aiwarden import engine, lineage
from aiwarden.clients import Clients
from aiwarden.model import ResourceRef, Status
from aiwarden.resources.ecr import REPOSITORY
from aiwarden.resources.iam import ROLE
from aiwarden.resources.s3 import BUCKET
from aiwarden.resources.sagemaker import ENDPOINT_CONFIG, MODEL
from aiwarden.store import ServedBy, StateStore, StoreError
from tests.conftest import ACCOUNT, REGION, load_event
from tests.unit.checks.test_sagemaker_lineage import (
    BUCKET_NAME,
    ENDPOINT_NAME,
    IMAGE,
    MODEL_NAME,
    REPO,
    ROLE_ARN,
    ROLE_NAME,
    cloudtrail_event,
    deploy,
    make_bucket,
)
from tests.unit.helpers import STATE_TABLE, Calls, operations

TABLE = STATE_TABLE
CHAIN = "sagemaker_endpoint_serving_chain_compliant"
OTHER_BUCKET = "aiw-models-other"
OTHER_ROLE = "aiw-sagemaker-other"
OTHER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{OTHER_ROLE}"
UNRELATED = 6  # endpoints serving from OTHER_BUCKET as OTHER_ROLE
ENDPOINT_CALLS = ("ListEndpoints", "DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel")
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
EVERYTHING = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def named(made: list[tuple[str, dict[str, Any]]], operation: str, param: str) -> set[str]:
    return {params[param] for name, params in made if name == operation}


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIWARDEN_DISABLED_CHECKS", raising=False)


def make_role(aws: Clients, name: str, path: str = "/") -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read-models",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::aiw-*/*"}
                ],
            }
        ),
    )


def serve_other(aws: Clients, endpoint: str) -> None:
    deploy(
        aws,
        endpoint,
        endpoint,
        containers=[{"Image": IMAGE, "ModelDataUrl": f"s3://{OTHER_BUCKET}/{endpoint}/model.tar.gz"}],
        role_arn=OTHER_ROLE_ARN,
    )


@pytest.fixture
def estate(aws: Clients, calls: Calls) -> Clients:
    """fraud-v3 served from BUCKET_NAME (what events/cloudtrail/s3_delete_bucket_encryption.json
    names) as ROLE_NAME, and a handful of endpoints serving from another bucket as another role."""
    make_bucket(aws, BUCKET_NAME)
    make_bucket(aws, OTHER_BUCKET)
    make_role(aws, ROLE_NAME, "/service-role/")
    make_role(aws, OTHER_ROLE)
    aws.client("ecr").create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    deploy(aws, ENDPOINT_NAME, MODEL_NAME)
    for i in range(UNRELATED):
        serve_other(aws, f"other-{i:02d}")
    calls.take()
    return aws


Verdicts = list[tuple[str, str, Status, str]]


def verdicts(event: dict[str, Any], store: StateStore | None) -> Verdicts:
    """Evaluate an event as the handler does (normalise, expand lineage, every enabled check), in a
    fresh invocation, with or without the state table."""
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    result = engine.process(event, lambda invocation: clients)
    return sorted((f.check_id, str(f.ref), f.status, f.reason) for f in result.findings)


def chain(found: Verdicts) -> list[tuple[str, Status]]:
    return [(ref, status) for check_id, ref, status, _ in found if check_id == CHAIN]


def bucket_event() -> dict[str, Any]:
    return load_event("cloudtrail/s3_delete_bucket_encryption.json")


def role_event() -> dict[str, Any]:
    """No captured IAM role-policy event in events/: the captured envelope re-pointed."""
    return cloudtrail_event("iam", "PutRolePolicy", roleName=ROLE_NAME, policyName="everything")


def create_endpoint_event(endpoint: str) -> dict[str, Any]:
    """The captured CreateEndpointConfig envelope re-pointed at CreateEndpoint."""
    event = copy.deepcopy(load_event("cloudtrail/sagemaker_create_endpoint_config.json"))
    event["id"] = event["detail"]["eventID"] = f"create-{endpoint}"
    event["detail"]["eventName"] = "CreateEndpoint"
    event["detail"]["requestParameters"] = {
        "endpointName": endpoint,
        "endpointConfigName": f"{endpoint}-config",
    }
    event["detail"]["responseElements"] = {
        "endpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}"
    }
    return event


def served_by(aws: Clients, kind: str, name: str) -> set[str]:
    items = aws.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"SERVES#{ACCOUNT}#{REGION}#{kind}#{name}"}},
    )["Items"]
    return {item["sk"]["S"] for item in items}


def marker(aws: Clients) -> dict[str, Any] | None:
    key = {"pk": {"S": f"SERVES#{ACCOUNT}#{REGION}"}, "sk": {"S": "BUILT"}}
    item: dict[str, Any] | None = aws.client("dynamodb").get_item(TableName=TABLE, Key=key).get("Item")
    return item


def build(store: StateStore) -> None:
    """An upstream event without a marker: resolves every endpoint, and builds the index."""
    verdicts(cloudtrail_event("s3", "PutBucketEncryption", bucketName="aiw-unrelated"), store)


# --- a fresh index -------------------------------------------------------------------------------


def test_a_bucket_event_resolves_only_the_endpoints_serving_from_the_bucket(estate, store, calls):
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)
    baseline = verdicts(bucket_event(), None)
    full = calls.take()
    build(store)
    calls.take()

    indexed = verdicts(bucket_event(), store)
    made = calls.take()

    assert indexed == baseline
    assert chain(indexed) == [(f"AWS::SageMaker::Endpoint/{ENDPOINT_NAME}", Status.FAIL)]
    (reason,) = [r for check_id, _, _, r in indexed if check_id == CHAIN]
    assert reason.startswith(
        f"endpoint {ENDPOINT_NAME} serves model {MODEL_NAME} whose artifacts are in bucket {BUCKET_NAME}, "
        "which fails s3_bucket_default_encryption_kms"
    )
    ops = operations(made)
    assert ops["ListEndpoints"] == 0
    assert named(made, "DescribeEndpoint", "EndpointName") == {ENDPOINT_NAME}
    assert named(made, "DescribeEndpointConfig", "EndpointConfigName") == {f"{ENDPOINT_NAME}-config"}
    assert named(made, "DescribeModel", "ModelName") == {MODEL_NAME}
    assert ops["BatchWriteItem"] == ops["PutItem"] == 0  # a fresh index is only read
    # Without the index: one listing and a chain per endpoint of the region.
    before = operations(full)
    assert before["ListEndpoints"] == 1
    assert before["DescribeEndpoint"] == UNRELATED + 1
    assert sum(before[op] for op in ENDPOINT_CALLS) == 1 + 3 * (UNRELATED + 1)
    assert sum(ops[op] for op in ENDPOINT_CALLS) == 3


def test_a_role_event_resolves_only_the_endpoints_running_as_the_role(estate, store, calls):
    estate.client("iam").put_role_policy(
        RoleName=ROLE_NAME, PolicyName="everything", PolicyDocument=EVERYTHING
    )
    baseline = verdicts(role_event(), None)
    build(store)
    calls.take()

    indexed = verdicts(role_event(), store)
    made = calls.take()

    assert indexed == baseline
    assert chain(indexed) == [(f"AWS::SageMaker::Endpoint/{ENDPOINT_NAME}", Status.FAIL)]
    assert "which runs as role aiw-sagemaker, which fails" in next(r for c, *_, r in indexed if c == CHAIN)
    assert operations(made)["ListEndpoints"] == 0
    assert named(made, "DescribeEndpoint", "EndpointName") == {ENDPOINT_NAME}


def test_a_policy_event_asks_the_index_for_each_role_of_the_policy(estate, store, calls):
    iam = estate.client("iam")
    scoped = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    arn = iam.create_policy(PolicyName="aiw-serving", PolicyDocument=scoped)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=EVERYTHING, SetAsDefault=True)
    event = cloudtrail_event("iam", "CreatePolicyVersion", policyArn=arn, setAsDefault=True)
    baseline = verdicts(event, None)
    build(store)
    calls.take()

    indexed = verdicts(event, store)
    made = calls.take()

    assert indexed == baseline
    assert chain(indexed) == [(f"AWS::SageMaker::Endpoint/{ENDPOINT_NAME}", Status.FAIL)]
    assert operations(made)["ListEndpoints"] == 0


def test_every_finder_gives_from_the_index_what_it_gives_in_full(estate, store):
    make_bucket(estate, "aiw-unused")
    build(store)
    refs = [
        ResourceRef(BUCKET, BUCKET_NAME, REGION, ACCOUNT),
        ResourceRef(BUCKET, OTHER_BUCKET, REGION, ACCOUNT),
        ResourceRef(BUCKET, "aiw-unused", REGION, ACCOUNT),
        ResourceRef(ROLE, ROLE_NAME, "global", ACCOUNT, ROLE_ARN),
        ResourceRef(ROLE, OTHER_ROLE, "global", ACCOUNT),
        ResourceRef(ROLE, OTHER_ROLE, "global", "210987654321"),  # same name, another account
        ResourceRef(REPOSITORY, REPO, REGION, ACCOUNT),
        ResourceRef(REPOSITORY, REPO, "eu-west-1", ACCOUNT),  # same name, another region
        ResourceRef(ENDPOINT_CONFIG, f"{ENDPOINT_NAME}-config", REGION, ACCOUNT),
        ResourceRef(ENDPOINT_CONFIG, "other-03-config", REGION, ACCOUNT),
        ResourceRef(MODEL, MODEL_NAME, REGION, ACCOUNT),
        ResourceRef(MODEL, "other-01", REGION, ACCOUNT),
        ResourceRef(MODEL, "never-created", REGION, ACCOUNT),
    ]
    for ref in refs:
        finder = lineage.FINDERS[ref.type.cfn_type]
        full = Clients(REGION, account_id=ACCOUNT)
        indexed = Clients(REGION, account_id=ACCOUNT, state=store)
        expected = sorted(r.resource_id for r in finder(full, ref))
        assert sorted(r.resource_id for r in finder(indexed, ref)) == expected, ref
        assert not indexed.known(("lineage", "endpoints", REGION)), ref  # answered from the index
    assert served_by(estate, "repository", REPO) == {
        ENDPOINT_NAME,
        *(f"other-{i:02d}" for i in range(UNRELATED)),
    }


def test_one_invocation_asks_the_index_once_per_resource(estate, store, calls):
    build(store)
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    bucket = ResourceRef(BUCKET, BUCKET_NAME, REGION, ACCOUNT)
    calls.take()
    for _ in range(3):
        assert [r.resource_id for r in lineage.endpoints_using_bucket(clients, bucket)] == [ENDPOINT_NAME]
    ops = operations(calls.take())
    assert (ops["GetItem"], ops["Query"], ops["DescribeEndpoint"]) == (1, 1, 1)


# --- building and refreshing ---------------------------------------------------------------------


def test_without_a_marker_the_event_resolves_everything_and_builds_the_index(estate, store, calls):
    baseline = verdicts(bucket_event(), None)
    calls.take()

    assert verdicts(bucket_event(), store) == baseline
    ops = operations(calls.take())

    assert ops["ListEndpoints"] == 1 and ops["DescribeEndpoint"] == UNRELATED + 1
    others = {f"other-{i:02d}" for i in range(UNRELATED)}
    assert served_by(estate, "bucket", BUCKET_NAME) == {ENDPOINT_NAME}
    assert served_by(estate, "bucket", OTHER_BUCKET) == others
    assert served_by(estate, "role", ROLE_NAME) == {ENDPOINT_NAME}
    assert served_by(estate, "role", OTHER_ROLE) == others
    assert served_by(estate, "repository", REPO) == others | {ENDPOINT_NAME}
    assert served_by(estate, "config", f"{ENDPOINT_NAME}-config") == {ENDPOINT_NAME}
    assert served_by(estate, "model", MODEL_NAME) == {ENDPOINT_NAME}
    built = marker(estate)
    assert built is not None
    assert int(built["expires_at"]["N"]) > datetime.now(UTC).timestamp() + timedelta(days=2).total_seconds()


def test_a_stale_marker_means_a_full_computation_and_a_rebuild(estate, store, calls):
    stale = datetime.now(UTC) - store.lineage_refresh - timedelta(minutes=5)
    store.mark_lineage_built(ACCOUNT, REGION, now=stale)
    # What the stale index says about the bucket is ignored: every endpoint is resolved.
    store.put_served_by(ACCOUNT, REGION, [ServedBy("bucket", BUCKET_NAME, "other-00")], now=stale)
    baseline = verdicts(bucket_event(), None)
    calls.take()

    assert verdicts(bucket_event(), store) == baseline
    assert operations(calls.take())["ListEndpoints"] == 1
    built = marker(estate)
    assert built is not None and built["built_at"]["S"] > stale.strftime("%Y-%m-%dT%H:%M:%S")
    assert ENDPOINT_NAME in served_by(estate, "bucket", BUCKET_NAME)


# --- new, changed and deleted endpoints ----------------------------------------------------------


def test_a_create_endpoint_event_adds_the_new_endpoint_to_the_index(estate, store, calls):
    build(store)
    built = marker(estate)
    deploy(estate, "churn-v1", "churn-v1")  # serves from BUCKET_NAME too
    # No CreateModel event told the bucket -> AI usage index about the new model: not this test's.
    store.forget_usage_built(ACCOUNT, REGION)
    calls.take()

    verdicts(create_endpoint_event("churn-v1"), store)
    assert operations(calls.take())["BatchWriteItem"] == 1
    assert served_by(estate, "bucket", BUCKET_NAME) == {ENDPOINT_NAME, "churn-v1"}
    assert served_by(estate, "model", "churn-v1") == {"churn-v1"}
    assert served_by(estate, "config", "churn-v1-config") == {"churn-v1"}

    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)
    indexed = verdicts(bucket_event(), store)
    made = calls.take()
    assert indexed == verdicts(bucket_event(), None)
    assert operations(made)["ListEndpoints"] == 0
    assert named(made, "DescribeEndpoint", "EndpointName") == {ENDPOINT_NAME, "churn-v1"}
    assert chain(indexed) == [
        ("AWS::SageMaker::Endpoint/churn-v1", Status.FAIL),
        (f"AWS::SageMaker::Endpoint/{ENDPOINT_NAME}", Status.FAIL),
    ]
    assert marker(estate) == built  # found without a rebuild


def test_an_endpoint_deleted_after_indexing_produces_no_finding(estate, store, calls):
    build(store)
    estate.client("sagemaker").delete_endpoint(EndpointName=ENDPOINT_NAME)
    calls.take()

    indexed = verdicts(bucket_event(), store)
    made = calls.take()

    assert indexed == verdicts(bucket_event(), None)
    assert chain(indexed) == []
    assert operations(made)["ListEndpoints"] == 0
    assert named(made, "DescribeEndpoint", "EndpointName") == {ENDPOINT_NAME}


def test_an_endpoint_that_no_longer_serves_from_the_bucket_drops_out_and_is_reindexed(estate, store, calls):
    build(store)
    sagemaker = estate.client("sagemaker")
    # Redeployed from the other bucket, and no event told the index.
    sagemaker.delete_endpoint(EndpointName=ENDPOINT_NAME)
    sagemaker.delete_endpoint_config(EndpointConfigName=f"{ENDPOINT_NAME}-config")
    sagemaker.delete_model(ModelName=MODEL_NAME)
    serve_other(estate, ENDPOINT_NAME)
    calls.take()

    indexed = verdicts(bucket_event(), store)
    made = calls.take()

    assert indexed == verdicts(bucket_event(), None)
    assert chain(indexed) == []
    assert operations(made)["ListEndpoints"] == 0
    # Its chain no longer matches its items: what it serves through now is written.
    assert operations(made)["BatchWriteItem"] == 1
    assert ENDPOINT_NAME in served_by(estate, "bucket", OTHER_BUCKET)
    assert ENDPOINT_NAME in served_by(estate, "role", OTHER_ROLE)


# --- trouble with the index means the full computation ------------------------------------------


def test_a_missing_table_falls_back_with_the_same_findings(estate, calls, caplog):
    baseline = verdicts(bucket_event(), None)
    calls.take()
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        assert verdicts(bucket_event(), StateStore(estate.client("dynamodb"), "no-such-table")) == baseline
    ops = operations(calls.take())
    assert ops["ListEndpoints"] == 1
    assert ops["BatchWriteItem"] == 0  # broken: no attempt to write
    assert "could not read the lineage index" in caplog.text


@pytest.mark.parametrize("failing", ["lineage_fresh", "served_by", "put_served_by", "mark_lineage_built"])
def test_index_errors_fall_back_with_the_same_findings(estate, store, monkeypatch, failing, caplog):
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)
    baseline = verdicts(bucket_event(), None)
    if failing in ("lineage_fresh", "served_by"):
        build(store)  # a fresh index that then cannot be read

    def refuse(*_: Any, **__: Any) -> None:
        raise StoreError(f"{failing}: ProvisionedThroughputExceededException: slow down")

    monkeypatch.setattr(store, failing, refuse)
    before = marker(estate)
    with caplog.at_level(logging.WARNING, logger="aiwarden.lineage"):
        indexed = verdicts(bucket_event(), store)
    assert indexed == baseline
    assert chain(indexed) == [(f"AWS::SageMaker::Endpoint/{ENDPOINT_NAME}", Status.FAIL)]
    assert "ProvisionedThroughputExceededException" in caplog.text
    assert marker(estate) == before  # never vouch for a partial index


@pytest.mark.parametrize(
    "item",
    [
        {"sk": {"S": "not an endpoint!"}, "expires_at": {"N": "9999999999"}},
        {"sk": {"S": "other-00"}},  # no expiry
        {"sk": {"S": "other-00"}, "expires_at": {"N": "9999999999"}, "chain": {"N": "1"}},
    ],
)
def test_a_malformed_item_falls_back_with_the_same_findings(estate, store, item, caplog):
    baseline = verdicts(bucket_event(), None)
    build(store)
    pk = {"S": f"SERVES#{ACCOUNT}#{REGION}#bucket#{BUCKET_NAME}"}
    estate.client("dynamodb").put_item(TableName=TABLE, Item={"pk": pk, **item})
    with caplog.at_level(logging.WARNING, logger="aiwarden.lineage"):
        assert verdicts(bucket_event(), store) == baseline
    assert "could not read the lineage index" in caplog.text


def test_a_failed_new_endpoint_write_drops_the_marker(estate, store, monkeypatch, caplog):
    build(store)
    deploy(estate, "churn-v1", "churn-v1")
    baseline = verdicts(create_endpoint_event("churn-v1"), None)

    def refuse(*_: Any, **__: Any) -> None:
        raise StoreError("batch_write_item: AccessDeniedException: no")

    monkeypatch.setattr(store, "put_served_by", refuse)
    with caplog.at_level(logging.WARNING, logger="aiwarden.lineage"):
        assert verdicts(create_endpoint_event("churn-v1"), store) == baseline
    assert "could not add AWS::SageMaker::Endpoint/churn-v1 to the lineage index" in caplog.text
    assert marker(estate) is None  # incomplete now: the next upstream event rebuilds


def test_a_new_endpoint_is_written_even_when_the_marker_could_not_be_read(estate, store, monkeypatch):
    build(store)
    deploy(estate, "churn-v1", "churn-v1")

    def throttled(*_: Any) -> bool:
        raise StoreError("get_item: ThrottlingException: slow down")

    real = store.lineage_fresh
    monkeypatch.setattr(store, "lineage_fresh", throttled)
    verdicts(create_endpoint_event("churn-v1"), store)
    monkeypatch.setattr(store, "lineage_fresh", real)
    # The marker still vouches for the index, which must therefore hold the new endpoint.
    assert "churn-v1" in served_by(estate, "bucket", BUCKET_NAME)


def test_past_enough_lookups_one_listing_is_cheaper(estate, store, monkeypatch, calls):
    build(store)
    monkeypatch.setattr(lineage, "INDEX_MAX_LOOKUPS", 2)
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    calls.take()
    found = [
        [
            r.resource_id
            for r in lineage.endpoints_using_bucket(clients, ResourceRef(BUCKET, b, REGION, ACCOUNT))
        ]
        for b in ("aiw-a", "aiw-b", BUCKET_NAME)
    ]
    assert found == [[], [], [ENDPOINT_NAME]]
    ops = operations(calls.take())
    assert (ops["Query"], ops["ListEndpoints"]) == (2, 1)


def test_without_a_table_nothing_is_indexed(estate, calls):
    verdicts(bucket_event(), None)
    verdicts(create_endpoint_event(ENDPOINT_NAME), None)
    assert not {"GetItem", "Query", "BatchWriteItem", "PutItem"} & set(operations(calls.take()))
