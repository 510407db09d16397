"""S3 bucket checks beyond encryption and public access: TLS-only policies, access logging,
versioning, and the data classification of buckets that AI resources use."""

from __future__ import annotations

import json

import pytest

from aiwarden.engine import evaluate
from aiwarden.events import normalise
from aiwarden.model import Status
from aiwarden.resources import bucket_usage
from tests.conftest import load_event
from tests.unit.helpers import ACCOUNT, REGION, check_finding

TLS = "s3_bucket_tls_only"
LOGGING = "s3_bucket_access_logging_enabled"
VERSIONING = "s3_bucket_versioning_enabled"
CLASSIFIED = "s3_ai_bucket_data_classified"
SENSITIVE = "s3_ai_bucket_sensitive_data_protected"

BUCKET_NAME = "aiw-datasets"
LOG_BUCKET = "aiw-access-logs"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aiw-sagemaker"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/aiw-inference:1"
LOG_DELIVERY = 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"'


@pytest.fixture(autouse=True)
def default_classification_settings(monkeypatch):
    monkeypatch.delenv("AIWARDEN_CLASSIFICATION_TAG", raising=False)
    monkeypatch.delenv("AIWARDEN_SENSITIVE_CLASSIFICATIONS", raising=False)


@pytest.fixture
def s3(aws):
    return aws.client("s3")


@pytest.fixture
def sagemaker(aws):
    return aws.client("sagemaker")


@pytest.fixture
def make_bucket(s3):
    def make(name: str = BUCKET_NAME, *, exempt: str | None = None, **tags: str) -> str:
        s3.create_bucket(Bucket=name)
        tag_set = dict(tags)
        if exempt is not None:
            tag_set["aiwarden:exempt"] = exempt
        if tag_set:
            s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tag_set.items()]}
            )
        return name

    return make


def put_policy(s3, bucket: str, *statements: dict) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def deny_http(bucket: str = BUCKET_NAME, **overrides: object) -> dict:
    """The statement the S3.5 remediation prescribes, with any element replaced."""
    statement = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    statement.update(overrides)
    return statement


@pytest.fixture
def log_bucket(s3) -> str:
    s3.create_bucket(Bucket=LOG_BUCKET)
    s3.put_bucket_acl(Bucket=LOG_BUCKET, GrantWrite=LOG_DELIVERY, GrantReadACP=LOG_DELIVERY)
    return LOG_BUCKET


@pytest.fixture
def enable_logging(s3, log_bucket):
    def apply(bucket: str) -> None:
        s3.put_bucket_logging(
            Bucket=bucket,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": log_bucket, "TargetPrefix": f"{bucket}/"}
            },
        )

    return apply


def enable_versioning(s3, bucket: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


@pytest.fixture
def make_model(sagemaker):
    def make(name: str, url: str) -> str:
        sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url}
        )
        return name

    return make


@pytest.fixture
def customer_key(aws) -> str:
    return str(aws.client("kms").create_key()["KeyMetadata"]["Arn"])


@pytest.fixture
def aws_managed_key(aws) -> str:
    """A key that reports KeyManager AWS, as aws/s3 does. moto creates every key customer managed,
    so the backend's record is switched the way AWS reports its own keys."""
    from moto.kms.models import kms_backends

    metadata = aws.client("kms").create_key(Description="Default key")["KeyMetadata"]
    kms_backends[ACCOUNT][REGION].keys[metadata["KeyId"]].key_manager = "AWS"
    return str(metadata["Arn"])


def encrypt(s3, bucket: str, algorithm: str, key: str | None = None) -> None:
    default = {"SSEAlgorithm": algorithm}
    if key:
        default["KMSMasterKeyID"] = key
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
    )


# --- s3_bucket_tls_only ----------------------------------------------------------------------


def test_tls_only_passes_with_the_deny_insecure_transport_statement(s3, make_bucket, aws):
    put_policy(s3, make_bucket(), deny_http())
    finding = check_finding(TLS, BUCKET_NAME, aws)
    assert finding.status is Status.PASS
    assert "DenyInsecureTransport" in finding.reason


@pytest.mark.parametrize(
    "overrides",
    [
        {"Principal": {"AWS": ["*"]}},
        {"Action": ["s3:GetObject", "s3:*"]},
        {"Action": "*"},
        {"Resource": f"arn:aws:s3:::{BUCKET_NAME}*"},
        {"Condition": {"Bool": {"aws:SecureTransport": False}}},
        {"Condition": {"BoolIfExists": {"aws:securetransport": ["false"]}}},
    ],
    ids=["aws-wildcard", "action-list", "all-actions", "bucket-wildcard", "json-false", "if-exists"],
)
def test_tls_only_accepts_equivalent_deny_statements(s3, make_bucket, aws, overrides):
    put_policy(s3, make_bucket(), deny_http(**overrides))
    assert check_finding(TLS, BUCKET_NAME, aws).status is Status.PASS


def test_tls_only_fails_without_a_bucket_policy(make_bucket, aws):
    make_bucket()
    finding = check_finding(TLS, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert (
        finding.reason == f"bucket {BUCKET_NAME} has no bucket policy, so it accepts requests over plain HTTP"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"Effect": "Allow"},
        {"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}},
        {"Action": "s3:GetObject"},
        {"Resource": f"arn:aws:s3:::{BUCKET_NAME}"},
        {"Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ],
    ids=["allow", "one-account", "one-action", "bucket-only", "denies-tls", "other-condition"],
)
def test_tls_only_fails_when_the_deny_leaves_plain_http_open(s3, make_bucket, aws, overrides):
    put_policy(s3, make_bucket(), deny_http(**overrides))
    finding = check_finding(TLS, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert "aws:SecureTransport is false" in finding.reason


def test_tls_only_exempt_bucket_is_reported_exempt(make_bucket, aws):
    make_bucket(exempt="true")
    finding = check_finding(TLS, BUCKET_NAME, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_tls_only_deleted_bucket_is_not_applicable(s3, make_bucket, aws):
    s3.delete_bucket(Bucket=make_bucket())
    assert check_finding(TLS, BUCKET_NAME, aws).status is Status.NOT_APPLICABLE


# --- s3_bucket_access_logging_enabled ---------------------------------------------------------


def test_access_logging_passes_and_names_the_destination(make_bucket, enable_logging, aws):
    enable_logging(make_bucket())
    finding = check_finding(LOGGING, BUCKET_NAME, aws)
    assert finding.status is Status.PASS
    assert f"s3://{LOG_BUCKET}/{BUCKET_NAME}/" in finding.reason


def test_access_logging_fails_when_off(make_bucket, aws):
    make_bucket()
    finding = check_finding(LOGGING, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == f"bucket {BUCKET_NAME} does not record server access logs"


def test_access_logging_exempt_bucket_is_reported_exempt(make_bucket, aws):
    make_bucket(exempt="true")
    assert check_finding(LOGGING, BUCKET_NAME, aws).status is Status.EXEMPT


def test_access_logging_deleted_bucket_is_not_applicable(aws):
    assert check_finding(LOGGING, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


# --- s3_bucket_versioning_enabled -------------------------------------------------------------


def test_versioning_passes_when_enabled(s3, make_bucket, aws):
    enable_versioning(s3, make_bucket())
    assert check_finding(VERSIONING, BUCKET_NAME, aws).status is Status.PASS


def test_versioning_fails_when_never_enabled(make_bucket, aws):
    make_bucket()
    finding = check_finding(VERSIONING, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert "never enabled" in finding.reason


def test_versioning_fails_when_suspended(s3, make_bucket, aws):
    bucket = make_bucket()
    enable_versioning(s3, bucket)
    enable_versioning(s3, bucket, "Suspended")
    finding = check_finding(VERSIONING, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert "Suspended" in finding.reason


def test_versioning_exempt_bucket_is_reported_exempt(make_bucket, aws):
    make_bucket(exempt="true")
    assert check_finding(VERSIONING, BUCKET_NAME, aws).status is Status.EXEMPT


def test_versioning_deleted_bucket_is_not_applicable(aws):
    assert check_finding(VERSIONING, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


# --- which buckets AI resources use ------------------------------------------------------------


def test_ai_buckets_follow_models_endpoint_configs_and_training_jobs(aws, sagemaker, make_model):
    make_model("churn-v1", "s3://aiw-models/churn-v1/model.tar.gz")
    make_model("image-only", "https://aiw-weights.s3.us-east-1.amazonaws.com/w/model.tar.gz")
    sagemaker.create_endpoint_config(
        EndpointConfigName="churn-v1-config",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": "churn-v1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://aiw-capture/churn",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
    )
    sagemaker.create_training_job(
        TrainingJobName="churn-train",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://aiw-datasets/churn/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://aiw-models/out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    assert bucket_usage.ai_buckets(aws) == {
        "aiw-models": [
            "SageMaker model churn-v1 (model artifacts)",
            "SageMaker training job churn-train (model output)",
        ],
        "aiw-weights": ["SageMaker model image-only (model artifacts)"],
        "aiw-capture": ["SageMaker endpoint config churn-v1-config (data capture)"],
        "aiw-datasets": ["SageMaker training job churn-train (training data)"],
    }


def test_ai_buckets_lists_sagemaker_once_per_invocation(aws, make_model):
    make_model("churn-v1", "s3://aiw-models/churn-v1/model.tar.gz")
    first = bucket_usage.ai_buckets(aws)
    aws.client("sagemaker").delete_model(ModelName="churn-v1")
    assert bucket_usage.ai_buckets(aws) == first


# --- s3_ai_bucket_data_classified --------------------------------------------------------------


def test_classified_passes_for_a_bucket_no_ai_resource_uses(make_bucket, make_model, aws):
    make_bucket()
    make_model("churn-v1", "s3://aiw-other-bucket/churn-v1/model.tar.gz")
    finding = check_finding(CLASSIFIED, BUCKET_NAME, aws)
    assert finding.status is Status.PASS
    assert finding.reason == f"bucket {BUCKET_NAME} is not used by AI resources"


def test_classified_fails_for_an_unclassified_model_bucket_and_names_the_model(make_bucket, make_model, aws):
    make_bucket(Team="ml")
    make_model("churn-v1", f"s3://{BUCKET_NAME}/churn-v1/model.tar.gz")
    finding = check_finding(CLASSIFIED, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"bucket {BUCKET_NAME} is used by AI resources (SageMaker model churn-v1 (model artifacts)) "
        "but has no DataClassification tag"
    )


def test_classified_passes_for_a_tagged_model_bucket(make_bucket, make_model, aws):
    make_bucket(DataClassification="internal")
    make_model("churn-v1", f"s3://{BUCKET_NAME}/churn-v1/model.tar.gz")
    finding = check_finding(CLASSIFIED, BUCKET_NAME, aws)
    assert finding.status is Status.PASS
    assert "DataClassification=internal" in finding.reason
    assert "churn-v1" in finding.reason


def test_classified_reads_the_tag_key_from_the_environment(make_bucket, make_model, aws, monkeypatch):
    monkeypatch.setenv("AIWARDEN_CLASSIFICATION_TAG", "data-class")
    make_bucket(DataClassification="internal")
    make_model("churn-v1", f"s3://{BUCKET_NAME}/churn-v1/model.tar.gz")
    finding = check_finding(CLASSIFIED, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert "no data-class tag" in finding.reason


def test_classified_follows_data_capture_destinations(make_bucket, sagemaker, make_model, aws):
    make_bucket()
    make_model("churn-v1", "s3://aiw-models/churn-v1/model.tar.gz")
    sagemaker.create_endpoint_config(
        EndpointConfigName="churn-v1-config",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": "churn-v1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{BUCKET_NAME}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
    )
    finding = check_finding(CLASSIFIED, BUCKET_NAME, aws)
    assert finding.status is Status.FAIL
    assert "endpoint config churn-v1-config (data capture)" in finding.reason


def test_classified_exempt_bucket_is_reported_exempt(make_bucket, make_model, aws):
    make_bucket(exempt="true")
    make_model("churn-v1", f"s3://{BUCKET_NAME}/churn-v1/model.tar.gz")
    finding = check_finding(CLASSIFIED, BUCKET_NAME, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_classified_deleted_bucket_is_not_applicable(make_model, aws):
    make_model("churn-v1", f"s3://{BUCKET_NAME}/churn-v1/model.tar.gz")
    assert check_finding(CLASSIFIED, BUCKET_NAME, aws).status is Status.NOT_APPLICABLE


def test_create_model_event_evaluates_the_buckets_the_model_uses(s3, make_bucket, make_model, aws):
    """CreateModel names a model; the bucket type's lineage finder maps it to the model's own
    artifact buckets (the sample's model loads from aiw-datasets-plain)."""
    make_bucket("aiw-datasets-plain")
    make_model("churn-v1", "s3://aiw-datasets-plain/churn-v1/model.tar.gz")
    invocation = normalise(load_event("cloudtrail/sagemaker_create_model.json"))
    findings = {
        (f.check_id, f.ref.resource_id): f
        for f in evaluate(invocation.targets, aws)
        if f.ref.type.cfn_type == "AWS::S3::Bucket"
    }
    assert findings[(CLASSIFIED, "aiw-datasets-plain")].status is Status.FAIL
    assert findings[(SENSITIVE, "aiw-datasets-plain")].status is Status.PASS


def test_lineage_skips_artifact_buckets_of_other_accounts(make_model, aws):
    make_model("churn-v1", "s3://jumpstart-cache-prod-us-east-1/churn/model.tar.gz")
    invocation = normalise(load_event("cloudtrail/sagemaker_create_model.json"))
    bucket_findings = [
        f for f in evaluate(invocation.targets, aws) if f.ref.type.cfn_type == "AWS::S3::Bucket"
    ]
    assert bucket_findings == []


# --- s3_ai_bucket_sensitive_data_protected -------------------------------------------------------


@pytest.fixture
def sensitive_ai_bucket(make_bucket, make_model):
    def make(classification: str = "confidential") -> str:
        bucket = make_bucket(DataClassification=classification)
        make_model("churn-v1", f"s3://{bucket}/churn-v1/model.tar.gz")
        return bucket

    return make


def test_sensitive_passes_with_customer_key_versioning_and_logging(
    s3, sensitive_ai_bucket, customer_key, enable_logging, aws
):
    bucket = sensitive_ai_bucket()
    encrypt(s3, bucket, "aws:kms", customer_key)
    enable_versioning(s3, bucket)
    enable_logging(bucket)
    finding = check_finding(SENSITIVE, bucket, aws)
    assert finding.status is Status.PASS
    assert "customer managed KMS key" in finding.reason


def test_sensitive_fails_and_lists_every_gap(s3, sensitive_ai_bucket, aws):
    bucket = sensitive_ai_bucket("Restricted")
    encrypt(s3, bucket, "AES256")
    finding = check_finding(SENSITIVE, bucket, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"bucket {bucket} (DataClassification=Restricted, used by SageMaker model churn-v1 "
        "(model artifacts)) is not protected: default encryption AES256 instead of a customer managed "
        "KMS key; versioning never enabled; no server access logging"
    )


def test_a_scanned_customer_key_is_not_described_again_for_the_bucket(
    s3, sensitive_ai_bucket, customer_key, enable_logging, aws
):
    # "Describe each resource at most once per invocation": the scan describes the key it lists;
    # the bucket check asking who manages it reuses that answer.
    from aiwarden import engine
    from aiwarden.registry import select

    bucket = sensitive_ai_bucket()
    encrypt(s3, bucket, "aws:kms", customer_key)
    enable_versioning(s3, bucket)
    enable_logging(bucket)
    described: list[str] = []
    aws.client("kms").meta.events.register(
        "provide-client-params.kms.DescribeKey", lambda params, **_: described.append(params["KeyId"])
    )

    findings = engine.scan(aws, select([SENSITIVE, "kms_key_rotation_enabled"]))

    assert {f.ref.resource_id: f.status for f in findings if f.check_id == SENSITIVE}[bucket] is Status.PASS
    key_id = customer_key.rsplit("/", 1)[-1]
    assert [k for k in described if k.endswith(key_id)] == [key_id]  # the listing's describe only


@pytest.mark.parametrize("key_fixture", [None, "aws_managed_key"], ids=["default-aws-s3-key", "aws-managed"])
def test_sensitive_fails_with_an_aws_managed_key(
    s3, sensitive_ai_bucket, enable_logging, aws, request, key_fixture
):
    bucket = sensitive_ai_bucket()
    key = request.getfixturevalue(key_fixture) if key_fixture else None
    encrypt(s3, bucket, "aws:kms", key)
    enable_versioning(s3, bucket)
    enable_logging(bucket)
    finding = check_finding(SENSITIVE, bucket, aws)
    assert finding.status is Status.FAIL
    assert finding.reason.endswith(
        "is not protected: default encryption uses the AWS managed key aws/s3, not a customer managed key"
    )


def test_sensitive_passes_for_a_bucket_not_classified_sensitive(s3, make_bucket, make_model, aws):
    bucket = make_bucket(DataClassification="public")
    make_model("churn-v1", f"s3://{bucket}/churn-v1/model.tar.gz")
    finding = check_finding(SENSITIVE, bucket, aws)
    assert finding.status is Status.PASS
    assert "not classified sensitive (DataClassification=public)" in finding.reason


def test_sensitive_passes_for_a_sensitive_bucket_no_ai_resource_uses(make_bucket, aws):
    bucket = make_bucket(DataClassification="confidential")
    finding = check_finding(SENSITIVE, bucket, aws)
    assert finding.status is Status.PASS
    assert "not used by AI resources" in finding.reason


def test_sensitive_values_come_from_the_environment(sensitive_ai_bucket, aws, monkeypatch):
    monkeypatch.setenv("AIWARDEN_SENSITIVE_CLASSIFICATIONS", "PHI, pii")
    bucket = sensitive_ai_bucket("pii")
    assert check_finding(SENSITIVE, bucket, aws).status is Status.FAIL
    monkeypatch.setenv("AIWARDEN_SENSITIVE_CLASSIFICATIONS", "phi")
    assert check_finding(SENSITIVE, bucket, aws).status is Status.PASS


def test_sensitive_exempt_bucket_is_reported_exempt(s3, make_bucket, make_model, aws):
    bucket = make_bucket(exempt="true", DataClassification="confidential")
    make_model("churn-v1", f"s3://{bucket}/churn-v1/model.tar.gz")
    finding = check_finding(SENSITIVE, bucket, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_sensitive_deleted_bucket_is_not_applicable(aws):
    assert check_finding(SENSITIVE, "aiw-never-created", aws).status is Status.NOT_APPLICABLE
