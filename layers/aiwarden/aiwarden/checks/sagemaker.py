"""SageMaker notebooks, models and endpoint configurations."""

from __future__ import annotations

import re

from botocore.exceptions import ClientError

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import check, cloudtrail
from aiwarden.resources import error_code, s3
from aiwarden.resources.s3 import BUCKET
from aiwarden.resources.sagemaker import (
    ENDPOINT_CONFIG,
    MODEL,
    NOTEBOOK_INSTANCE,
    model_artifact_uris,
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
