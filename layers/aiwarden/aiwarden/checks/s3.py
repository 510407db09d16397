"""S3 buckets that hold datasets and model artifacts."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import s3
from aiwarden.resources.s3 import BUCKET

# Exemption-tag changes re-evaluate the bucket, so removing aiwarden:exempt is noticed at once.
TAGGING = ("PutBucketTagging", "DeleteBucketTagging")


@check(
    id="s3_bucket_default_encryption_kms",
    title="S3 buckets encrypt new objects by default with AWS KMS keys",
    severity=Severity.MEDIUM,
    resource=BUCKET,
    triggers=[
        cloudtrail(
            "s3",
            "CreateBucket",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            *TAGGING,
            ids="requestParameters.bucketName",
        )
    ],
    permissions=["s3:GetEncryptionConfiguration"],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Set default encryption to SSE-KMS with a customer managed key and S3 Bucket Keys: "
        "aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration "
        '\'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms",'
        '"KMSMasterKeyID":"KEY_ARN"},"BucketKeyEnabled":true}]}\'. Only new objects are '
        "affected; re-copy existing objects, and let the key policy allow every reader."
    ),
    controls={
        "AWS-FSBP": ["S3.17"],
        "AWS-Config": ["S3_DEFAULT_ENCRYPTION_KMS"],
        "NIST-800-53r5": ["SC-12(2)", "SC-13", "SC-28", "SC-28(1)"],
        "HIPAA": ["164.312(a)(2)(iv)"],
        "GDPR": ["Art.32"],
    },
)
def bucket_default_encryption_kms(bucket: Resource, clients: Clients) -> Outcome:
    rules = s3.default_encryption(clients, bucket.name)
    algorithm = s3.kms_algorithm(rules)
    if algorithm is None:
        return fail(f"bucket {bucket.name} has {s3.describe_encryption(rules)}, not SSE-KMS")
    return ok(f"bucket {bucket.name} encrypts by default with {algorithm}")


@check(
    id="s3_bucket_public_access_blocked",
    title="S3 buckets block public access and grant none through policy or ACL",
    severity=Severity.CRITICAL,
    resource=BUCKET,
    triggers=[
        cloudtrail(
            "s3",
            "CreateBucket",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketAcl",
            *TAGGING,
            ids="requestParameters.bucketName",
        ),
        # Account-level Block Public Access covers every bucket at once.
        cloudtrail(
            "s3",
            "PutAccountPublicAccessBlock",
            "DeleteAccountPublicAccessBlock",
            ids=ALL_RESOURCES,
        ),
    ],
    permissions=[
        "s3:GetBucketPublicAccessBlock",
        "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
    ],
    practice=Practice.NETWORK_EXPOSURE,
    remediation=(
        "Turn on all four Block Public Access settings for the bucket (or the account): "
        "aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
        'RestrictPublicBuckets=true; then remove Principal "*" statements from the bucket '
        "policy and AllUsers/AuthenticatedUsers grants from the ACL. Share data through "
        "presigned URLs, access points or CloudFront with origin access control instead."
    ),
    controls={
        "AWS-FSBP": ["S3.1", "S3.2", "S3.3", "S3.8"],
        "AWS-Config": [
            "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        ],
        "NIST-800-53r5": ["AC-3", "AC-4", "AC-6", "AC-21", "SC-7"],
        "HIPAA": ["164.308(a)(3)(i)", "164.312(a)(1)"],
        "GDPR": ["Art.25", "Art.32"],
    },
)
def bucket_public_access_blocked(bucket: Resource, clients: Clients) -> Outcome:
    bucket_block = s3.bucket_public_access_block(clients, bucket.name)
    account_block = s3.account_public_access_block(clients)
    # A setting is in force when either the bucket or the account turns it on.
    off = [
        name for name in s3.PUBLIC_ACCESS_FIELDS if not (bucket_block.get(name) or account_block.get(name))
    ]
    problems = []
    if off:
        problems.append("Block Public Access off: " + ", ".join(off))
    statements = s3.public_policy_statements(s3.bucket_policy(clients, bucket.name))
    if statements:
        problems.append("bucket policy allows Principal * in " + ", ".join(statements))
    grants = s3.public_acl_grants(s3.bucket_acl_grants(clients, bucket.name))
    if grants:
        problems.append("ACL grants " + ", ".join(grants))
    if problems:
        return fail(f"bucket {bucket.name}: " + "; ".join(problems))
    return ok(f"bucket {bucket.name} blocks public access and grants none")
