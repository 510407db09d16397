"""S3 fixes: safe, one call each, and prospective (they change defaults, not existing objects)."""

from __future__ import annotations

import os

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix
from aiwarden.resources.s3 import PUBLIC_ACCESS_FIELDS


@fix(
    check_id="s3_bucket_default_encryption_kms",
    action="set SSE-KMS default encryption with S3 Bucket Keys",
    permissions=["s3:PutEncryptionConfiguration"],
)
def bucket_default_encryption_kms(bucket: Resource, clients: Clients) -> str:
    # A customer managed key when the operator names one; otherwise the account's aws/s3 key.
    key = os.environ.get("AIWARDEN_REMEDIATION_KMS_KEY_ARN")
    default = {"SSEAlgorithm": "aws:kms", **({"KMSMasterKeyID": key} if key else {})}
    clients.client("s3").put_bucket_encryption(
        Bucket=bucket.name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]
        },
    )
    return (
        f"set default encryption of {bucket.name} to SSE-KMS ({key or 'aws/s3'}); existing objects unchanged"
    )


@fix(
    check_id="s3_bucket_public_access_blocked",
    action="turn on all four Block Public Access settings for the bucket",
    permissions=["s3:PutBucketPublicAccessBlock"],
)
def bucket_public_access_blocked(bucket: Resource, clients: Clients) -> str:
    # Block Public Access neutralises public policies and ACLs without editing them, so nothing
    # the owner wrote is lost and the change is one call to undo.
    clients.client("s3").put_public_access_block(
        Bucket=bucket.name, PublicAccessBlockConfiguration=dict.fromkeys(PUBLIC_ACCESS_FIELDS, True)
    )
    return f"turned on Block Public Access for {bucket.name} (policy and ACL left in place, now ineffective)"
