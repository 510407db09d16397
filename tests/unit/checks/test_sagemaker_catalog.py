"""The SageMaker check catalog beyond the first three checks: notebooks (root access, KMS, VPC,
platform), endpoint configurations (data capture, instance count), models (isolation, VPC),
training and processing jobs, Studio domains, model-monitor schedules and registry approval of
the models endpoints serve.

moto backs most tests. Where moto cannot produce the state (DescribeModel never reports
EnableNetworkIsolation, notebooks carry no PlatformIdentifier, processing jobs lose
ProcessingResources, monitoring schedules are not implemented) the SageMaker client is answered by
botocore's Stubber, whose responses are validated against the service model."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from aiwarden.engine import evaluate
from aiwarden.events import Target, normalise
from aiwarden.model import ResourceRef, Status
from aiwarden.registry import REGISTRY
from aiwarden.resources.sagemaker import (
    DOMAIN,
    ENDPOINT,
    MODEL_PACKAGE,
    MONITORING_SCHEDULE,
    TRAINING_JOB,
)
from tests.conftest import load_event
from tests.unit.helpers import ACCOUNT, REGION, check_finding

ROLE = f"arn:aws:iam::{ACCOUNT}:role/aiw-sagemaker"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/aiw-train:1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WHEN = datetime(2026, 3, 6, 11, 30, tzinfo=UTC)
EXEMPT = [{"Key": "aiwarden:exempt", "Value": "true"}]

ROOT = "sagemaker_notebook_root_access_disabled"
NB_KMS = "sagemaker_notebook_kms_encrypted"
NB_VPC = "sagemaker_notebook_in_vpc"
PLATFORM = "sagemaker_notebook_platform_supported"
CAPTURE = "sagemaker_endpoint_config_data_capture_encrypted"
MULTI = "sagemaker_endpoint_config_multi_instance"
ISOLATION = "sagemaker_model_network_isolation_enabled"
MODEL_VPC = "sagemaker_model_in_vpc"
TJ_ICTE = "sagemaker_training_job_intercontainer_encryption_enabled"
TJ_ISOLATION = "sagemaker_training_job_network_isolation_enabled"
TJ_KMS = "sagemaker_training_job_kms_encrypted"
TJ_VPC = "sagemaker_training_job_in_vpc"
PJ_KMS = "sagemaker_processing_job_kms_encrypted"
PJ_ICTE = "sagemaker_processing_job_intercontainer_encryption_enabled"
PJ_ISOLATION = "sagemaker_processing_job_network_isolation_enabled"
DOMAIN_VPC = "sagemaker_domain_vpc_only"
MON_ISOLATION = "sagemaker_monitoring_schedule_network_isolation_enabled"
MON_ICTE = "sagemaker_monitoring_schedule_intercontainer_encryption_enabled"
APPROVED = "sagemaker_endpoint_model_package_approved"


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def assert_exempt(finding: Any) -> None:
    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt=true" in finding.reason
    assert "would be FAIL" in finding.reason


@pytest.fixture
def sagemaker(aws):
    return aws.client("sagemaker")


@pytest.fixture
def stub(aws) -> Iterator[Stubber]:
    """Answers the SageMaker client from queued responses; every queued response must be used."""
    stubber = Stubber(aws.client("sagemaker"))
    stubber.activate()
    yield stubber
    # Tags are read only when something needs them (the exemption on a FAIL): a queued ListTags
    # may go unused; every other queued response must be.
    unused = [response["operation_name"] for response in stubber._queue]
    assert set(unused) <= {"ListTags"}, unused
    stubber.deactivate()


def queue_describe(
    stub: Stubber,
    operation: str,
    params: dict[str, str],
    response: dict[str, Any],
    resource_arn: str,
    tags: list[dict[str, str]] | None = None,
) -> None:
    """The two calls a SageMaker describe makes: Describe* and ListTags on its ARN."""
    stub.add_response(operation, response, params)
    stub.add_response("list_tags", {"Tags": tags or []}, {"ResourceArn": resource_arn})


def tags_read_last(stub: Stubber) -> None:
    """Tags are read lazily (only to check an exemption on a FAIL), so after the check's own
    reads: move queued ListTags responses to the end of the queue."""
    queue = stub._queue
    tags = [r for r in queue if r["operation_name"] == "ListTags"]
    rest = [r for r in queue if r["operation_name"] != "ListTags"]
    queue.clear()
    queue.extend(rest + tags)


# --- notebook instances ---------------------------------------------------------------------


@pytest.fixture
def make_notebook(sagemaker):
    def make(name: str = "aiw-nb", exempt: bool = False, **settings: Any) -> str:
        sagemaker.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn=ROLE,
            Tags=EXEMPT if exempt else [],
            **settings,
        )
        return name

    return make


def test_notebook_without_root_access_passes(make_notebook, aws):
    finding = check_finding(ROOT, make_notebook(RootAccess="Disabled"), aws)

    assert finding.status is Status.PASS
    assert "denies its users root access" in finding.reason


@pytest.mark.parametrize("settings", [{"RootAccess": "Enabled"}, {}], ids=["explicit", "default"])
def test_notebook_with_root_access_fails(make_notebook, aws, settings):
    finding = check_finding(ROOT, make_notebook(**settings), aws)

    assert finding.status is Status.FAIL
    assert "RootAccess Enabled" in finding.reason


def test_exempt_notebook_with_root_access_is_exempt(make_notebook, aws):
    assert_exempt(check_finding(ROOT, make_notebook(RootAccess="Enabled", exempt=True), aws))


def test_notebook_with_kms_key_passes(make_notebook, aws):
    finding = check_finding(NB_KMS, make_notebook(KmsKeyId=KEY), aws)

    assert finding.status is Status.PASS
    assert KEY in finding.reason


def test_notebook_without_kms_key_fails(make_notebook, aws):
    finding = check_finding(NB_KMS, make_notebook(), aws)

    assert finding.status is Status.FAIL
    assert "no KmsKeyId" in finding.reason


def test_exempt_notebook_without_kms_key_is_exempt(make_notebook, aws):
    assert_exempt(check_finding(NB_KMS, make_notebook(exempt=True), aws))


def test_notebook_in_subnet_passes(make_notebook, aws):
    name = make_notebook(SubnetId="subnet-0a1b2c3d", SecurityGroupIds=["sg-0a1b2c3d"])

    finding = check_finding(NB_VPC, name, aws)

    assert finding.status is Status.PASS
    assert "subnet-0a1b2c3d" in finding.reason


def test_notebook_without_subnet_fails(make_notebook, aws):
    finding = check_finding(NB_VPC, make_notebook(), aws)

    assert finding.status is Status.FAIL
    assert "SageMaker service VPC" in finding.reason


def test_exempt_notebook_without_subnet_is_exempt(make_notebook, aws):
    assert_exempt(check_finding(NB_VPC, make_notebook(exempt=True), aws))


@pytest.mark.parametrize("check_id", [ROOT, NB_KMS, NB_VPC, PLATFORM])
def test_missing_notebook_is_not_applicable(aws, check_id):
    assert check_finding(check_id, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def test_deleted_notebook_is_not_applicable(make_notebook, sagemaker, aws):
    name = make_notebook(RootAccess="Enabled")
    sagemaker.stop_notebook_instance(NotebookInstanceName=name)
    sagemaker.delete_notebook_instance(NotebookInstanceName=name)

    assert check_finding(ROOT, name, aws).status is Status.NOT_APPLICABLE


# Platform: moto does not keep PlatformIdentifier, so these describe through Stubber (tested
# with Stubber: DescribeNotebookInstance + ListTags).


def queue_notebook(stub: Stubber, platform: str | None, tags: list[dict[str, str]] | None = None) -> None:
    response: dict[str, Any] = {
        "NotebookInstanceArn": arn("notebook-instance", "aiw-nb"),
        "NotebookInstanceName": "aiw-nb",
        "NotebookInstanceStatus": "InService",
        "InstanceType": "ml.t3.medium",
        "RoleArn": ROLE,
        "DirectInternetAccess": "Disabled",
        "RootAccess": "Disabled",
        "CreationTime": WHEN,
    }
    if platform is not None:
        response["PlatformIdentifier"] = platform
    queue_describe(
        stub,
        "describe_notebook_instance",
        {"NotebookInstanceName": "aiw-nb"},
        response,
        arn("notebook-instance", "aiw-nb"),
        tags,
    )


@pytest.fixture
def on_day(monkeypatch):
    checks = importlib.import_module("aiwarden.checks.sagemaker")

    def set_day(day: date) -> None:
        monkeypatch.setattr(checks, "_today", lambda: day)

    return set_day


def test_al2023_notebook_passes(stub, aws):
    queue_notebook(stub, "notebook-al2023-v1")

    finding = check_finding(PLATFORM, "aiw-nb", aws)

    assert finding.status is Status.PASS
    assert "notebook-al2023-v1" in finding.reason


@pytest.mark.parametrize("platform", ["notebook-al1-v1", "notebook-al2-v1", "notebook-al2-v2"])
def test_retired_platform_fails(stub, aws, platform):
    queue_notebook(stub, platform)

    finding = check_finding(PLATFORM, "aiw-nb", aws)

    assert finding.status is Status.FAIL
    assert f"runs {platform}, which AWS stopped supporting" in finding.reason
    assert "notebook-al2023-v1" in finding.reason


def test_al2_v3_passes_before_its_end_of_support(stub, aws, on_day):
    on_day(date(2026, 6, 29))
    queue_notebook(stub, "notebook-al2-v3")

    finding = check_finding(PLATFORM, "aiw-nb", aws)

    assert finding.status is Status.PASS
    assert "supported until 2026-06-30" in finding.reason


def test_al2_v3_fails_from_its_end_of_support(stub, aws, on_day):
    on_day(date(2026, 6, 30))
    queue_notebook(stub, "notebook-al2-v3")

    finding = check_finding(PLATFORM, "aiw-nb", aws)

    assert finding.status is Status.FAIL
    assert "stopped supporting on 2026-06-30" in finding.reason


def test_platform_not_in_the_supported_list_fails(stub, aws):
    queue_notebook(stub, "notebook-al2023-v2")

    finding = check_finding(PLATFORM, "aiw-nb", aws)

    assert finding.status is Status.FAIL
    assert "not a supported platform" in finding.reason


def test_notebook_without_platform_identifier_fails(make_notebook, aws):
    # moto's DescribeNotebookInstance has no PlatformIdentifier at all.
    finding = check_finding(PLATFORM, make_notebook(), aws)

    assert finding.status is Status.FAIL
    assert "no platform identifier" in finding.reason


def test_exempt_notebook_on_retired_platform_is_exempt(stub, aws):
    queue_notebook(stub, "notebook-al2-v2", tags=EXEMPT)

    assert_exempt(check_finding(PLATFORM, "aiw-nb", aws))


# --- endpoint configurations ----------------------------------------------------------------


@pytest.fixture
def make_config(sagemaker):
    sagemaker.create_model(ModelName="aiw-serving", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})

    def make(
        name: str = "aiw-config",
        variants: list[dict[str, Any]] | None = None,
        exempt: bool = False,
        **settings: Any,
    ) -> str:
        variants = variants or [{"InstanceType": "ml.m5.large", "InitialInstanceCount": 2}]
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": f"v{i}", "ModelName": "aiw-serving", **v} for i, v in enumerate(variants)
            ],
            Tags=EXEMPT if exempt else [],
            **settings,
        )
        return name

    return make


def capture(destination: str = "s3://aiw-capture/churn", **extra: Any) -> dict[str, Any]:
    return {
        "DataCaptureConfig": {
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": destination,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            **extra,
        }
    }


@pytest.fixture
def capture_bucket(aws):
    def make(name: str, algorithm: str) -> str:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=name)
        default = {"SSEAlgorithm": algorithm} | ({"KMSMasterKeyID": KEY} if algorithm == "aws:kms" else {})
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )
        return name

    return make


def test_config_without_data_capture_passes(make_config, aws):
    finding = check_finding(CAPTURE, make_config(), aws)

    assert finding.status is Status.PASS
    assert "captures no inference data" in finding.reason


def test_config_with_capture_turned_off_passes(make_config, aws):
    finding = check_finding(CAPTURE, make_config(**capture(EnableCapture=False)), aws)

    assert finding.status is Status.PASS
    assert "captures no inference data" in finding.reason


def test_config_capturing_with_kms_key_passes(make_config, aws):
    finding = check_finding(CAPTURE, make_config(**capture(EnableCapture=True, KmsKeyId=KEY)), aws)

    assert finding.status is Status.PASS
    assert KEY in finding.reason


def test_config_capturing_without_key_into_sse_s3_bucket_fails(make_config, capture_bucket, aws):
    capture_bucket("aiw-capture", "AES256")

    finding = check_finding(CAPTURE, make_config(**capture(EnableCapture=True)), aws)

    assert finding.status is Status.FAIL
    assert "no KmsKeyId" in finding.reason
    assert "AES256" in finding.reason


def test_config_capturing_without_key_into_kms_bucket_passes(make_config, capture_bucket, aws):
    capture_bucket("aiw-capture", "aws:kms")

    finding = check_finding(CAPTURE, make_config(**capture()), aws)

    assert finding.status is Status.PASS
    assert "aws:kms" in finding.reason


def test_config_capturing_into_missing_bucket_fails(make_config, aws):
    finding = check_finding(CAPTURE, make_config(**capture("s3://aiw-capture-gone/x")), aws)

    assert finding.status is Status.FAIL
    assert "aiw-capture-gone" in finding.reason
    assert "does not exist" in finding.reason


def test_exempt_config_capturing_without_key_is_exempt(make_config, capture_bucket, aws):
    capture_bucket("aiw-capture", "AES256")

    assert_exempt(check_finding(CAPTURE, make_config(exempt=True, **capture()), aws))


def test_config_with_two_instances_per_variant_passes(make_config, aws):
    finding = check_finding(MULTI, make_config(), aws)

    assert finding.status is Status.PASS
    assert "2+ instances" in finding.reason


def test_config_with_a_single_instance_variant_fails_naming_it(make_config, aws):
    name = make_config(
        variants=[
            {"InstanceType": "ml.m5.large", "InitialInstanceCount": 3},
            {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
        ]
    )

    finding = check_finding(MULTI, name, aws)

    assert finding.status is Status.FAIL
    assert "v1 (1)" in finding.reason
    assert "v0" not in finding.reason


def test_serverless_only_config_passes(stub, aws):
    # Tested with Stubber: moto's CreateEndpointConfig requires an instance type.
    queue_describe(
        stub,
        "describe_endpoint_config",
        {"EndpointConfigName": "aiw-serverless"},
        {
            "EndpointConfigName": "aiw-serverless",
            "EndpointConfigArn": arn("endpoint-config", "aiw-serverless"),
            "ProductionVariants": [
                {
                    "VariantName": "v0",
                    "ModelName": "aiw-serving",
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                }
            ],
            "CreationTime": WHEN,
        },
        arn("endpoint-config", "aiw-serverless"),
    )

    finding = check_finding(MULTI, "aiw-serverless", aws)

    assert finding.status is Status.PASS
    assert "only serverless variants" in finding.reason


def test_exempt_single_instance_config_is_exempt(make_config, aws):
    name = make_config(variants=[{"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}], exempt=True)

    assert_exempt(check_finding(MULTI, name, aws))


@pytest.mark.parametrize("check_id", [CAPTURE, MULTI])
def test_missing_endpoint_config_is_not_applicable(aws, check_id):
    assert check_finding(check_id, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


# --- models ---------------------------------------------------------------------------------


@pytest.fixture
def make_model(sagemaker):
    def make(name: str = "aiw-model", exempt: bool = False, **settings: Any) -> str:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer=settings.pop("PrimaryContainer", {"Image": IMAGE}),
            Tags=EXEMPT if exempt else [],
            **settings,
        )
        return name

    return make


def test_model_with_network_isolation_passes(stub, aws):
    # Tested with Stubber: moto's DescribeModel always reports EnableNetworkIsolation false.
    queue_describe(
        stub,
        "describe_model",
        {"ModelName": "aiw-model"},
        {
            "ModelName": "aiw-model",
            "PrimaryContainer": {"Image": IMAGE},
            "ExecutionRoleArn": ROLE,
            "EnableNetworkIsolation": True,
            "CreationTime": WHEN,
            "ModelArn": arn("model", "aiw-model"),
        },
        arn("model", "aiw-model"),
    )

    finding = check_finding(ISOLATION, "aiw-model", aws)

    assert finding.status is Status.PASS
    assert "network isolation" in finding.reason


def test_model_without_network_isolation_fails(make_model, aws):
    finding = check_finding(ISOLATION, make_model(), aws)

    assert finding.status is Status.FAIL
    assert "EnableNetworkIsolation off" in finding.reason


def test_exempt_model_without_network_isolation_is_exempt(make_model, aws):
    assert_exempt(check_finding(ISOLATION, make_model(exempt=True), aws))


def test_model_in_vpc_passes(make_model, aws):
    name = make_model(VpcConfig={"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]})

    finding = check_finding(MODEL_VPC, name, aws)

    assert finding.status is Status.PASS
    assert "subnet-0a1b2c3d" in finding.reason


def test_model_outside_vpc_fails(make_model, aws):
    finding = check_finding(MODEL_VPC, make_model(), aws)

    assert finding.status is Status.FAIL
    assert "no VpcConfig subnets" in finding.reason


def test_exempt_model_outside_vpc_is_exempt(make_model, aws):
    assert_exempt(check_finding(MODEL_VPC, make_model(exempt=True), aws))


@pytest.mark.parametrize("check_id", [ISOLATION, MODEL_VPC])
def test_missing_model_is_not_applicable(aws, check_id):
    assert check_finding(check_id, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


# --- training jobs --------------------------------------------------------------------------


@pytest.fixture
def make_training_job(sagemaker):
    def make(
        name: str = "aiw-train",
        *,
        instance_type: str = "ml.m5.xlarge",
        count: int = 1,
        volume_key: str | None = None,
        output_key: str | None = None,
        exempt: bool = False,
        **settings: Any,
    ) -> str:
        resources: dict[str, Any] = {
            "InstanceType": instance_type,
            "InstanceCount": count,
            "VolumeSizeInGB": 50,
        }
        if volume_key:
            resources["VolumeKmsKeyId"] = volume_key
        output: dict[str, str] = {"S3OutputPath": "s3://aiw-models-kms/train/"}
        if output_key:
            output["KmsKeyId"] = output_key
        sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig=output,
            ResourceConfig=resources,
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            Tags=EXEMPT if exempt else [],
            **settings,
        )
        return name

    return make


def test_distributed_job_with_traffic_encryption_passes(make_training_job, aws):
    name = make_training_job(count=4, EnableInterContainerTrafficEncryption=True)

    finding = check_finding(TJ_ICTE, name, aws)

    assert finding.status is Status.PASS
    assert "encrypts traffic between its instances" in finding.reason


def test_single_instance_job_without_traffic_encryption_passes(make_training_job, aws):
    finding = check_finding(TJ_ICTE, make_training_job(count=1), aws)

    assert finding.status is Status.PASS
    assert "one instance" in finding.reason


def test_distributed_job_without_traffic_encryption_fails(make_training_job, aws):
    finding = check_finding(TJ_ICTE, make_training_job(count=4), aws)

    assert finding.status is Status.FAIL
    assert "its 4 instances" in finding.reason


def test_exempt_distributed_job_without_traffic_encryption_is_exempt(make_training_job, aws):
    assert_exempt(check_finding(TJ_ICTE, make_training_job(count=2, exempt=True), aws))


def test_isolated_training_job_passes(make_training_job, aws):
    finding = check_finding(TJ_ISOLATION, make_training_job(EnableNetworkIsolation=True), aws)

    assert finding.status is Status.PASS


def test_training_job_without_isolation_fails(make_training_job, aws):
    finding = check_finding(TJ_ISOLATION, make_training_job(), aws)

    assert finding.status is Status.FAIL
    assert "make network calls" in finding.reason


def test_exempt_training_job_without_isolation_is_exempt(make_training_job, aws):
    assert_exempt(check_finding(TJ_ISOLATION, make_training_job(exempt=True), aws))


def test_training_job_with_volume_and_output_keys_passes(make_training_job, aws):
    finding = check_finding(TJ_KMS, make_training_job(volume_key=KEY, output_key=KEY), aws)

    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("keys", "missing", "present"),
    [
        ({"output_key": KEY}, "VolumeKmsKeyId", "S3 output"),
        ({"volume_key": KEY}, "S3 output", "VolumeKmsKeyId"),
    ],
)
def test_training_job_missing_a_key_fails_naming_it(make_training_job, aws, keys, missing, present):
    finding = check_finding(TJ_KMS, make_training_job(**keys), aws)

    assert finding.status is Status.FAIL
    assert missing in finding.reason
    assert present not in finding.reason


def test_training_on_local_nvme_instances_needs_only_the_output_key(make_training_job, aws):
    # AWS rejects VolumeKmsKeyId for instance types with local storage (encrypted in hardware).
    name = make_training_job(instance_type="ml.p4d.24xlarge", output_key=KEY)

    assert check_finding(TJ_KMS, name, aws).status is Status.PASS


def test_exempt_training_job_without_keys_is_exempt(make_training_job, aws):
    assert_exempt(check_finding(TJ_KMS, make_training_job(exempt=True), aws))


def test_training_job_in_vpc_passes(make_training_job, aws):
    name = make_training_job(VpcConfig={"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]})

    finding = check_finding(TJ_VPC, name, aws)

    assert finding.status is Status.PASS
    assert "subnet-0a1b2c3d" in finding.reason


def test_training_job_outside_vpc_fails(make_training_job, aws):
    finding = check_finding(TJ_VPC, make_training_job(), aws)

    assert finding.status is Status.FAIL
    assert "no VpcConfig subnets" in finding.reason


def test_exempt_training_job_outside_vpc_is_exempt(make_training_job, aws):
    assert_exempt(check_finding(TJ_VPC, make_training_job(exempt=True), aws))


@pytest.mark.parametrize("check_id", [TJ_ICTE, TJ_ISOLATION, TJ_KMS, TJ_VPC])
def test_unknown_training_job_is_not_applicable(aws, check_id):
    assert check_finding(check_id, "aiw-never-run", aws).status is Status.NOT_APPLICABLE


class Within:
    """Matches a datetime inside [low, high]: Stubber compares expected parameters with !=."""

    def __init__(self, low: datetime, high: datetime) -> None:
        self.low, self.high = low, high

    def __eq__(self, other: object) -> bool:
        return isinstance(other, datetime) and self.low <= other <= self.high

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"Within({self.low}, {self.high})"


def test_training_job_sweep_lists_only_the_last_30_days(stub, aws):
    now = datetime.now(UTC)
    window = Within(now - timedelta(days=30, minutes=1), now - timedelta(days=29, hours=23, minutes=59))
    stub.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "aiw-recent",
                    "TrainingJobArn": arn("training-job", "aiw-recent"),
                    "CreationTime": now - timedelta(days=2),
                    "TrainingJobStatus": "Completed",
                }
            ],
            "NextToken": "page-2",
        },
        {"CreationTimeAfter": window},
    )
    stub.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "aiw-recent-2",
                    "TrainingJobArn": arn("training-job", "aiw-recent-2"),
                    "CreationTime": now - timedelta(days=1),
                    "TrainingJobStatus": "InProgress",
                }
            ]
        },
        {"CreationTimeAfter": window, "NextToken": "page-2"},
    )

    refs = list(TRAINING_JOB.list_refs(aws))

    assert [r.resource_id for r in refs] == ["aiw-recent", "aiw-recent-2"]
    assert refs[0].arn == arn("training-job", "aiw-recent")


def test_training_job_sweep_finds_new_jobs(make_training_job, aws):
    make_training_job("aiw-a")
    make_training_job("aiw-b")

    assert {r.resource_id for r in TRAINING_JOB.list_refs(aws)} == {"aiw-a", "aiw-b"}


# --- processing jobs ------------------------------------------------------------------------


def queue_processing_job(
    stub: Stubber,
    *,
    instance_type: str = "ml.m5.xlarge",
    count: int = 1,
    volume_key: str | None = None,
    output: dict[str, Any] | None = None,
    network: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> None:
    """Tested with Stubber: moto drops ProcessingResources from DescribeProcessingJob."""
    cluster: dict[str, Any] = {"InstanceCount": count, "InstanceType": instance_type, "VolumeSizeInGB": 30}
    if volume_key:
        cluster["VolumeKmsKeyId"] = volume_key
    response: dict[str, Any] = {
        "ProcessingJobName": "aiw-process",
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": {"ImageUri": IMAGE},
        "RoleArn": ROLE,
        "ProcessingJobArn": arn("processing-job", "aiw-process"),
        "ProcessingJobStatus": "Completed",
        "CreationTime": WHEN,
    }
    if output is not None:
        response["ProcessingOutputConfig"] = output
    if network is not None:
        response["NetworkConfig"] = network
    queue_describe(
        stub,
        "describe_processing_job",
        {"ProcessingJobName": "aiw-process"},
        response,
        arn("processing-job", "aiw-process"),
        tags,
    )


def outputs(key: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": "features",
                "S3Output": {
                    "S3Uri": "s3://aiw-datasets-plain/features/",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    return config | ({"KmsKeyId": key} if key else {})


def test_processing_job_with_volume_and_output_keys_passes(stub, aws):
    queue_processing_job(stub, volume_key=KEY, output=outputs(KEY))

    assert check_finding(PJ_KMS, "aiw-process", aws).status is Status.PASS


def test_processing_job_without_volume_key_fails(stub, aws):
    queue_processing_job(stub, output=outputs(KEY))

    finding = check_finding(PJ_KMS, "aiw-process", aws)

    assert finding.status is Status.FAIL
    assert "no VolumeKmsKeyId" in finding.reason
    assert "S3 output" not in finding.reason


def test_processing_job_output_without_key_fails(stub, aws):
    queue_processing_job(stub, volume_key=KEY, output=outputs())

    finding = check_finding(PJ_KMS, "aiw-process", aws)

    assert finding.status is Status.FAIL
    assert "no KmsKeyId for its S3 output" in finding.reason


def test_processing_job_without_outputs_needs_only_the_volume_key(stub, aws):
    queue_processing_job(stub, volume_key=KEY)

    assert check_finding(PJ_KMS, "aiw-process", aws).status is Status.PASS


def test_processing_on_local_nvme_instances_needs_only_the_output_key(stub, aws):
    queue_processing_job(stub, instance_type="ml.m5d.xlarge", output=outputs(KEY))

    assert check_finding(PJ_KMS, "aiw-process", aws).status is Status.PASS


def test_exempt_processing_job_without_keys_is_exempt(stub, aws):
    queue_processing_job(stub, output=outputs(), tags=EXEMPT)

    assert_exempt(check_finding(PJ_KMS, "aiw-process", aws))


def test_distributed_processing_job_without_traffic_encryption_fails(stub, aws):
    queue_processing_job(stub, count=3, network={"EnableNetworkIsolation": True})

    finding = check_finding(PJ_ICTE, "aiw-process", aws)

    assert finding.status is Status.FAIL
    assert "its 3 instances" in finding.reason


def test_single_instance_processing_job_without_traffic_encryption_passes(stub, aws):
    queue_processing_job(stub, count=1)

    finding = check_finding(PJ_ICTE, "aiw-process", aws)

    assert finding.status is Status.PASS
    assert "one instance" in finding.reason


@pytest.fixture
def make_processing_job(sagemaker):
    def make(name: str = "aiw-process", network: dict[str, Any] | None = None, exempt: bool = False) -> str:
        sagemaker.create_processing_job(
            ProcessingJobName=name,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            AppSpecification={"ImageUri": IMAGE},
            RoleArn=ROLE,
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            Tags=EXEMPT if exempt else [],
            **({"NetworkConfig": network} if network else {}),
        )
        return name

    return make


def test_processing_job_with_traffic_encryption_passes(make_processing_job, aws):
    name = make_processing_job(network={"EnableInterContainerTrafficEncryption": True})

    finding = check_finding(PJ_ICTE, name, aws)

    assert finding.status is Status.PASS
    assert "encrypts traffic" in finding.reason


def test_exempt_processing_job_without_traffic_encryption_is_exempt(make_processing_job, aws):
    assert_exempt(check_finding(PJ_ICTE, make_processing_job(exempt=True), aws))


def test_isolated_processing_job_passes(make_processing_job, aws):
    name = make_processing_job(network={"EnableNetworkIsolation": True})

    assert check_finding(PJ_ISOLATION, name, aws).status is Status.PASS


def test_processing_job_without_isolation_fails(make_processing_job, aws):
    finding = check_finding(PJ_ISOLATION, make_processing_job(), aws)

    assert finding.status is Status.FAIL
    assert "make network calls" in finding.reason


def test_exempt_processing_job_without_isolation_is_exempt(make_processing_job, aws):
    assert_exempt(check_finding(PJ_ISOLATION, make_processing_job(exempt=True), aws))


@pytest.mark.parametrize("check_id", [PJ_KMS, PJ_ICTE, PJ_ISOLATION])
def test_unknown_processing_job_is_not_applicable(aws, check_id):
    assert check_finding(check_id, "aiw-never-run", aws).status is Status.NOT_APPLICABLE


# --- Studio domains -------------------------------------------------------------------------


@pytest.fixture
def make_domain(sagemaker):
    def make(name: str = "aiwstudio", exempt: bool = False, **settings: Any) -> str:
        response = sagemaker.create_domain(
            DomainName=name,
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": ROLE},
            SubnetIds=["subnet-0a1b2c3d"],
            VpcId="vpc-0a1b2c3d",
            Tags=EXEMPT if exempt else [],
            **settings,
        )
        return str(DOMAIN.id_from_arn(response["DomainArn"]))

    return make


def test_vpc_only_domain_passes(make_domain, aws):
    finding = check_finding(DOMAIN_VPC, make_domain(AppNetworkAccessType="VpcOnly"), aws)

    assert finding.status is Status.PASS
    assert "vpc-0a1b2c3d" in finding.reason


@pytest.mark.parametrize(
    "settings", [{"AppNetworkAccessType": "PublicInternetOnly"}, {}], ids=["set", "default"]
)
def test_public_internet_domain_fails(make_domain, aws, settings):
    domain_id = make_domain(**settings)

    finding = check_finding(DOMAIN_VPC, domain_id, aws)

    assert finding.status is Status.FAIL
    assert "PublicInternetOnly" in finding.reason
    assert domain_id in finding.reason


def test_exempt_public_domain_is_exempt(make_domain, aws):
    assert_exempt(check_finding(DOMAIN_VPC, make_domain(exempt=True), aws))


def test_domain_named_by_its_name_is_resolved_to_its_id(make_domain, aws):
    # A Config item may carry the domain name; findings must still name the domain id.
    domain_id = make_domain("aiwstudio")

    finding = check_finding(DOMAIN_VPC, "aiwstudio", aws)

    assert finding.status is Status.FAIL
    assert finding.ref.resource_id == domain_id


def test_missing_domain_is_not_applicable(make_domain, aws):
    make_domain("aiwstudio")

    assert check_finding(DOMAIN_VPC, "d-neverexisted", aws).status is Status.NOT_APPLICABLE


# --- model-monitor schedules (tested with Stubber: moto has no monitoring schedules) ----------

SCHEDULE_ARN = arn("monitoring-schedule", "aiw-monitor")


def network_config(isolation: bool, encryption: bool) -> dict[str, Any]:
    return {"EnableNetworkIsolation": isolation, "EnableInterContainerTrafficEncryption": encryption}


def inline_definition(network: dict[str, Any]) -> dict[str, Any]:
    return {
        "MonitoringInputs": [
            {"EndpointInput": {"EndpointName": "churn-v1", "LocalPath": "/opt/ml/processing/input"}}
        ],
        "MonitoringOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": "s3://aiw-models-kms/monitor/",
                        "LocalPath": "/opt/ml/processing/output",
                    }
                }
            ]
        },
        "MonitoringResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "MonitoringAppSpecification": {"ImageUri": IMAGE},
        "RoleArn": ROLE,
        "NetworkConfig": network,
    }


def queue_schedule(stub: Stubber, config: dict[str, Any], tags: list[dict[str, str]] | None = None) -> None:
    queue_describe(
        stub,
        "describe_monitoring_schedule",
        {"MonitoringScheduleName": "aiw-monitor"},
        {
            "MonitoringScheduleArn": SCHEDULE_ARN,
            "MonitoringScheduleName": "aiw-monitor",
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": config.get("MonitoringType", "DataQuality"),
            "CreationTime": WHEN,
            "LastModifiedTime": WHEN,
            "MonitoringScheduleConfig": config,
            "EndpointName": "churn-v1",
        },
        SCHEDULE_ARN,
        tags,
    )


def queue_job_definition(stub: Stubber, kind: str, network: dict[str, Any]) -> None:
    """Describe{DataQuality,ModelBias}JobDefinition for a schedule that names its definition."""
    prefix = {"DataQuality": "DataQuality", "ModelBias": "ModelBias"}[kind]
    app = {"DataQuality": {"ImageUri": IMAGE}, "ModelBias": {"ImageUri": IMAGE, "ConfigUri": "s3://c/a.json"}}
    job_input = {"EndpointInput": {"EndpointName": "churn-v1", "LocalPath": "/opt/ml/processing/input"}}
    if kind == "ModelBias":
        job_input["GroundTruthS3Input"] = {"S3Uri": "s3://aiw-models-kms/truth/"}
    operation = {
        "DataQuality": "describe_data_quality_job_definition",
        "ModelBias": "describe_model_bias_job_definition",
    }[kind]
    stub.add_response(
        operation,
        {
            "JobDefinitionArn": arn(f"{kind.lower()}-job-definition", "aiw-def"),
            "JobDefinitionName": "aiw-def",
            "CreationTime": WHEN,
            f"{prefix}AppSpecification": app[kind],
            f"{prefix}JobInput": job_input,
            f"{prefix}JobOutputConfig": {
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": "s3://aiw-models-kms/m/",
                            "LocalPath": "/opt/ml/processing/output",
                        }
                    }
                ]
            },
            "JobResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            "NetworkConfig": network,
            "RoleArn": ROLE,
        },
        {"JobDefinitionName": "aiw-def"},
    )


def schedule_config(**config: Any) -> dict[str, Any]:
    return {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, **config}


def test_schedule_with_isolated_inline_definition_passes(stub, aws):
    queue_schedule(
        stub, schedule_config(MonitoringJobDefinition=inline_definition(network_config(True, False)))
    )

    finding = check_finding(MON_ISOLATION, "aiw-monitor", aws)

    assert finding.status is Status.PASS
    assert "inline job definition" in finding.reason


def test_schedule_with_unisolated_inline_definition_fails(stub, aws):
    queue_schedule(
        stub, schedule_config(MonitoringJobDefinition=inline_definition(network_config(False, True)))
    )

    finding = check_finding(MON_ISOLATION, "aiw-monitor", aws)

    assert finding.status is Status.FAIL
    assert "without network isolation" in finding.reason


def test_schedule_naming_an_unisolated_bias_definition_fails(stub, aws):
    queue_schedule(stub, schedule_config(MonitoringJobDefinitionName="aiw-def", MonitoringType="ModelBias"))
    queue_job_definition(stub, "ModelBias", network_config(False, True))
    tags_read_last(stub)

    finding = check_finding(MON_ISOLATION, "aiw-monitor", aws)

    assert finding.status is Status.FAIL
    assert "ModelBias job definition aiw-def" in finding.reason


def test_schedule_naming_an_isolated_data_quality_definition_passes(stub, aws):
    queue_schedule(stub, schedule_config(MonitoringJobDefinitionName="aiw-def", MonitoringType="DataQuality"))
    queue_job_definition(stub, "DataQuality", network_config(True, True))
    tags_read_last(stub)

    finding = check_finding(MON_ISOLATION, "aiw-monitor", aws)

    assert finding.status is Status.PASS
    assert "DataQuality job definition aiw-def" in finding.reason


def test_exempt_unisolated_schedule_is_exempt(stub, aws):
    queue_schedule(
        stub, schedule_config(MonitoringJobDefinition=inline_definition(network_config(False, False))), EXEMPT
    )

    assert_exempt(check_finding(MON_ISOLATION, "aiw-monitor", aws))


def test_schedule_with_traffic_encryption_passes(stub, aws):
    queue_schedule(
        stub, schedule_config(MonitoringJobDefinition=inline_definition(network_config(False, True)))
    )

    finding = check_finding(MON_ICTE, "aiw-monitor", aws)

    assert finding.status is Status.PASS
    assert "encrypts inter-container traffic" in finding.reason


def test_schedule_without_traffic_encryption_fails(stub, aws):
    queue_schedule(stub, schedule_config(MonitoringJobDefinition=inline_definition({})))

    finding = check_finding(MON_ICTE, "aiw-monitor", aws)

    assert finding.status is Status.FAIL
    assert "EnableInterContainerTrafficEncryption off" in finding.reason


def test_exempt_schedule_without_traffic_encryption_is_exempt(stub, aws):
    queue_schedule(stub, schedule_config(MonitoringJobDefinition=inline_definition({})), EXEMPT)

    assert_exempt(check_finding(MON_ICTE, "aiw-monitor", aws))


@pytest.mark.parametrize("check_id", [MON_ISOLATION, MON_ICTE])
def test_missing_schedule_is_not_applicable(stub, aws, check_id):
    stub.add_client_error(
        "describe_monitoring_schedule",
        service_error_code="ResourceNotFound",
        service_message="Monitoring schedule aiw-monitor not found",
        expected_params={"MonitoringScheduleName": "aiw-monitor"},
    )

    assert check_finding(check_id, "aiw-monitor", aws).status is Status.NOT_APPLICABLE


def test_both_schedule_checks_read_the_named_definition_once(stub, aws):
    # One DescribeMonitoringSchedule, one ListTags, one DescribeModelBiasJobDefinition: Stubber
    # fails on any further call.
    queue_schedule(stub, schedule_config(MonitoringJobDefinitionName="aiw-def", MonitoringType="ModelBias"))
    queue_job_definition(stub, "ModelBias", network_config(True, False))
    tags_read_last(stub)
    ref = ResourceRef(MONITORING_SCHEDULE, "aiw-monitor", REGION, ACCOUNT)
    target = Target(scope=MONITORING_SCHEDULE, check_ids=frozenset({MON_ISOLATION, MON_ICTE}), ref=ref)

    findings = {f.check_id: f.status for f in evaluate([target], aws)}

    assert findings == {MON_ISOLATION: Status.PASS, MON_ICTE: Status.FAIL}


# --- endpoints and the model registry -------------------------------------------------------


@pytest.fixture
def registry(sagemaker):
    """Model package versions in group aiw-churn, one per approval status asked for."""
    sagemaker.create_model_package_group(ModelPackageGroupName="aiw-churn")

    def version(status: str) -> str:
        return str(
            sagemaker.create_model_package(
                ModelPackageGroupName="aiw-churn",
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://aiw-models-kms/churn.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )["ModelPackageArn"]
        )

    return version


@pytest.fixture
def deploy(sagemaker):
    """An endpoint serving one model per container spec given (a package ARN or None)."""

    def make(name: str, *packages: str | None, exempt: bool = False) -> str:
        variants = []
        for i, package in enumerate(packages):
            model = f"{name}-m{i}"
            container = {"ModelPackageName": package} if package else {"Image": IMAGE}
            sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer=container)
            variants.append(
                {
                    "VariantName": f"v{i}",
                    "ModelName": model,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 2,
                }
            )
        sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=variants)
        sagemaker.create_endpoint(
            EndpointName=name, EndpointConfigName=f"{name}-config", Tags=EXEMPT if exempt else []
        )
        return name

    return make


def test_endpoint_serving_an_approved_version_passes(registry, deploy, aws):
    package = registry("Approved")

    finding = check_finding(APPROVED, deploy("aiw-churn", package), aws)

    assert finding.status is Status.PASS
    assert package in finding.reason


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_endpoint_serving_an_unapproved_version_fails(registry, deploy, aws, status):
    approved, unapproved = registry("Approved"), registry(status)

    finding = check_finding(APPROVED, deploy("aiw-churn", approved, unapproved), aws)

    assert finding.status is Status.FAIL
    assert f"{unapproved}, which is {status}" in finding.reason
    assert approved not in finding.reason


def test_endpoint_serving_models_outside_the_registry_passes(deploy, aws):
    finding = check_finding(APPROVED, deploy("aiw-plain", None), aws)

    assert finding.status is Status.PASS
    assert "no models from the model registry" in finding.reason


def test_exempt_endpoint_serving_unapproved_version_is_exempt(registry, deploy, aws):
    assert_exempt(check_finding(APPROVED, deploy("aiw-churn", registry("Rejected"), exempt=True), aws))


def test_endpoint_whose_config_was_deleted_is_an_error_not_a_pass(registry, deploy, sagemaker, aws):
    deploy("aiw-churn", registry("Approved"))
    sagemaker.delete_endpoint_config(EndpointConfigName="aiw-churn-config")

    finding = check_finding(APPROVED, "aiw-churn", aws)

    assert finding.status is Status.ERROR
    assert "endpoint config aiw-churn-config of endpoint aiw-churn no longer exists" in finding.reason


def test_missing_endpoint_is_not_applicable(aws):
    assert check_finding(APPROVED, "aiw-never-deployed", aws).status is Status.NOT_APPLICABLE


# --- CloudTrail routing ---------------------------------------------------------------------


def cloudtrail_event(
    name: str, request: dict[str, Any], response: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The captured CreateNotebookInstance envelope with another SageMaker call in it."""
    event = copy.deepcopy(load_event("cloudtrail/sagemaker_create_notebook_instance.json"))
    event["detail"].update(eventName=name, requestParameters=request, responseElements=response)
    return event


# Other services' checks may follow the same events (lineage); only this catalog's are compared.
CATALOG = frozenset(
    {
        ROOT,
        NB_KMS,
        NB_VPC,
        PLATFORM,
        CAPTURE,
        MULTI,
        ISOLATION,
        MODEL_VPC,
        TJ_ICTE,
        TJ_ISOLATION,
        TJ_KMS,
        TJ_VPC,
        PJ_KMS,
        PJ_ICTE,
        PJ_ISOLATION,
        DOMAIN_VPC,
        MON_ISOLATION,
        MON_ICTE,
        APPROVED,
    }
)


def routed(event: dict[str, Any]) -> dict[tuple[str, str | None], frozenset[str]]:
    """(resource type, id) -> the catalog's checks the event triggers there."""
    out = {}
    for t in normalise(event).targets:
        mine = t.check_ids & CATALOG
        if mine:
            out[(t.scope.cfn_type, t.ref.resource_id if t.ref else None)] = mine
    return out


def test_approval_change_reevaluates_only_the_endpoints_serving_that_version(registry, deploy, aws):
    approved, other = registry("Approved"), registry("Approved")
    deploy("aiw-churn", approved)
    deploy("aiw-other", other)
    deploy("aiw-plain", None)
    aws.client("sagemaker").update_model_package(ModelPackageArn=approved, ModelApprovalStatus="Rejected")
    event = cloudtrail_event(
        "UpdateModelPackage", {"modelPackageArn": approved, "modelApprovalStatus": "Rejected"}
    )

    targets = [t for t in normalise(event).targets if APPROVED in t.check_ids]
    findings = evaluate(targets, aws, [REGISTRY[APPROVED]])

    assert [t.ref.type for t in targets if t.ref] == [MODEL_PACKAGE]
    assert [(f.check_id, f.ref.resource_id, f.status) for f in findings] == [
        (APPROVED, "aiw-churn", Status.FAIL)
    ]


def test_endpoint_events_target_the_endpoint():
    targets = routed(
        cloudtrail_event("UpdateEndpoint", {"endpointName": "aiw-churn", "endpointConfigName": "c2"})
    )

    assert targets == {(ENDPOINT.cfn_type, "aiw-churn"): frozenset({APPROVED})}


def test_create_training_job_targets_every_training_job_check():
    targets = routed(cloudtrail_event("CreateTrainingJob", {"trainingJobName": "aiw-train"}))

    assert targets == {
        (TRAINING_JOB.cfn_type, "aiw-train"): frozenset({TJ_ICTE, TJ_ISOLATION, TJ_KMS, TJ_VPC})
    }


def test_tagging_a_training_job_targets_only_training_job_checks():
    event = cloudtrail_event(
        "AddTags", {"resourceArn": arn("training-job", "aiw-train"), "tags": [{"key": "aiwarden:exempt"}]}
    )

    assert routed(event) == {
        (TRAINING_JOB.cfn_type, "aiw-train"): frozenset({TJ_ICTE, TJ_ISOLATION, TJ_KMS, TJ_VPC})
    }


def test_create_processing_job_targets_every_processing_job_check():
    targets = routed(cloudtrail_event("CreateProcessingJob", {"processingJobName": "aiw-process"}))

    assert targets == {
        ("AWS::SageMaker::ProcessingJob", "aiw-process"): frozenset({PJ_KMS, PJ_ICTE, PJ_ISOLATION})
    }


def test_create_domain_targets_the_domain_id_from_the_response_arn():
    event = cloudtrail_event(
        "CreateDomain", {"domainName": "aiwstudio"}, {"domainArn": arn("domain", "d-abc123def456")}
    )

    assert routed(event) == {(DOMAIN.cfn_type, "d-abc123def456"): frozenset({DOMAIN_VPC})}


def test_update_domain_targets_the_domain_id_from_the_request():
    event = cloudtrail_event(
        "UpdateDomain", {"domainId": "d-abc123def456", "appNetworkAccessType": "VpcOnly"}
    )

    assert routed(event) == {(DOMAIN.cfn_type, "d-abc123def456"): frozenset({DOMAIN_VPC})}


def test_update_monitoring_schedule_targets_both_schedule_checks():
    event = cloudtrail_event("UpdateMonitoringSchedule", {"monitoringScheduleName": "aiw-monitor"})

    assert routed(event) == {
        (MONITORING_SCHEDULE.cfn_type, "aiw-monitor"): frozenset({MON_ISOLATION, MON_ICTE})
    }


def test_update_notebook_reevaluates_only_the_updatable_settings():
    event = cloudtrail_event(
        "UpdateNotebookInstance", {"notebookInstanceName": "aiw-nb", "rootAccess": "Enabled"}
    )

    (check_ids,) = routed(event).values()

    assert {ROOT, PLATFORM} <= check_ids
    assert not {NB_KMS, NB_VPC} & check_ids
