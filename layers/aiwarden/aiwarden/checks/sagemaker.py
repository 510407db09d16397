"""SageMaker notebooks, models, endpoint configurations and endpoints, training and processing
jobs, Studio domains and model-monitor schedules."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import check, cloudtrail
from aiwarden.resources import error_code, s3
from aiwarden.resources.s3 import BUCKET
from aiwarden.resources.sagemaker import (
    DOMAIN,
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    MODEL_PACKAGE,
    MONITORING_JOB_DEFINITION_DESCRIBERS,
    MONITORING_SCHEDULE,
    NOTEBOOK_INSTANCE,
    PROCESSING_JOB,
    TRAINING_JOB,
    config_model_names,
    describe_named,
    job_instance_count,
    job_instance_types,
    model_artifact_uris,
    model_containers,
    model_package,
    monitoring_network_config,
)

# Exemption-tag changes on any SageMaker resource; the ARN says which resource it was.
TAGGING = cloudtrail("sagemaker", "AddTags", "DeleteTags", ids="requestParameters.resourceArn")


@check(
    id="sagemaker_notebook_direct_internet_access_disabled",
    title="SageMaker notebook instances have no direct internet access",
    severity=Severity.HIGH,
    resource=NOTEBOOK_INSTANCE,
    triggers=[
        cloudtrail(
            "sagemaker",
            "CreateNotebookInstance",
            "UpdateNotebookInstance",
            ids="requestParameters.notebookInstanceName",
        ),
        TAGGING,
    ],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Direct internet access cannot be changed on an existing instance: create a replacement "
        "with --direct-internet-access Disabled and a --subnet-id/--security-group-ids in a VPC "
        "that reaches the internet (if at all) through a NAT gateway and VPC endpoints, move the "
        "work over, then stop and delete the old instance."
    ),
    controls={
        "AWS-FSBP": ["SageMaker.1"],
        "AI-Security-v1": ["SageMaker.1"],
        "AWS-Config": ["SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS"],
        "NIST-800-53r5": ["AC-3", "AC-4", "AC-6", "AC-21", "SC-7"],
        "HIPAA": ["164.308(a)(3)(i)", "164.312(a)(1)"],
    },
)
def notebook_direct_internet_access_disabled(notebook: Resource, clients: Clients) -> Outcome:
    setting = notebook.data.get("DirectInternetAccess", "Enabled")
    if setting != "Disabled":
        return fail(f"notebook {notebook.name} has direct internet access {setting}")
    return ok(f"notebook {notebook.name} has no direct internet access")


# Instance families whose local NVMe instance store SageMaker encrypts in hardware; AWS rejects a
# KmsKeyId for endpoint configs that use them ("You can't request a KmsKeyId when using an
# instance type with local storage"), so they cannot fail this check.
_LOCAL_STORAGE_FAMILY = re.compile(r"ml\.([a-z]+\d+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1n?|trn2)\.")


def _uses_local_storage(config: dict[str, object]) -> bool:
    variants = config.get("ProductionVariants") or []
    types = [v.get("InstanceType", "") for v in variants if isinstance(v, dict)]
    return bool(types) and all(_LOCAL_STORAGE_FAMILY.match(t or "") for t in types)


@check(
    id="sagemaker_endpoint_config_kms_encrypted",
    title="SageMaker endpoint configurations encrypt attached storage with a KMS key",
    severity=Severity.MEDIUM,
    resource=ENDPOINT_CONFIG,
    triggers=[
        cloudtrail("sagemaker", "CreateEndpointConfig", ids="requestParameters.endpointConfigName"),
        TAGGING,
    ],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Endpoint configurations are immutable: create a new one with --kms-key-id set to a "
        "customer managed key, point the endpoint at it (aws sagemaker update-endpoint "
        "--endpoint-name NAME --endpoint-config-name NEW), then delete the old configuration."
    ),
    controls={
        "AWS-Config": ["SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED"],
        "NIST-800-53r5": ["SC-12", "SC-13", "SC-28", "SC-28(1)"],
        "HIPAA": ["164.312(a)(2)(iv)"],
        "GDPR": ["Art.32"],
    },
)
def endpoint_config_kms_encrypted(config: Resource, clients: Clients) -> Outcome:
    if config.data.get("KmsKeyId"):
        return ok(f"endpoint config {config.name} encrypts with {config.data['KmsKeyId']}")
    if _uses_local_storage(config.data):
        return ok(
            f"endpoint config {config.name} uses instance types with local NVMe storage, "
            "which SageMaker encrypts in hardware (a KmsKeyId is not accepted there)"
        )
    return fail(f"endpoint config {config.name} sets no KmsKeyId for its storage volumes")


@check(
    id="sagemaker_model_artifacts_encrypted",
    title="SageMaker model artifacts live in buckets encrypted by default with AWS KMS",
    severity=Severity.HIGH,
    resource=MODEL,
    triggers=[
        cloudtrail("sagemaker", "CreateModel", ids="requestParameters.modelName"),
        TAGGING,
        # Lineage: a change to the bucket re-flags every model whose artifacts it holds.
        cloudtrail(
            "s3",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            ids="requestParameters.bucketName",
            resource=BUCKET,
        ),
    ],
    permissions=["s3:GetEncryptionConfiguration"],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Turn on SSE-KMS default encryption on the artifact bucket and re-encrypt the existing "
        "artifacts in place (aws s3 cp s3://BUCKET/KEY s3://BUCKET/KEY --sse aws:kms "
        "--sse-kms-key-id KEY_ARN), or copy them to a KMS-encrypted bucket and create a new "
        "model version that points there."
    ),
    controls={
        "AWS-Config": ["S3_DEFAULT_ENCRYPTION_KMS"],
        "NIST-800-53r5": ["SC-12", "SC-28", "SC-28(1)"],
        "HIPAA": ["164.312(a)(2)(iv)"],
        "GDPR": ["Art.32"],
    },
)
def model_artifacts_encrypted(model: Resource, clients: Clients) -> Outcome:
    uris = model_artifact_uris(model.data)
    if not uris:
        return ok(f"model {model.name} loads no artifacts from S3")
    problems = []
    for uri in uris:
        parsed = s3.parse_s3_uri(uri)
        if parsed is None:
            problems.append(f"{uri}, which is not an S3 location AI Warden can check")
            continue
        bucket = parsed[0]
        try:
            rules = s3.default_encryption(clients, bucket)
        except ClientError as exc:
            if error_code(exc) != "NoSuchBucket":
                raise
            # A model pointing at a deleted bucket can be hijacked by whoever recreates the name.
            problems.append(f"bucket {bucket} ({uri}), which does not exist")
            continue
        if s3.kms_algorithm(rules) is None:
            problems.append(f"bucket {bucket} ({uri}), which has {s3.describe_encryption(rules)}")
    if problems:
        return fail(f"model {model.name} loads artifacts from " + "; ".join(problems))
    return ok(f"model {model.name} loads artifacts only from KMS-encrypted buckets")


# --- notebook instances ---------------------------------------------------------------------
# CloudTrail logs the API request in lowerCamelCase: the notebook's name is
# requestParameters.notebookInstanceName on both calls.
NOTEBOOK_CREATED = cloudtrail(
    "sagemaker", "CreateNotebookInstance", ids="requestParameters.notebookInstanceName"
)
NOTEBOOK_CHANGED = cloudtrail(
    "sagemaker",
    "CreateNotebookInstance",
    "UpdateNotebookInstance",
    ids="requestParameters.notebookInstanceName",
)


@check(
    id="sagemaker_notebook_root_access_disabled",
    title="SageMaker notebook instances deny users root access",
    severity=Severity.HIGH,
    resource=NOTEBOOK_INSTANCE,
    triggers=[NOTEBOOK_CHANGED, TAGGING],
    permissions=[],
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        "Stop the instance (aws sagemaker stop-notebook-instance --notebook-instance-name NAME), "
        "turn root access off (aws sagemaker update-notebook-instance --notebook-instance-name NAME "
        "--root-access Disabled) and start it again. Move any setup that needs sudo into a "
        "reviewed lifecycle configuration, which still runs as root."
    ),
    controls={
        "AWS-FSBP": ["SageMaker.3"],
        "AI-Security-v1": ["SageMaker.3"],
        "AWS-Config": ["SAGEMAKER_NOTEBOOK_INSTANCE_ROOT_ACCESS_CHECK"],
        "NIST-800-53r5": ["AC-2(1)", "AC-3(15)", "AC-3(7)", "AC-6", "AC-6(10)", "AC-6(2)"],
    },
)
def notebook_root_access_disabled(notebook: Resource, clients: Clients) -> Outcome:
    # RootAccess defaults to Enabled when it was never set.
    setting = notebook.data.get("RootAccess") or "Enabled"
    if setting != "Disabled":
        return fail(f"notebook {notebook.name} gives its users root access (RootAccess {setting})")
    return ok(f"notebook {notebook.name} denies its users root access")


@check(
    id="sagemaker_notebook_kms_encrypted",
    title="SageMaker notebook instances encrypt their ML storage volume with a KMS key",
    severity=Severity.MEDIUM,
    resource=NOTEBOOK_INSTANCE,
    # KmsKeyId can only be set when the instance is created.
    triggers=[NOTEBOOK_CREATED, TAGGING],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "The key cannot be added to an existing instance: create a replacement with "
        "aws sagemaker create-notebook-instance ... --kms-key-id KEY_ARN (a customer managed key "
        "whose policy lets the notebook's execution role use it), copy /home/ec2-user/SageMaker "
        "over (for example through S3), then stop and delete the old instance."
    ),
    controls={
        "AI-Security-v1": ["SageMaker.21"],
        "AWS-Config": [
            "SAGEMAKER_NOTEBOOK_INSTANCE_STORAGE_VOL_KMS_ENCRYPTED",
            "SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED",
        ],
        "HIPAA": ["164.312(a)(2)(iv)"],
        "GDPR": ["Art.32"],
    },
)
def notebook_kms_encrypted(notebook: Resource, clients: Clients) -> Outcome:
    key = notebook.data.get("KmsKeyId")
    if not key:
        return fail(f"notebook {notebook.name} sets no KmsKeyId for its ML storage volume")
    return ok(f"notebook {notebook.name} encrypts its ML storage volume with {key}")


@check(
    id="sagemaker_notebook_in_vpc",
    title="SageMaker notebook instances run in a subnet of a customer VPC",
    severity=Severity.HIGH,
    resource=NOTEBOOK_INSTANCE,
    # The subnet can only be chosen when the instance is created.
    triggers=[NOTEBOOK_CREATED, TAGGING],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "The VPC cannot be changed on an existing instance: create a replacement with "
        "--subnet-id SUBNET --security-group-ids SG --direct-internet-access Disabled in a private "
        "subnet with VPC endpoints (S3, SageMaker API/runtime, STS, CloudWatch Logs), move the "
        "work over, then stop and delete the old instance."
    ),
    controls={
        "AWS-FSBP": ["SageMaker.2"],
        "AI-Security-v1": ["SageMaker.2"],
        "AWS-Config": ["SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC"],
        "NIST-800-53r5": [
            "AC-21",
            "AC-3",
            "AC-3(7)",
            "AC-4",
            "AC-4(21)",
            "AC-6",
            "SC-7",
            "SC-7(11)",
            "SC-7(16)",
            "SC-7(20)",
            "SC-7(21)",
            "SC-7(3)",
            "SC-7(4)",
            "SC-7(9)",
        ],
    },
)
def notebook_in_vpc(notebook: Resource, clients: Clients) -> Outcome:
    subnet = notebook.data.get("SubnetId")
    if not subnet:
        return fail(f"notebook {notebook.name} has no subnet: it runs in the SageMaker service VPC")
    return ok(f"notebook {notebook.name} runs in subnet {subnet}")


# Notebook platforms and the day AWS stops supporting them; None means supported with no end
# announced. Source: SageMaker AI Developer Guide, "Amazon Linux 2 notebook instances" (nbi-al2:
# AL1 end of life 2024-03-31; JupyterLab 1/3 platforms notebook-al2-v1/-v2 deprecated since
# 2025-06-30; Amazon Linux 2 end of support 2026-06-30 for notebook-al2-v3) and Security Hub
# control SageMaker.8, whose only supported identifier is notebook-al2023-v1. Anything not listed
# (botocore also accepts notebook-al2023-v2, which the guide does not document yet) fails like
# it does in SageMaker.8 until it is added here.
NOTEBOOK_PLATFORM_END_OF_SUPPORT: dict[str, date | None] = {
    "notebook-al1-v1": date(2024, 3, 31),
    "notebook-al2-v1": date(2025, 6, 30),
    "notebook-al2-v2": date(2025, 6, 30),
    "notebook-al2-v3": date(2026, 6, 30),
    "notebook-al2023-v1": None,
}


def _today() -> date:
    return datetime.now(UTC).date()


@check(
    id="sagemaker_notebook_platform_supported",
    title="SageMaker notebook instances run on a platform AWS still supports",
    severity=Severity.MEDIUM,
    resource=NOTEBOOK_INSTANCE,
    triggers=[NOTEBOOK_CHANGED, TAGGING],
    permissions=[],
    practice=Practice.PATCHING_AND_UPDATES,
    remediation=(
        "Stop the instance, move it to Amazon Linux 2023 in place (aws sagemaker "
        "update-notebook-instance --notebook-instance-name NAME --platform-identifier "
        "notebook-al2023-v1; the ML storage volume is kept) and start it again. Update lifecycle "
        "configuration scripts from yum to dnf first."
    ),
    controls={
        "AWS-FSBP": ["SageMaker.8"],
        "AI-Security-v1": ["SageMaker.8"],
        "AWS-Config": ["SAGEMAKER_NOTEBOOK_INSTANCE_PLATFORM_VERSION"],
    },
)
def notebook_platform_supported(notebook: Resource, clients: Clients) -> Outcome:
    platform = notebook.data.get("PlatformIdentifier")
    supported = ", ".join(p for p, end in NOTEBOOK_PLATFORM_END_OF_SUPPORT.items() if end is None)
    if not platform:
        return fail(f"notebook {notebook.name} reports no platform identifier (supported: {supported})")
    if platform not in NOTEBOOK_PLATFORM_END_OF_SUPPORT:
        return fail(f"notebook {notebook.name} runs {platform}, not a supported platform ({supported})")
    end = NOTEBOOK_PLATFORM_END_OF_SUPPORT[platform]
    if end is None:
        return ok(f"notebook {notebook.name} runs {platform}, a supported platform")
    if _today() >= end:
        return fail(
            f"notebook {notebook.name} runs {platform}, which AWS stopped supporting on "
            f"{end.isoformat()}: it gets no security updates (move to {supported})"
        )
    return ok(f"notebook {notebook.name} runs {platform}, supported until {end.isoformat()}")


# --- endpoint configurations ----------------------------------------------------------------
ENDPOINT_CONFIG_CREATED = cloudtrail(
    "sagemaker", "CreateEndpointConfig", ids="requestParameters.endpointConfigName"
)


@check(
    id="sagemaker_endpoint_config_data_capture_encrypted",
    title="SageMaker endpoint configurations encrypt captured inference data with a KMS key",
    severity=Severity.MEDIUM,
    resource=ENDPOINT_CONFIG,
    triggers=[ENDPOINT_CONFIG_CREATED, TAGGING],
    permissions=["s3:GetEncryptionConfiguration"],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Endpoint configurations are immutable: create a new one whose DataCaptureConfig sets "
        "KmsKeyId to a customer managed key (or capture into a bucket whose default encryption "
        "is SSE-KMS), switch the endpoint to it (aws sagemaker update-endpoint --endpoint-name "
        "NAME --endpoint-config-name NEW) and delete the old configuration."
    ),
)
def endpoint_config_data_capture_encrypted(config: Resource, clients: Clients) -> Outcome:
    """Captured requests and responses are raw inference payloads (often personal data). They
    are KMS-encrypted when DataCaptureConfig.KmsKeyId is set or, failing that, when the
    destination bucket encrypts by default with SSE-KMS; otherwise S3 applies SSE-S3 only."""
    capture = config.data.get("DataCaptureConfig") or {}
    if not capture or capture.get("EnableCapture") is False:  # EnableCapture defaults to true
        return ok(f"endpoint config {config.name} captures no inference data")
    if capture.get("KmsKeyId"):
        return ok(f"endpoint config {config.name} encrypts captured data with {capture['KmsKeyId']}")
    destination = str(capture.get("DestinationS3Uri") or "")
    parsed = s3.parse_s3_uri(destination)
    if parsed is None:
        return fail(f"endpoint config {config.name} captures inference data with no KmsKeyId")
    try:
        rules = s3.default_encryption(clients, parsed[0])
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucket":
            raise
        return fail(
            f"endpoint config {config.name} captures inference data with no KmsKeyId into "
            f"bucket {parsed[0]}, which does not exist"
        )
    algorithm = s3.kms_algorithm(rules)
    if algorithm is not None:
        return ok(
            f"endpoint config {config.name} captures into bucket {parsed[0]}, which encrypts by "
            f"default with {algorithm}"
        )
    return fail(
        f"endpoint config {config.name} captures inference data to {destination} with no KmsKeyId "
        f"and the bucket has {s3.describe_encryption(rules)}"
    )


@check(
    id="sagemaker_endpoint_config_multi_instance",
    title="SageMaker endpoint configurations start instance-based variants on more than one instance",
    severity=Severity.MEDIUM,
    resource=ENDPOINT_CONFIG,
    triggers=[ENDPOINT_CONFIG_CREATED, TAGGING],
    permissions=[],
    # Two or more instances let SageMaker spread a variant over Availability Zones and replace or
    # patch instances without taking the model offline: the resilience side of controlled
    # model updates.
    practice=Practice.PATCHING_AND_UPDATES,
    remediation=(
        "Create a new endpoint configuration whose instance-based production variants set "
        "InitialInstanceCount to 2 or more, then switch the endpoint to it (aws sagemaker "
        "update-endpoint --endpoint-name NAME --endpoint-config-name NEW); add auto scaling with "
        "a minimum capacity of 2 so the count stays there."
    ),
    controls={
        "AWS-FSBP": ["SageMaker.4"],
        "AI-Security-v1": ["SageMaker.4"],
        "AWS-Config": ["SAGEMAKER_ENDPOINT_CONFIG_PROD_INSTANCE_COUNT"],
        "NIST-800-53r5": ["CP-10", "SC-5", "SC-36", "SA-13"],
    },
)
def endpoint_config_multi_instance(config: Resource, clients: Clients) -> Outcome:
    variants = config.data.get("ProductionVariants") or []
    # Serverless variants have no instances to count (SageMaker.4 covers instance-based only).
    instance_based = [v for v in variants if v.get("InstanceType") or not v.get("ServerlessConfig")]
    if not instance_based:
        return ok(f"endpoint config {config.name} has only serverless variants")
    single = [
        f"{v.get('VariantName', '?')} ({v.get('InitialInstanceCount', 'no count')})"
        for v in instance_based
        if int(v.get("InitialInstanceCount") or 0) < 2
    ]
    if single:
        return fail(
            f"endpoint config {config.name} starts variant(s) on a single instance: " + ", ".join(single)
        )
    return ok(f"endpoint config {config.name} starts every instance-based variant on 2+ instances")


# --- models ---------------------------------------------------------------------------------
MODEL_CREATED = cloudtrail("sagemaker", "CreateModel", ids="requestParameters.modelName")


@check(
    id="sagemaker_model_network_isolation_enabled",
    title="SageMaker models run their containers with network isolation",
    severity=Severity.MEDIUM,
    resource=MODEL,
    triggers=[MODEL_CREATED, TAGGING],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Models are immutable: create a new model with --enable-network-isolation (the container "
        "then gets no network access and no AWS credentials; SageMaker still loads the artifacts), "
        "point a new endpoint configuration at it and update the endpoint."
    ),
    controls={
        "AWS-FSBP": ["SageMaker.5"],
        "AI-Security-v1": ["SageMaker.5"],
        "AWS-Config": ["SAGEMAKER_MODEL_ISOLATION_ENABLED"],
    },
)
def model_network_isolation_enabled(model: Resource, clients: Clients) -> Outcome:
    # moto's DescribeModel never reports EnableNetworkIsolation=true: the passing case is tested
    # with Stubber on the real DescribeModel shape.
    if model.data.get("EnableNetworkIsolation") is True:
        return ok(f"model {model.name} runs with network isolation")
    return fail(f"model {model.name} lets its containers make network calls (EnableNetworkIsolation off)")


@check(
    id="sagemaker_model_in_vpc",
    title="SageMaker models run their containers in a customer VPC",
    severity=Severity.MEDIUM,
    resource=MODEL,
    triggers=[MODEL_CREATED, TAGGING],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Models are immutable: create a new model with --vpc-config "
        "Subnets=SUBNET,SecurityGroupIds=SG (private subnets with an S3 gateway endpoint and the "
        "ECR/SageMaker interface endpoints it needs), point a new endpoint configuration at it "
        "and update the endpoint."
    ),
    controls={"AWS-Config": ["SAGEMAKER_MODEL_IN_VPC"]},
)
def model_in_vpc(model: Resource, clients: Clients) -> Outcome:
    subnets = (model.data.get("VpcConfig") or {}).get("Subnets") or []
    if not subnets:
        return fail(f"model {model.name} has no VpcConfig subnets: its containers use the SageMaker network")
    return ok(f"model {model.name} runs in subnet(s) {', '.join(subnets)}")


# --- training jobs --------------------------------------------------------------------------
# Training and processing jobs are immutable: CreateTrainingJob/CreateProcessingJob are the only
# calls that set what these checks read. The training jobs a hyperparameter tuning job starts
# come from SageMaker itself (no CreateTrainingJob of their own is assumed): the sweep finds them.
TRAINING_JOB_CREATED = cloudtrail("sagemaker", "CreateTrainingJob", ids="requestParameters.trainingJobName")


# Instance families with local NVMe storage: SageMaker encrypts it in hardware and rejects a
# volume KMS key for them (shared with the endpoint-configuration check above).
def _all_local_storage(instance_types: list[str]) -> bool:
    return bool(instance_types) and all(_LOCAL_STORAGE_FAMILY.match(t) for t in instance_types)


def _volume_and_output_keys(
    kind: str, name: str, cluster: dict[str, Any], output_key: str | None, has_output: bool
) -> Outcome:
    problems = []
    if not cluster.get("VolumeKmsKeyId") and not _all_local_storage(job_instance_types(cluster)):
        problems.append("no VolumeKmsKeyId for its storage volumes")
    if has_output and not output_key:
        problems.append("no KmsKeyId for its S3 output")
    if problems:
        return fail(f"{kind} {name} sets " + " and ".join(problems))
    return ok(f"{kind} {name} encrypts its storage volumes and output with KMS keys")


@check(
    id="sagemaker_training_job_intercontainer_encryption_enabled",
    title="Distributed SageMaker training jobs encrypt traffic between their instances",
    severity=Severity.MEDIUM,
    resource=TRAINING_JOB,
    triggers=[TRAINING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Jobs cannot be changed: run the next job with --enable-inter-container-traffic-encryption "
        "(Estimator(encrypt_inter_container_traffic=True) in the SageMaker Python SDK), and deny "
        "the unencrypted form with an IAM condition on sagemaker:InterContainerTrafficEncryption."
    ),
)
def training_job_intercontainer_encryption_enabled(job: Resource, clients: Clients) -> Outcome:
    if job.data.get("EnableInterContainerTrafficEncryption") is True:
        return ok(f"training job {job.name} encrypts traffic between its instances")
    count = job_instance_count(job.data.get("ResourceConfig") or {})
    if count <= 1:
        return ok(f"training job {job.name} runs on one instance, so it has no inter-container traffic")
    return fail(f"training job {job.name} sends unencrypted traffic between its {count} instances")


@check(
    id="sagemaker_training_job_network_isolation_enabled",
    title="SageMaker training jobs run their containers with network isolation",
    severity=Severity.HIGH,
    resource=TRAINING_JOB,
    triggers=[TRAINING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Jobs cannot be changed: run the next job with --enable-network-isolation "
        "(Estimator(enable_network_isolation=True)); bake dependencies into the training image or "
        "pass them as input channels, and enforce it with the IAM condition "
        "sagemaker:NetworkIsolation."
    ),
)
def training_job_network_isolation_enabled(job: Resource, clients: Clients) -> Outcome:
    if job.data.get("EnableNetworkIsolation") is True:
        return ok(f"training job {job.name} runs with network isolation")
    return fail(
        f"training job {job.name} lets its containers make network calls (EnableNetworkIsolation off)"
    )


@check(
    id="sagemaker_training_job_kms_encrypted",
    title="SageMaker training jobs encrypt their storage volumes and model output with KMS keys",
    severity=Severity.HIGH,
    resource=TRAINING_JOB,
    triggers=[TRAINING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Jobs cannot be changed: run the next job with ResourceConfig.VolumeKmsKeyId and "
        "OutputDataConfig.KmsKeyId set to a customer managed key (Estimator(volume_kms_key=..., "
        "output_kms_key=...)), and require them with the IAM condition sagemaker:VolumeKmsKey."
    ),
)
def training_job_kms_encrypted(job: Resource, clients: Clients) -> Outcome:
    output = job.data.get("OutputDataConfig") or {}
    return _volume_and_output_keys(
        "training job", job.name, job.data.get("ResourceConfig") or {}, output.get("KmsKeyId"), True
    )


@check(
    id="sagemaker_training_job_in_vpc",
    title="SageMaker training jobs run in a customer VPC",
    severity=Severity.HIGH,
    resource=TRAINING_JOB,
    triggers=[TRAINING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Jobs cannot be changed: run the next job with --vpc-config "
        "Subnets=SUBNET,SecurityGroupIds=SG in private subnets with an S3 gateway endpoint, and "
        "require it with the IAM condition sagemaker:VpcSubnets."
    ),
)
def training_job_in_vpc(job: Resource, clients: Clients) -> Outcome:
    subnets = (job.data.get("VpcConfig") or {}).get("Subnets") or []
    if not subnets:
        return fail(f"training job {job.name} has no VpcConfig subnets: it runs in the SageMaker network")
    return ok(f"training job {job.name} runs in subnet(s) {', '.join(subnets)}")


# --- processing jobs ------------------------------------------------------------------------
PROCESSING_JOB_CREATED = cloudtrail(
    "sagemaker", "CreateProcessingJob", ids="requestParameters.processingJobName"
)


@check(
    id="sagemaker_processing_job_kms_encrypted",
    title="SageMaker processing jobs encrypt their storage volumes and output with KMS keys",
    severity=Severity.HIGH,
    resource=PROCESSING_JOB,
    triggers=[PROCESSING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Jobs cannot be changed: run the next job with ProcessingResources.ClusterConfig."
        "VolumeKmsKeyId and ProcessingOutputConfig.KmsKeyId set to a customer managed key "
        "(Processor(volume_kms_key=..., output_kms_key=...)), and require them with the IAM "
        "condition sagemaker:VolumeKmsKey."
    ),
)
def processing_job_kms_encrypted(job: Resource, clients: Clients) -> Outcome:
    # moto drops ProcessingResources: this check is tested with Stubber on the real shape.
    cluster = (job.data.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    output = job.data.get("ProcessingOutputConfig")
    return _volume_and_output_keys(
        "processing job", job.name, cluster, (output or {}).get("KmsKeyId"), output is not None
    )


@check(
    id="sagemaker_processing_job_intercontainer_encryption_enabled",
    title="Distributed SageMaker processing jobs encrypt traffic between their instances",
    severity=Severity.MEDIUM,
    resource=PROCESSING_JOB,
    triggers=[PROCESSING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Jobs cannot be changed: run the next job with NetworkConfig."
        "EnableInterContainerTrafficEncryption=true (NetworkConfig(encrypt_inter_container_traffic"
        "=True) in the SageMaker Python SDK)."
    ),
)
def processing_job_intercontainer_encryption_enabled(job: Resource, clients: Clients) -> Outcome:
    if (job.data.get("NetworkConfig") or {}).get("EnableInterContainerTrafficEncryption") is True:
        return ok(f"processing job {job.name} encrypts traffic between its instances")
    cluster = (job.data.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    count = job_instance_count(cluster)
    if count == 1:
        return ok(f"processing job {job.name} runs on one instance, so it has no inter-container traffic")
    size = f"its {count} instances" if count else "its instances"
    return fail(f"processing job {job.name} sends unencrypted traffic between {size}")


@check(
    id="sagemaker_processing_job_network_isolation_enabled",
    title="SageMaker processing jobs run their containers with network isolation",
    severity=Severity.MEDIUM,
    resource=PROCESSING_JOB,
    triggers=[PROCESSING_JOB_CREATED, TAGGING],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Jobs cannot be changed: run the next job with NetworkConfig.EnableNetworkIsolation=true "
        "(NetworkConfig(enable_network_isolation=True)), with its code and dependencies in the "
        "image or its inputs."
    ),
)
def processing_job_network_isolation_enabled(job: Resource, clients: Clients) -> Outcome:
    if (job.data.get("NetworkConfig") or {}).get("EnableNetworkIsolation") is True:
        return ok(f"processing job {job.name} runs with network isolation")
    return fail(
        f"processing job {job.name} lets its containers make network calls (EnableNetworkIsolation off)"
    )


# --- Studio domains -------------------------------------------------------------------------


@check(
    id="sagemaker_domain_vpc_only",
    title="SageMaker domains send Studio traffic only through the customer VPC",
    severity=Severity.HIGH,
    resource=DOMAIN,
    triggers=[
        # The domain id only exists once created: CreateDomain names it in the response ARN,
        # UpdateDomain in the request.
        cloudtrail("sagemaker", "CreateDomain", ids="responseElements.domainArn"),
        cloudtrail("sagemaker", "UpdateDomain", ids="requestParameters.domainId"),
        TAGGING,
    ],
    permissions=[],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Give the domain's subnets VPC endpoints (SageMaker API/runtime/Studio, S3, STS, "
        "CloudWatch Logs) or a NAT gateway, delete running apps (the change needs none running), "
        "then aws sagemaker update-domain --domain-id ID --app-network-access-type VpcOnly."
    ),
    controls={"AWS-Config": ["SAGEMAKER_DOMAIN_IN_VPC"]},
)
def domain_vpc_only(domain: Resource, clients: Clients) -> Outcome:
    label = f"domain {domain.data.get('DomainName') or domain.name} ({domain.name})"
    # The API default is PublicInternetOnly.
    access = domain.data.get("AppNetworkAccessType") or "PublicInternetOnly"
    if access != "VpcOnly":
        return fail(
            f"{label} routes Studio traffic through a SageMaker-managed VPC with internet access ({access})"
        )
    return ok(f"{label} sends Studio traffic only through VPC {domain.data.get('VpcId', '?')}")


# --- model-monitor schedules ----------------------------------------------------------------
MONITORING_SCHEDULE_CHANGED = cloudtrail(
    "sagemaker",
    "CreateMonitoringSchedule",
    "UpdateMonitoringSchedule",
    ids="requestParameters.monitoringScheduleName",
)
# A schedule may name a job definition instead of embedding one; reading it needs the Describe
# call for its monitoring type.
_JOB_DEFINITION_PERMISSIONS = [action for _, action in MONITORING_JOB_DEFINITION_DESCRIBERS.values()]


@check(
    id="sagemaker_monitoring_schedule_network_isolation_enabled",
    title="SageMaker model-monitor schedules run their jobs with network isolation",
    severity=Severity.MEDIUM,
    resource=MONITORING_SCHEDULE,
    triggers=[MONITORING_SCHEDULE_CHANGED, TAGGING],
    permissions=_JOB_DEFINITION_PERMISSIONS,
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Set NetworkConfig.EnableNetworkIsolation=true in the schedule's job definition: "
        "aws sagemaker update-monitoring-schedule with the inline MonitoringJobDefinition, or "
        "create a new job definition with it and point the schedule at that definition."
    ),
    controls={"AI-Security-v1": ["SageMaker.14"]},
)
def monitoring_schedule_network_isolation_enabled(schedule: Resource, clients: Clients) -> Outcome:
    # moto has no monitoring schedules: tested with Stubber on the real response shapes.
    source, network = monitoring_network_config(clients, schedule)
    if network.get("EnableNetworkIsolation") is True:
        return ok(f"monitoring schedule {schedule.name} runs its jobs with network isolation ({source})")
    return fail(
        f"monitoring schedule {schedule.name} runs its jobs without network isolation "
        f"(EnableNetworkIsolation off in {source})"
    )


@check(
    id="sagemaker_monitoring_schedule_intercontainer_encryption_enabled",
    title="SageMaker model-monitor schedules encrypt traffic between their job's instances",
    severity=Severity.MEDIUM,
    resource=MONITORING_SCHEDULE,
    triggers=[MONITORING_SCHEDULE_CHANGED, TAGGING],
    permissions=_JOB_DEFINITION_PERMISSIONS,
    practice=Practice.ENCRYPTION,
    remediation=(
        "Set NetworkConfig.EnableInterContainerTrafficEncryption=true in the schedule's job "
        "definition: recreate the schedule (or its named job definition) with it, as the setting "
        "cannot be changed in place."
    ),
    controls={
        "AI-Security-v1": ["SageMaker.22"],
        "AWS-Config": ["SAGEMAKER_MONITORING_SCHEDULE_TRAFFIC_ENCRYPTION"],
    },
)
def monitoring_schedule_intercontainer_encryption_enabled(schedule: Resource, clients: Clients) -> Outcome:
    # Like SageMaker.22, whatever the instance count: a schedule's jobs may be scaled up later.
    source, network = monitoring_network_config(clients, schedule)
    if network.get("EnableInterContainerTrafficEncryption") is True:
        return ok(f"monitoring schedule {schedule.name} encrypts inter-container traffic ({source})")
    return fail(
        f"monitoring schedule {schedule.name} does not encrypt inter-container traffic "
        f"(EnableInterContainerTrafficEncryption off in {source})"
    )


# --- endpoints and the model registry -------------------------------------------------------


@check(
    id="sagemaker_endpoint_model_package_approved",
    title="SageMaker endpoints serve registry models only from approved model package versions",
    severity=Severity.MEDIUM,
    resource=ENDPOINT,
    triggers=[
        cloudtrail("sagemaker", "CreateEndpoint", "UpdateEndpoint", ids="requestParameters.endpointName"),
        TAGGING,
        # Lineage: approving or rejecting a package version re-evaluates the endpoints serving it.
        # CreateModelPackage is not followed: a new version serves nowhere until a model and an
        # endpoint are built from it, which CreateEndpoint/UpdateEndpoint catch.
        cloudtrail(
            "sagemaker", "UpdateModelPackage", ids="requestParameters.modelPackageArn", resource=MODEL_PACKAGE
        ),
    ],
    permissions=[
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListTags",
    ],
    practice=Practice.PATCHING_AND_UPDATES,
    remediation=(
        "Approve the package version after review (aws sagemaker update-model-package "
        "--model-package-arn ARN --model-approval-status Approved) or roll the endpoint back to a "
        "model built from an approved version (new endpoint configuration, then aws sagemaker "
        "update-endpoint). Deploy from the registry through a pipeline that only picks Approved "
        "versions."
    ),
)
def endpoint_model_package_approved(endpoint: Resource, clients: Clients) -> Outcome:
    """Follows endpoint -> its endpoint configuration (production and shadow variants) -> the
    models -> every container's ModelPackageName, and requires each such package version to have
    ModelApprovalStatus Approved (PendingManualApproval and Rejected fail, as does a package
    that no longer exists, since its approval can then not be shown).

    A container without ModelPackageName, or one built from an unversioned package (AWS
    Marketplace, no approval status), is not from the model registry and passes: using the
    registry is optional, and failing every endpoint that does not use it would flag adoption
    rather than a gap in a control that is in place. Inference-component endpoints name no models
    in their variants and pass for the same reason."""
    config_name = endpoint.data.get("EndpointConfigName")
    if not config_name:
        return ok(f"endpoint {endpoint.name} names no endpoint configuration, so no registry models")
    config = describe_named(clients, ENDPOINT_CONFIG, config_name, endpoint.ref)
    if config is None:
        raise LookupError(
            f"endpoint config {config_name} of endpoint {endpoint.name} no longer exists, so its "
            "models cannot be traced"
        )
    problems: list[str] = []
    approved: list[str] = []
    for model_name in config_model_names(config.data):
        model = describe_named(clients, MODEL, model_name, endpoint.ref)
        if model is None:
            raise LookupError(f"model {model_name} of endpoint {endpoint.name} no longer exists")
        for container in model_containers(model.data):
            package_name = container.get("ModelPackageName")
            if not package_name:
                continue
            package = model_package(clients, endpoint.ref.region, package_name)
            if package is None:
                problems.append(f"model {model_name} uses package {package_name}, which no longer exists")
                continue
            status = package.get("ModelApprovalStatus")
            if status is None:
                continue  # unversioned (Marketplace) package: not a registry version
            if status != "Approved":
                problems.append(f"model {model_name} uses package {package_name}, which is {status}")
            else:
                approved.append(package_name)
    if problems:
        return fail(f"endpoint {endpoint.name} serves unapproved registry models: " + "; ".join(problems))
    if not approved:
        return ok(f"endpoint {endpoint.name} serves no models from the model registry")
    return ok(f"endpoint {endpoint.name} serves only approved package versions: " + ", ".join(approved))
