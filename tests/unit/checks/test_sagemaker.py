"""SageMaker checks: model artifact encryption (with bucket lineage), notebook internet access and
endpoint configuration KMS keys."""

from __future__ import annotations

import dataclasses

import pytest

from aiwarden.engine import evaluate
from aiwarden.events import Target
from aiwarden.model import ResourceRef, Status
from aiwarden.registry import REGISTRY, all_checks
from aiwarden.resources.s3 import BUCKET
from tests.unit.helpers import ACCOUNT, REGION, check_finding

ARTIFACTS = "sagemaker_model_artifacts_encrypted"
NOTEBOOK = "sagemaker_notebook_direct_internet_access_disabled"
ENDPOINT_CONFIG = "sagemaker_endpoint_config_kms_encrypted"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aiw-sagemaker"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/aiw-inference:1"
KMS_BUCKET = "aiw-models-kms"
SSE_S3_BUCKET = "aiw-models-sses3"


def exempt_tags(exempt: str | None) -> list[dict[str, str]]:
    return [] if exempt is None else [{"Key": "aiwarden:exempt", "Value": exempt}]


@pytest.fixture
def sagemaker(aws):
    return aws.client("sagemaker")


@pytest.fixture
def kms_key(aws) -> str:
    return str(aws.client("kms").create_key()["KeyMetadata"]["Arn"])


@pytest.fixture
def make_bucket(aws, kms_key):
    def make(name: str, algorithm: str | None) -> str:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=name)
        if algorithm is not None:
            default = {"SSEAlgorithm": algorithm}
            if algorithm == "aws:kms":
                default["KMSMasterKeyID"] = kms_key
            rule = {"ApplyServerSideEncryptionByDefault": default}
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
        return name

    return make


@pytest.fixture
def buckets(make_bucket) -> None:
    make_bucket(KMS_BUCKET, "aws:kms")
    make_bucket(SSE_S3_BUCKET, "AES256")


@pytest.fixture
def make_model(sagemaker):
    """A model loading artifacts from each URL given: one URL -> PrimaryContainer, several ->
    Containers, none -> an image-only PrimaryContainer."""

    def make(name: str, *urls: str, exempt: str | None = None) -> str:
        containers = [{"Image": IMAGE, "ModelDataUrl": url} for url in urls] or [{"Image": IMAGE}]
        shape = {"PrimaryContainer": containers[0]} if len(containers) == 1 else {"Containers": containers}
        sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, Tags=exempt_tags(exempt), **shape)
        return name

    return make


@pytest.fixture
def make_notebook(sagemaker):
    def make(name: str = "aiw-notebook", access: str = "Disabled", exempt: str | None = None) -> str:
        sagemaker.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn=ROLE,
            DirectInternetAccess=access,
            Tags=exempt_tags(exempt),
        )
        return name

    return make


@pytest.fixture
def make_endpoint_config(sagemaker, make_model):
    make_model("aiw-serving")

    def make(
        name: str = "aiw-config",
        *instance_types: str,
        kms_key: str | None = None,
        exempt: str | None = None,
    ) -> str:
        variants = [
            {
                "VariantName": f"v{i}",
                "ModelName": "aiw-serving",
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
            for i, instance_type in enumerate(instance_types or ("ml.m5.large",))
        ]
        extra = {"KmsKeyId": kms_key} if kms_key else {}
        sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=variants, Tags=exempt_tags(exempt), **extra
        )
        return name

    return make


# --- sagemaker_model_artifacts_encrypted ----------------------------------------------------


def test_model_in_kms_bucket_passes(buckets, make_model, aws):
    make_model("aiw-model", f"s3://{KMS_BUCKET}/model.tar.gz")

    finding = check_finding(ARTIFACTS, "aiw-model", aws)

    assert finding.status is Status.PASS
    assert "KMS" in finding.reason


def test_model_in_sse_s3_bucket_fails_naming_the_bucket(buckets, make_model, aws):
    make_model("aiw-model", f"s3://{SSE_S3_BUCKET}/model.tar.gz")

    finding = check_finding(ARTIFACTS, "aiw-model", aws)

    assert finding.status is Status.FAIL
    assert SSE_S3_BUCKET in finding.reason
    assert "AES256" in finding.reason


def test_model_in_unencrypted_bucket_fails(make_bucket, make_model, aws):
    make_bucket("aiw-models-plain", None)
    make_model("aiw-model", "s3://aiw-models-plain/model.tar.gz")

    finding = check_finding(ARTIFACTS, "aiw-model", aws)

    assert finding.status is Status.FAIL
    assert "no default encryption" in finding.reason


def test_multi_container_model_fails_on_the_one_non_kms_bucket(buckets, make_model, aws):
    make_model(
        "aiw-ensemble",
        f"s3://{KMS_BUCKET}/encoder.tar.gz",
        f"s3://{SSE_S3_BUCKET}/decoder.tar.gz",
    )

    finding = check_finding(ARTIFACTS, "aiw-ensemble", aws)

    assert finding.status is Status.FAIL
    assert SSE_S3_BUCKET in finding.reason
    assert KMS_BUCKET not in finding.reason


def test_multi_container_model_all_in_kms_buckets_passes(buckets, make_bucket, make_model, aws):
    make_bucket("aiw-models-kms-2", "aws:kms")
    make_model("aiw-ensemble", f"s3://{KMS_BUCKET}/a.tar.gz", "s3://aiw-models-kms-2/b.tar.gz")

    assert check_finding(ARTIFACTS, "aiw-ensemble", aws).status is Status.PASS


def test_model_whose_artifact_bucket_does_not_exist_fails(make_model, aws):
    make_model("aiw-orphan", "s3://aiw-models-deleted/model.tar.gz")

    finding = check_finding(ARTIFACTS, "aiw-orphan", aws)

    assert finding.status is Status.FAIL
    assert "aiw-models-deleted" in finding.reason
    assert "does not exist" in finding.reason


def test_image_only_model_passes(make_model, aws):
    make_model("aiw-image-only")

    finding = check_finding(ARTIFACTS, "aiw-image-only", aws)

    assert finding.status is Status.PASS
    assert "no artifacts" in finding.reason


def test_exempt_model_is_exempt_not_fail(buckets, make_model, aws):
    make_model("aiw-model", f"s3://{SSE_S3_BUCKET}/model.tar.gz", exempt="true")

    finding = check_finding(ARTIFACTS, "aiw-model", aws)

    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt=true" in finding.reason
    assert "would be FAIL" in finding.reason


def test_exempt_tag_false_still_fails_model(buckets, make_model, aws):
    make_model("aiw-model", f"s3://{SSE_S3_BUCKET}/model.tar.gz", exempt="false")

    assert check_finding(ARTIFACTS, "aiw-model", aws).status is Status.FAIL


def test_bucket_change_reevaluates_the_models_stored_in_it(buckets, make_model, aws):
    make_model("aiw-in-bucket", f"s3://{SSE_S3_BUCKET}/a.tar.gz")
    make_model("aiw-also-in-bucket", f"s3://{KMS_BUCKET}/x.tar.gz", f"s3://{SSE_S3_BUCKET}/b.tar.gz")
    make_model("aiw-elsewhere", f"s3://{KMS_BUCKET}/c.tar.gz")
    make_model("aiw-no-artifacts")
    target = Target(
        scope=BUCKET,
        check_ids=frozenset({ARTIFACTS}),
        ref=ResourceRef(BUCKET, SSE_S3_BUCKET, REGION, ACCOUNT),
    )

    findings = evaluate([target], aws)

    assert {f.ref.resource_id: f.status for f in findings} == {
        "aiw-in-bucket": Status.FAIL,
        "aiw-also-in-bucket": Status.FAIL,
    }
    assert all(f.check_id == ARTIFACTS for f in findings)


def test_bucket_without_models_yields_no_findings(buckets, make_model, aws):
    make_model("aiw-elsewhere", f"s3://{KMS_BUCKET}/c.tar.gz")
    target = Target(
        scope=BUCKET,
        check_ids=frozenset({ARTIFACTS}),
        ref=ResourceRef(BUCKET, SSE_S3_BUCKET, REGION, ACCOUNT),
    )

    assert evaluate([target], aws) == []


def test_missing_model_is_not_applicable(aws):
    assert check_finding(ARTIFACTS, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def test_deleted_model_is_not_applicable(make_model, sagemaker, aws):
    sagemaker.delete_model(ModelName=make_model("aiw-model"))

    finding = check_finding(ARTIFACTS, "aiw-model", aws)

    assert finding.status is Status.NOT_APPLICABLE
    assert "no longer exists" in finding.reason


def test_check_that_raises_yields_error_finding(make_model, aws, monkeypatch):
    make_model("aiw-model")
    all_checks()

    def broken(resource, clients):
        raise RuntimeError("artifact parser exploded")

    monkeypatch.setitem(REGISTRY, ARTIFACTS, dataclasses.replace(REGISTRY[ARTIFACTS], evaluate=broken))

    finding = check_finding(ARTIFACTS, "aiw-model", aws)

    assert finding.status is Status.ERROR
    assert "RuntimeError" in finding.reason
    assert "artifact parser exploded" in finding.reason


# --- sagemaker_notebook_direct_internet_access_disabled -------------------------------------


def test_notebook_without_direct_internet_passes(make_notebook, aws):
    make_notebook(access="Disabled")

    finding = check_finding(NOTEBOOK, "aiw-notebook", aws)

    assert finding.status is Status.PASS
    assert "no direct internet access" in finding.reason


def test_notebook_with_direct_internet_fails(make_notebook, aws):
    make_notebook(access="Enabled")

    finding = check_finding(NOTEBOOK, "aiw-notebook", aws)

    assert finding.status is Status.FAIL
    assert "direct internet access Enabled" in finding.reason


def test_exempt_notebook_is_exempt_not_fail(make_notebook, aws):
    make_notebook(access="Enabled", exempt="true")

    finding = check_finding(NOTEBOOK, "aiw-notebook", aws)

    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt=true" in finding.reason
    assert "would be FAIL" in finding.reason


def test_exempt_tag_false_still_fails_notebook(make_notebook, aws):
    make_notebook(access="Enabled", exempt="false")

    assert check_finding(NOTEBOOK, "aiw-notebook", aws).status is Status.FAIL


def test_missing_notebook_is_not_applicable(aws):
    # SageMaker answers DescribeNotebookInstance for an unknown name with
    # ValidationException "RecordNotFound".
    finding = check_finding(NOTEBOOK, "aiw-never-created", aws)

    assert finding.status is Status.NOT_APPLICABLE


def test_deleted_notebook_is_not_applicable(make_notebook, sagemaker, aws):
    name = make_notebook()
    sagemaker.stop_notebook_instance(NotebookInstanceName=name)
    sagemaker.delete_notebook_instance(NotebookInstanceName=name)

    assert check_finding(NOTEBOOK, name, aws).status is Status.NOT_APPLICABLE


# --- sagemaker_endpoint_config_kms_encrypted ------------------------------------------------


def test_endpoint_config_with_kms_key_passes(make_endpoint_config, kms_key, aws):
    make_endpoint_config("aiw-config", "ml.m5.large", kms_key=kms_key)

    finding = check_finding(ENDPOINT_CONFIG, "aiw-config", aws)

    assert finding.status is Status.PASS
    assert kms_key in finding.reason


def test_endpoint_config_without_kms_key_fails(make_endpoint_config, aws):
    make_endpoint_config("aiw-config", "ml.m5.large")

    finding = check_finding(ENDPOINT_CONFIG, "aiw-config", aws)

    assert finding.status is Status.FAIL
    assert "KmsKeyId" in finding.reason


@pytest.mark.parametrize(
    "instance_types",
    [("ml.m5d.large",), ("ml.g4dn.xlarge",), ("ml.m5d.large", "ml.g4dn.xlarge")],
)
def test_local_nvme_instance_types_without_key_pass(make_endpoint_config, aws, instance_types):
    make_endpoint_config("aiw-config", *instance_types)

    finding = check_finding(ENDPOINT_CONFIG, "aiw-config", aws)

    assert finding.status is Status.PASS
    assert "local NVMe storage" in finding.reason


def test_mixed_local_and_ebs_instance_types_without_key_fail(make_endpoint_config, aws):
    make_endpoint_config("aiw-config", "ml.m5d.large", "ml.m5.large")

    finding = check_finding(ENDPOINT_CONFIG, "aiw-config", aws)

    assert finding.status is Status.FAIL
    assert "KmsKeyId" in finding.reason


def test_exempt_endpoint_config_is_exempt_not_fail(make_endpoint_config, aws):
    make_endpoint_config("aiw-config", "ml.m5.large", exempt="true")

    finding = check_finding(ENDPOINT_CONFIG, "aiw-config", aws)

    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt=true" in finding.reason
    assert "would be FAIL" in finding.reason


def test_exempt_tag_false_still_fails_endpoint_config(make_endpoint_config, aws):
    make_endpoint_config("aiw-config", "ml.m5.large", exempt="false")

    assert check_finding(ENDPOINT_CONFIG, "aiw-config", aws).status is Status.FAIL


def test_missing_endpoint_config_is_not_applicable(aws):
    assert check_finding(ENDPOINT_CONFIG, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def test_deleted_endpoint_config_is_not_applicable(make_endpoint_config, sagemaker, aws):
    sagemaker.delete_endpoint_config(EndpointConfigName=make_endpoint_config("aiw-config"))

    assert check_finding(ENDPOINT_CONFIG, "aiw-config", aws).status is Status.NOT_APPLICABLE
