"""S3 fixes: safe, one call (or one read-merge-write of the bucket policy) each, and prospective
(they change defaults, not existing objects)."""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import ClientError

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.policy import statements
from aiwarden.remediation import Policy, fix
from aiwarden.resources import error_code, partition, s3
from aiwarden.resources.s3 import PUBLIC_ACCESS_FIELDS, public_policy_statements


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
    permissions=[
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
    ],
)
def bucket_public_access_blocked(bucket: Resource, clients: Clients) -> str:
    # Block Public Access neutralises public policies and ACLs without editing them, so nothing
    # the owner wrote is lost and the change is one call to undo.
    s3 = clients.client("s3")
    s3.put_public_access_block(
        Bucket=bucket.name, PublicAccessBlockConfiguration=dict.fromkeys(PUBLIC_ACCESS_FIELDS, True)
    )
    detail = f"turned on Block Public Access for {bucket.name}"
    policy = bucket_policy_document(s3, bucket.name)
    public = public_policy_statements(policy)
    if not public:
        return detail
    if os.environ.get("AIWARDEN_REMOVE_PUBLIC_STATEMENTS", "").lower() != "true":
        # Editing what the owner wrote is opt-in: the policy is ineffective behind the block anyway.
        return (
            f"{detail}; public policy statement(s) {', '.join(public)} left in place (now ineffective): "
            "set AIWARDEN_REMOVE_PUBLIC_STATEMENTS=true to remove them"
        )
    assert policy is not None
    listed = policy.get("Statement", [])
    listed = [listed] if isinstance(listed, dict) else listed
    kept = [st for index, st in enumerate(listed) if str(st.get("Sid") or f"#{index}") not in public]
    if kept:
        s3.put_bucket_policy(Bucket=bucket.name, Policy=json.dumps({**policy, "Statement": kept}))
    else:
        s3.delete_bucket_policy(Bucket=bucket.name)
    return f"{detail}; removed public policy statement(s) {', '.join(public)}"


def bucket_policy_document(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]))
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucketPolicy":
            return None
        raise


TLS_SID = "DenyInsecureTransport"
# S3 rejects bucket policies over 20 KB.
POLICY_SIZE_LIMIT = 20 * 1024


def deny_insecure_transport(bucket: str, region: str, taken: set[str]) -> dict[str, Any]:
    """The S3.5 statement (as AWS's SetSSLBucketPolicy runbook writes it) under a Sid not in use."""
    sid, n = TLS_SID, 1
    while sid in taken:
        n += 1
        sid = f"{TLS_SID}{n}"
    arn = f"arn:{partition(region)}:s3:::{bucket}"
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def with_tls_statement(policy: dict[str, Any] | None, bucket: str, region: str) -> dict[str, Any]:
    """``policy`` with the deny-plain-HTTP statement appended: every other statement, the Version and
    the Id kept as they are; a new policy when there is none."""
    merged: dict[str, Any] = dict(policy) if policy else {"Version": "2012-10-17"}
    existing = statements(policy)
    taken = {str(st.get("Sid")) for st in existing if isinstance(st, dict) and st.get("Sid")}
    merged["Statement"] = [*existing, deny_insecure_transport(bucket, region, taken)]
    return merged


@fix(
    check_id="s3_bucket_tls_only",
    action="add a statement denying non-TLS requests to the bucket policy (other statements kept)",
    permissions=["s3:GetBucketPolicy", "s3:PutBucketPolicy"],
)
def bucket_tls_only(bucket: Resource, clients: Clients) -> str:
    region = bucket.ref.region
    # Read-merge-write of the one policy document, read now rather than from the scan's cache.
    # (S3 has no conditional PutBucketPolicy: a write landing between the two calls would be lost.)
    current = s3.bucket_policy(clients.fresh(), bucket.name)
    merged = with_tls_statement(current, bucket.name, region)
    document = json.dumps(merged)
    if len(document.encode()) > POLICY_SIZE_LIMIT:
        raise RuntimeError(
            f"adding the TLS statement would take the policy of {bucket.name} over S3's 20 KB limit; "
            "shorten the policy first"
        )
    clients.client("s3", region).put_bucket_policy(Bucket=bucket.name, Policy=document)
    kept = len(statements(current))
    return (
        f"added statement {merged['Statement'][-1]['Sid']} denying requests without TLS to the policy of "
        f"{bucket.name} ({kept} existing statement(s) kept); plain-HTTP clients are now refused"
    )


@fix(
    check_id="s3_bucket_versioning_enabled",
    action="turn on versioning for the bucket (noncurrent versions are billed as storage)",
    permissions=["s3:PutBucketVersioning"],
)
def bucket_versioning(bucket: Resource, clients: Clients) -> str:
    # MFA Delete is left as it is (changing it needs the root user's MFA anyway).
    clients.client("s3", bucket.ref.region).put_bucket_versioning(
        Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"}
    )
    return (
        f"turned on versioning for {bucket.name}; overwritten and deleted objects now keep billed noncurrent "
        "versions: add a lifecycle rule expiring them to bound the cost"
    )


ACCESS_LOG_ENV = "AIWARDEN_ACCESS_LOG_BUCKET"


def access_log_bucket(region: str) -> str | None:
    """The operator's log bucket (same account and Region as the logged bucket, so "{region}" in
    AIWARDEN_ACCESS_LOG_BUCKET stands for the bucket's Region); None when unset."""
    value = os.environ.get(ACCESS_LOG_ENV, "").strip().removeprefix("s3://").strip("/")
    return value.replace("{region}", region) or None


def _not_the_log_bucket(bucket: Resource, policy: Policy, clients: Clients) -> str | None:
    if access_log_bucket(bucket.ref.region) == bucket.name:
        return (
            f"{bucket.name} is the access log bucket ({ACCESS_LOG_ENV}): it never logs into itself; "
            "tag it aiwarden:exempt=true"
        )
    return None


@fix(
    check_id="s3_bucket_access_logging_enabled",
    action=f"send the bucket's server access logs to the bucket named in {ACCESS_LOG_ENV}",
    permissions=["s3:PutBucketLogging"],
    guard=_not_the_log_bucket,
)
def bucket_access_logging(bucket: Resource, clients: Clients) -> str:
    target = access_log_bucket(bucket.ref.region)
    if target is None:
        raise RuntimeError(
            f"{ACCESS_LOG_ENV} is not set: name the bucket (same account and Region, writable by "
            "logging.s3.amazonaws.com) that should receive server access logs; AI Warden does not invent one"
        )
    if target == bucket.name:  # the guard refuses this first; never loop a bucket's logs into itself
        raise RuntimeError(f"{bucket.name} is the access log bucket and never logs into itself")
    prefix = f"{bucket.name}/"
    clients.client("s3", bucket.ref.region).put_bucket_logging(
        Bucket=bucket.name,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": prefix}},
    )
    return f"{bucket.name} now sends server access logs to s3://{target}/{prefix} (billed as storage there)"
