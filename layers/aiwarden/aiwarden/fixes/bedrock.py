"""Bedrock fix: turn on model invocation logging to the S3 bucket the operator names.

There is no destination to invent: the bucket must be in the same account and Region as the
logging configuration, let bedrock.amazonaws.com write, and be locked down (the logs hold prompts
and completions). So the operator names it in AIWARDEN_BEDROCK_LOG_BUCKET; "{region}" in the
value stands for the Region being fixed, for one bucket per Region.
"""

from __future__ import annotations

import os

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix

BUCKET_ENV = "AIWARDEN_BEDROCK_LOG_BUCKET"


def log_destination(region: str) -> tuple[str, str | None]:
    """(bucket, key prefix) from AIWARDEN_BEDROCK_LOG_BUCKET: "bucket", "bucket/prefix" or
    "s3://bucket/prefix", with "{region}" replaced by ``region``."""
    value = os.environ.get(BUCKET_ENV, "").strip().removeprefix("s3://").replace("{region}", region)
    bucket, _, prefix = value.partition("/")
    if not bucket:
        raise RuntimeError(
            f"{BUCKET_ENV} is not set: name the S3 bucket (same account and Region, writable by "
            "bedrock.amazonaws.com) that should receive Bedrock invocation logs; AI Warden does not "
            "invent one"
        )
    return bucket, prefix.strip("/") or None


@fix(
    check_id="bedrock_model_invocation_logging_enabled",
    action=f"turn on Bedrock model invocation logging to the S3 bucket named in {BUCKET_ENV}",
    permissions=["bedrock:PutModelInvocationLoggingConfiguration"],
)
def model_invocation_logging(account: Resource, clients: Clients) -> str:
    region = account.ref.region
    bucket, prefix = log_destination(region)
    s3_config = {"bucketName": bucket, **({"keyPrefix": prefix} if prefix else {})}
    # The check passes only without any destination, so this replaces no S3 or CloudWatch setting.
    clients.client("bedrock", region).put_model_invocation_logging_configuration(
        loggingConfig={
            "s3Config": s3_config,
            "textDataDeliveryEnabled": True,
            "imageDataDeliveryEnabled": True,
            "embeddingDataDeliveryEnabled": True,
        }
    )
    where = f"s3://{bucket}/{prefix + '/' if prefix else ''}"
    return (
        f"turned on Bedrock model invocation logging in {region} to {where} (text, image and embedding "
        "data); the logs hold prompts and completions: restrict who can read them"
    )
