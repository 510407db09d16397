"""The bucket -> AI usage index in the state table (aiwarden.resources.bucket_usage): a bucket event
costs calls for that bucket's AI resources, not for every AI resource of the region, and gives the
same findings as the full computation, whatever state the index is in (moto)."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aiwarden import engine
from aiwarden.clients import Clients
from aiwarden.model import Status
from aiwarden.resources import bucket_usage
from aiwarden.store import IndexedUse, StateStore, StoreError
from tests.conftest import ACCOUNT, REGION, load_event
from tests.unit.helpers import STATE_TABLE, Calls, operations

TABLE = STATE_TABLE
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aiw-sagemaker"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/aiw-inference:1"
BUCKET = "aiw-models-kms"  # what events/cloudtrail/s3_delete_bucket_encryption.json names
NEW_MODEL_BUCKET = "aiw-datasets-plain"  # where events/cloudtrail/sagemaker_create_model.json's model lives
OTHER = "aiw-other"
UNRELATED_MODELS = 12
SAGEMAKER_LISTINGS = {"ListModels", "ListEndpointConfigs", "ListTrainingJobs"}
LINEAGE = "sagemaker_model_artifacts_encrypted"
SENSITIVE = "s3_ai_bucket_sensitive_data_protected"
CLASSIFIED = "s3_ai_bucket_data_classified"
USES = (
    "SageMaker model fraud-v3 (model artifacts)",
    "SageMaker endpoint config fraud-v3-config (data capture)",
    "SageMaker training job fraud-train (model output)",
)


def described_models(made: list[tuple[str, dict[str, Any]]]) -> set[str]:
    return {params["ModelName"] for name, params in made if name == "DescribeModel"}


@pytest.fixture(autouse=True)
def default_classification_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIWARDEN_CLASSIFICATION_TAG", raising=False)
    monkeypatch.delenv("AIWARDEN_SENSITIVE_CLASSIFICATIONS", raising=False)
    monkeypatch.delenv("AIWARDEN_DISABLED_CHECKS", raising=False)


def make_model(aws: Clients, name: str, bucket: str) -> None:
    aws.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{name}/model.tar.gz"},
    )


@pytest.fixture
def estate(aws: Clients, calls: Calls) -> None:
    """The event's bucket, classified sensitive and used by a model, an endpoint configuration
    (data capture) and a training job (output); and a dozen models in another bucket."""
    s3 = aws.client("s3")
    for name in (BUCKET, NEW_MODEL_BUCKET, OTHER):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(
        Bucket=BUCKET, Tagging={"TagSet": [{"Key": "DataClassification", "Value": "confidential"}]}
    )
    s3.put_bucket_tagging(
        Bucket=NEW_MODEL_BUCKET, Tagging={"TagSet": [{"Key": "DataClassification", "Value": "internal"}]}
    )
    sagemaker = aws.client("sagemaker")
    make_model(aws, "fraud-v3", BUCKET)
    for i in range(UNRELATED_MODELS):
        make_model(aws, f"other-{i:02d}", OTHER)
    sagemaker.create_endpoint_config(
        EndpointConfigName="fraud-v3-config",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": "fraud-v3",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{BUCKET}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
    )
    sagemaker.create_training_job(
        TrainingJobName="fraud-train",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{OTHER}/train/"}},
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    calls.take()


def verdicts(event: dict[str, Any], store: StateStore | None) -> list[tuple[str, str, Status, str]]:
    """Evaluate an event as the handler does (normalise, expand lineage, every enabled check), in a
    fresh invocation, with or without the index."""
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    result = engine.process(event, lambda invocation: clients)
    return sorted((f.check_id, str(f.ref), f.status, f.reason) for f in result.findings)


def index_items(aws: Clients, bucket: str) -> dict[str, list[str]]:
    pk = f"USES#{ACCOUNT}#{REGION}#{bucket}"
    items = aws.client("dynamodb").query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    return {item["sk"]["S"]: [w["S"] for w in item["what"]["L"]] for item in items}


def marker(aws: Clients) -> dict[str, Any] | None:
    key = {"pk": {"S": f"USES#{ACCOUNT}#{REGION}"}, "sk": {"S": "BUILT"}}
    item: dict[str, Any] | None = aws.client("dynamodb").get_item(TableName=TABLE, Key=key).get("Item")
    return item


def bucket_event() -> dict[str, Any]:
    return load_event("cloudtrail/s3_delete_bucket_encryption.json")


def tagging_event(event_id: str = "tagging-1") -> dict[str, Any]:
    """PutBucketTagging on NEW_MODEL_BUCKET: what the data-classification check follows."""
    event = copy.deepcopy(load_event("cloudtrail/s3_put_bucket_tagging.json"))
    event["id"] = event["detail"]["eventID"] = event_id
    return event


# --- a fresh index -------------------------------------------------------------------------------


def test_fresh_index_answers_a_bucket_event_without_listing_the_region(aws, estate, store, calls):
    baseline = verdicts(bucket_event(), None)
    full = operations(calls.take())
    assert verdicts(bucket_event(), store) == baseline  # no marker yet: computes, then builds
    calls.take()

    indexed = verdicts(bucket_event(), store)
    made = calls.take()

    assert indexed == baseline
    ops = operations(made)
    assert not SAGEMAKER_LISTINGS & set(ops), ops
    assert described_models(made) == {"fraud-v3"}
    assert ops["DescribeEndpointConfig"] == ops["DescribeTrainingJob"] == 1
    assert ops["BatchWriteItem"] == ops["PutItem"] == 0  # a fresh index is only read
    assert sum(ops.values()) < sum(full.values()) - UNRELATED_MODELS
    # The lineage still reaches the model stored in the bucket, and the AI-bucket check its uses.
    lineage = [v for v in indexed if v[0] == LINEAGE]
    assert [(ref, status) for _, ref, status, _ in lineage] == [
        ("AWS::SageMaker::Model/fraud-v3", Status.FAIL)
    ]
    (sensitive,) = [v for v in indexed if v[0] == SENSITIVE]
    assert sensitive[2] is Status.FAIL
    assert "; ".join(USES) in sensitive[3]


def test_ai_usage_gives_what_the_full_map_gives(aws, estate, store):
    verdicts(bucket_event(), store)  # builds the index
    for bucket in (BUCKET, OTHER, NEW_MODEL_BUCKET, "aiw-unused"):
        full = Clients(REGION, account_id=ACCOUNT)
        indexed = Clients(REGION, account_id=ACCOUNT, state=store)
        expected = bucket_usage.ai_buckets(full).get(bucket, [])
        assert [use.what for use in bucket_usage.ai_usage(indexed, bucket)] == expected
        assert not indexed.known(("s3", "ai_buckets", REGION))  # answered from the index
    assert [use.what for use in bucket_usage.ai_usage(indexed, BUCKET)] == list(USES)


def test_one_invocation_queries_a_bucket_once(aws, estate, store, calls):
    verdicts(bucket_event(), store)
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    calls.take()
    for _ in range(3):
        bucket_usage.ai_usage(clients, BUCKET)
    ops = operations(calls.take())
    assert (ops["GetItem"], ops["Query"]) == (1, 1)


def test_an_invocation_that_has_the_full_map_uses_it(aws, estate, store, calls):
    verdicts(bucket_event(), store)
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    bucket_usage.ai_buckets(clients)  # a scan's account-wide check computed it already
    calls.take()
    assert [use.what for use in bucket_usage.ai_usage(clients, BUCKET)] == list(USES)
    assert calls.take() == []


# --- building and refreshing ---------------------------------------------------------------------


def test_without_a_marker_the_event_computes_everything_and_builds_the_index(aws, estate, store, calls):
    baseline = verdicts(bucket_event(), None)
    calls.take()

    assert verdicts(bucket_event(), store) == baseline
    ops = operations(calls.take())

    assert set(ops) >= SAGEMAKER_LISTINGS
    assert index_items(aws, BUCKET) == {
        "AWS::SageMaker::EndpointConfig#fraud-v3-config": [USES[1]],
        "AWS::SageMaker::Model#fraud-v3": [USES[0]],
        "AWS::SageMaker::TrainingJob#fraud-train": [USES[2]],
    }
    assert len(index_items(aws, OTHER)) == UNRELATED_MODELS + 1  # and the training job's input
    built = marker(aws)
    assert built is not None
    assert int(built["expires_at"]["N"]) > datetime.now(UTC).timestamp() + timedelta(days=2).total_seconds()


def test_a_stale_marker_means_a_full_computation_and_a_rebuild(aws, estate, store, calls):
    stale = datetime.now(UTC) - store.usage_refresh - timedelta(minutes=5)
    store.mark_usage_built(ACCOUNT, REGION, now=stale)
    # What the stale index says about the bucket is ignored: the full map is computed.
    store.put_usage(ACCOUNT, REGION, [IndexedUse(BUCKET, "AWS::SageMaker::Model", "other-00")], now=stale)
    baseline = verdicts(bucket_event(), None)
    calls.take()

    assert verdicts(bucket_event(), store) == baseline
    assert set(operations(calls.take())) >= SAGEMAKER_LISTINGS
    built = marker(aws)
    assert built is not None and built["built_at"]["S"] > stale.strftime("%Y-%m-%dT%H:%M:%S")
    assert "AWS::SageMaker::Model#fraud-v3" in index_items(aws, BUCKET)


def test_whoever_computes_the_full_map_anyway_refreshes_the_index(aws, estate, store):
    """The sweep's account-wide check (cloudtrail_s3_data_events_on_ai_buckets) needs the whole
    map: writing it keeps the index fresh without any bucket event paying for a rebuild."""
    earlier = datetime.now(UTC) - timedelta(hours=20)
    store.mark_usage_built(ACCOUNT, REGION, now=earlier)
    bucket_usage.ai_buckets(Clients(REGION, account_id=ACCOUNT, state=store))
    built = marker(aws)
    assert built is not None and built["built_at"]["S"] > earlier.strftime("%Y-%m-%dT%H:%M:%S")
    assert "AWS::SageMaker::Model#fraud-v3" in index_items(aws, BUCKET)


# --- new AI resources ----------------------------------------------------------------------------


def test_a_create_model_event_adds_the_new_model_to_the_index(aws, estate, store, calls):
    verdicts(bucket_event(), store)
    built = marker(aws)
    make_model(aws, "churn-v1", NEW_MODEL_BUCKET)  # what sagemaker_create_model.json names
    calls.take()

    verdicts(load_event("cloudtrail/sagemaker_create_model.json"), store)
    assert index_items(aws, NEW_MODEL_BUCKET) == {
        "AWS::SageMaker::Model#churn-v1": ["SageMaker model churn-v1 (model artifacts)"]
    }
    calls.take()

    indexed = verdicts(tagging_event(), store)
    made = calls.take()
    assert indexed == verdicts(tagging_event(), None)
    assert not SAGEMAKER_LISTINGS & set(operations(made))
    assert marker(aws) == built  # found without a rebuild
    (classified,) = [v for v in indexed if v[0] == CLASSIFIED]
    assert classified[2:] == (
        Status.PASS,
        f"bucket {NEW_MODEL_BUCKET} is classified DataClassification=internal "
        "(used by SageMaker model churn-v1 (model artifacts))",
    )


def test_the_create_model_event_writes_each_use_once(aws, estate, store, calls):
    verdicts(bucket_event(), store)
    make_model(aws, "churn-v1", NEW_MODEL_BUCKET)
    calls.take()
    verdicts(load_event("cloudtrail/sagemaker_create_model.json"), store)
    # Both AI-bucket checks follow the model to its bucket; one write serves both.
    assert operations(calls.take())["BatchWriteItem"] == 1


# --- resources gone since they were indexed ------------------------------------------------------


def test_a_model_deleted_after_indexing_fails_nothing(aws, estate, store, calls):
    verdicts(bucket_event(), store)
    aws.client("sagemaker").delete_model(ModelName="fraud-v3")
    calls.take()

    indexed = verdicts(bucket_event(), store)
    assert not SAGEMAKER_LISTINGS & set(operations(calls.take()))
    assert indexed == verdicts(bucket_event(), None)
    assert not [v for v in indexed if "fraud-v3" in v[1] and v[2] is not Status.PASS]
    (sensitive,) = [v for v in indexed if v[0] == SENSITIVE]
    assert "SageMaker model fraud-v3" not in sensitive[3]


def test_training_jobs_older_than_the_lookback_are_no_use(aws, estate, store, monkeypatch):
    from aiwarden.resources import sagemaker

    verdicts(bucket_event(), store)
    monkeypatch.setattr(sagemaker, "JOB_LOOKBACK", timedelta(seconds=0))
    uses = bucket_usage.ai_usage(Clients(REGION, account_id=ACCOUNT, state=store), BUCKET)
    assert [use.what for use in uses] == list(USES[:2])


# --- trouble with the index means the full computation ------------------------------------------


def test_a_missing_table_falls_back_with_the_same_findings(aws, estate, calls, caplog):
    baseline = verdicts(bucket_event(), None)
    calls.take()
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        assert verdicts(bucket_event(), StateStore(aws.client("dynamodb"), "no-such-table")) == baseline
    ops = operations(calls.take())
    assert set(ops) >= SAGEMAKER_LISTINGS
    # One marker read each for the usage index and the endpoint lineage index; broken: no writes.
    assert ops["GetItem"] == 2 and ops["BatchWriteItem"] == 0
    assert "could not read the AI usage index" in caplog.text


@pytest.mark.parametrize("failing", ["bucket_usage", "put_usage", "mark_usage_built"])
def test_index_errors_fall_back_with_the_same_findings(aws, estate, store, monkeypatch, failing, caplog):
    baseline = verdicts(bucket_event(), None)
    if failing == "bucket_usage":
        verdicts(bucket_event(), store)  # a fresh index whose Query then fails

    def refuse(*_: Any, **__: Any) -> None:
        raise StoreError(f"{failing}: ProvisionedThroughputExceededException: slow down")

    monkeypatch.setattr(store, failing, refuse)
    before = marker(aws)
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        assert verdicts(bucket_event(), store) == baseline
    assert "ProvisionedThroughputExceededException" in caplog.text
    if failing != "bucket_usage":
        assert marker(aws) == before  # never vouch for a partial index


def test_a_malformed_item_falls_back_with_the_same_findings(aws, estate, store, caplog):
    baseline = verdicts(bucket_event(), None)
    verdicts(bucket_event(), store)
    store.put_usage(ACCOUNT, REGION, [IndexedUse(BUCKET, "AWS::Lambda::Function", "not-ours")])
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        assert verdicts(bucket_event(), store) == baseline
    assert "unexpected type" in caplog.text


def test_a_failed_new_model_write_means_the_full_map_now_and_a_rebuild_next(
    aws, estate, store, monkeypatch, caplog
):
    verdicts(bucket_event(), store)
    make_model(aws, "churn-v1", NEW_MODEL_BUCKET)
    baseline = verdicts(load_event("cloudtrail/sagemaker_create_model.json"), None)

    def refuse(*_: Any, **__: Any) -> None:
        raise StoreError("batch_write_item: AccessDeniedException: no")

    monkeypatch.setattr(store, "put_usage", refuse)
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        assert verdicts(load_event("cloudtrail/sagemaker_create_model.json"), store) == baseline
    assert "could not add AWS::SageMaker::Model/churn-v1 to the AI usage index" in caplog.text
    assert marker(aws) is None  # incomplete now: the next bucket event rebuilds


def test_a_new_model_is_written_even_when_the_marker_could_not_be_read(aws, estate, store, monkeypatch):
    verdicts(bucket_event(), store)
    make_model(aws, "churn-v1", NEW_MODEL_BUCKET)

    def throttled(*_: Any) -> bool:
        raise StoreError("get_item: ThrottlingException: slow down")

    real = store.usage_fresh
    monkeypatch.setattr(store, "usage_fresh", throttled)
    verdicts(load_event("cloudtrail/sagemaker_create_model.json"), store)
    monkeypatch.setattr(store, "usage_fresh", real)
    # The marker still vouches for the index, which must therefore hold the new model.
    assert "AWS::SageMaker::Model#churn-v1" in index_items(aws, NEW_MODEL_BUCKET)


# --- how the index reaches the code --------------------------------------------------------------


def test_fresh_clients_keep_the_index_and_the_remediation_role_does_not(aws, store):
    clients = Clients(REGION, account_id=ACCOUNT, state=store)
    assert clients.fresh().state is store
    assert clients.assume(f"arn:aws:iam::{ACCOUNT}:role/aiwarden-remediation").state is None
    assert Clients(REGION).state is None


def test_the_lambda_runtime_gives_clients_the_table_when_it_has_one(aws, monkeypatch):
    from aiwarden.events import normalise

    invocation = normalise(bucket_event())
    runtime = engine.Runtime(alert_topic_arn=None, region=REGION)
    monkeypatch.delenv("AIWARDEN_STATE_TABLE", raising=False)
    assert runtime.clients(invocation).state is None
    monkeypatch.setenv("AIWARDEN_STATE_TABLE", TABLE)
    state = runtime.clients(invocation).state
    assert state is not None and state.table_name == TABLE
