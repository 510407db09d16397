"""S3 buckets that hold datasets and model artifacts."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import bucket_usage, kms, s3
from aiwarden.resources.s3 import BUCKET
from aiwarden.resources.sagemaker import ENDPOINT_CONFIG, MODEL, TRAINING_JOB

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
    """Block Public Access, then the grants it leaves in force, judged as AWS Config's
    s3-bucket-public-read/write-prohibited rules do: a public policy statement counts only while
    RestrictPublicBuckets is off, a public ACL grant only while IgnorePublicAcls is off (S3 then
    ignores it). So a bucket costs no ACL read when public ACLs are ignored, and no read of its
    own settings when the account turns all four on."""
    account_block = s3.account_public_access_block(clients)
    covered_by_account = all(account_block.get(name) for name in s3.PUBLIC_ACCESS_FIELDS)
    bucket_block = {} if covered_by_account else s3.bucket_public_access_block(clients, bucket.name)
    # A setting is in force when either the bucket or the account turns it on.
    in_force = {
        name: bool(bucket_block.get(name) or account_block.get(name)) for name in s3.PUBLIC_ACCESS_FIELDS
    }
    problems = []
    off = [name for name, on in in_force.items() if not on]
    if off:
        problems.append("Block Public Access off: " + ", ".join(off))
    dormant = []
    statements = s3.public_policy_statements(s3.bucket_policy(clients, bucket.name))
    if statements and not in_force["RestrictPublicBuckets"]:
        problems.append("bucket policy allows Principal * in " + ", ".join(statements))
    elif statements:
        dormant.append(
            f"policy statements {', '.join(statements)} allow Principal * but RestrictPublicBuckets"
        )
    if not in_force["IgnorePublicAcls"]:
        grants = s3.public_acl_grants(s3.bucket_acl_grants(clients, bucket.name))
        if grants:
            problems.append("ACL grants " + ", ".join(grants))
    if problems:
        return fail(f"bucket {bucket.name}: " + "; ".join(problems))
    reason = f"bucket {bucket.name} blocks public access and grants none"
    if dormant:
        reason = f"bucket {bucket.name} blocks public access ({'; '.join(dormant)} neutralises them)"
    return ok(reason)


# --- Transport, logging and versioning -------------------------------------------------------


@check(
    id="s3_bucket_tls_only",
    title="S3 buckets deny requests that do not use TLS",
    severity=Severity.MEDIUM,
    resource=BUCKET,
    triggers=[
        cloudtrail(
            "s3",
            "CreateBucket",
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            *TAGGING,
            ids="requestParameters.bucketName",
        )
    ],
    permissions=["s3:GetBucketPolicy"],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Add (merge, never overwrite) a bucket policy statement that denies plain-HTTP requests: "
        '{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",'
        '"Resource":["arn:aws:s3:::BUCKET","arn:aws:s3:::BUCKET/*"],'
        '"Condition":{"Bool":{"aws:SecureTransport":"false"}}} with '
        "aws s3api get-bucket-policy --bucket BUCKET, then aws s3api put-bucket-policy --bucket BUCKET "
        "--policy file://policy.json."
    ),
    controls={
        "AWS-FSBP": ["S3.5"],
        "AWS-Config": ["S3_BUCKET_SSL_REQUESTS_ONLY"],
        "CIS-AWS-5.0": ["2.1.1"],
        "NIST-800-53r5": ["AC-17(2)", "AC-4", "IA-5(1)", "SC-8", "SC-8(1)", "SC-13", "SC-23"],
        "HIPAA": ["164.312(a)(2)(iv)", "164.312(c)(1)", "164.312(e)(1)"],
        "GDPR": ["Art.32"],
    },
)
def bucket_tls_only(bucket: Resource, clients: Clients) -> Outcome:
    policy = s3.bucket_policy(clients, bucket.name)
    if policy is None:
        return fail(f"bucket {bucket.name} has no bucket policy, so it accepts requests over plain HTTP")
    denying = s3.tls_only_statements(policy, bucket.name)
    if not denying:
        return fail(
            f"bucket {bucket.name}'s policy has no statement denying s3:* to every principal when "
            "aws:SecureTransport is false, so it accepts requests over plain HTTP"
        )
    return ok(f"bucket {bucket.name} denies requests without TLS (statement {', '.join(denying)})")


@check(
    id="s3_bucket_access_logging_enabled",
    title="S3 buckets record server access logs",
    severity=Severity.MEDIUM,
    resource=BUCKET,
    triggers=[
        cloudtrail(
            "s3",
            "CreateBucket",
            "PutBucketLogging",
            *TAGGING,
            ids="requestParameters.bucketName",
        )
    ],
    permissions=["s3:GetBucketLogging"],
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Send server access logs to a dedicated log bucket in the same region (one that does not log "
        "to itself and whose policy lets logging.s3.amazonaws.com write): aws s3api put-bucket-logging "
        '--bucket BUCKET --bucket-logging-status \'{"LoggingEnabled":{"TargetBucket":"LOG_BUCKET",'
        '"TargetPrefix":"BUCKET/"}}\'. Tag the log bucket itself aiwarden:exempt=true.'
    ),
    controls={
        "AWS-FSBP": ["S3.9"],
        "AWS-Config": ["S3_BUCKET_LOGGING_ENABLED"],
        "NIST-800-53r5": ["AC-2(4)", "AU-2", "AU-3", "AU-10", "AU-12", "CA-7", "SI-4(20)"],
        "HIPAA": ["164.308(a)(1)(ii)(d)", "164.308(a)(3)(ii)(a)", "164.308(a)(6)(ii)", "164.312(b)"],
    },
)
def bucket_access_logging_enabled(bucket: Resource, clients: Clients) -> Outcome:
    target = s3.bucket_logging(clients, bucket.name)
    if target is None:
        return fail(f"bucket {bucket.name} does not record server access logs")
    destination = f"s3://{target.get('TargetBucket', '?')}/{target.get('TargetPrefix', '')}"
    return ok(f"bucket {bucket.name} records server access logs to {destination}")


# Versioning is filed under data classification rather than logging: it is data protection (S3.14 is
# "Protect > Data protection > Data deletion protection"), not a record of activity; it is what keeps
# a training set or model artifact recoverable after an overwrite, and the sensitive-data check below
# requires it for classified AI buckets.
@check(
    id="s3_bucket_versioning_enabled",
    title="S3 buckets keep object versions",
    severity=Severity.LOW,
    resource=BUCKET,
    triggers=[
        cloudtrail(
            "s3",
            "CreateBucket",
            "PutBucketVersioning",
            *TAGGING,
            ids="requestParameters.bucketName",
        )
    ],
    permissions=["s3:GetBucketVersioning"],
    practice=Practice.DATA_CLASSIFICATION,
    remediation=(
        "Turn on versioning so overwritten or deleted datasets and model artifacts can be restored: "
        "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled, "
        "and add a lifecycle rule expiring noncurrent versions to bound the storage cost."
    ),
    controls={
        "AWS-FSBP": ["S3.14"],
        "AWS-Config": ["S3_BUCKET_VERSIONING_ENABLED"],
        "NIST-800-53r5": [
            "AU-9(2)",
            "CP-10",
            "CP-6",
            "CP-6(1)",
            "CP-6(2)",
            "CP-9",
            "SC-5(2)",
            "SI-12",
            "SI-13(5)",
        ],
        "HIPAA": ["164.308(a)(7)(i)", "164.308(a)(7)(ii)(a)", "164.312(a)(2)(ii)", "164.312(c)(1)"],
    },
)
def bucket_versioning_enabled(bucket: Resource, clients: Clients) -> Outcome:
    status = s3.bucket_versioning(clients, bucket.name)
    if status != "Enabled":
        return fail(f"bucket {bucket.name} does not keep object versions (versioning {status})")
    return ok(f"bucket {bucket.name} keeps object versions")


# --- Data classification of AI buckets ------------------------------------------------------

# A model, endpoint configuration or training job that starts using a bucket makes it an AI bucket;
# the bucket type's upstream finders (aiwarden.resources.s3) map these events to the buckets named.
AI_LINEAGE = [
    cloudtrail("sagemaker", "CreateModel", ids="requestParameters.modelName", resource=MODEL),
    cloudtrail(
        "sagemaker",
        "CreateEndpointConfig",
        ids="requestParameters.endpointConfigName",
        resource=ENDPOINT_CONFIG,
    ),
    cloudtrail(
        "sagemaker", "CreateTrainingJob", ids="requestParameters.trainingJobName", resource=TRAINING_JOB
    ),
]


def _usage(uses: list[str]) -> str:
    shown = uses[:3] + ([f"{len(uses) - 3} more"] if len(uses) > 3 else [])
    return "; ".join(shown)


@check(
    id="s3_ai_bucket_data_classified",
    title="S3 buckets used by AI resources carry a data classification tag",
    severity=Severity.MEDIUM,
    resource=BUCKET,
    triggers=[
        cloudtrail("s3", "CreateBucket", *TAGGING, ids="requestParameters.bucketName"),
        *AI_LINEAGE,
    ],
    permissions=list(bucket_usage.AI_BUCKET_PERMISSIONS),
    practice=Practice.DATA_CLASSIFICATION,
    remediation=(
        "Classify every bucket that holds training data, model artifacts or captured inference data "
        "(the tag key is AIWARDEN_CLASSIFICATION_TAG, default DataClassification): aws s3api "
        "put-bucket-tagging --bucket BUCKET --tagging 'TagSet=[{Key=DataClassification,Value=internal}]' "
        "(put-bucket-tagging replaces the whole tag set: include the existing tags). Use a value from "
        "AIWARDEN_SENSITIVE_CLASSIFICATIONS (default confidential, restricted) for regulated or "
        "personal data, so s3_ai_bucket_sensitive_data_protected enforces its protection."
    ),
)
def ai_bucket_data_classified(bucket: Resource, clients: Clients) -> Outcome:
    uses = [use.what for use in bucket_usage.ai_usage(clients, bucket.name)]
    if not uses:
        return ok(f"bucket {bucket.name} is not used by AI resources")
    key = s3.classification_tag()
    value = bucket.tags.get(key, "").strip()
    if not value:
        return fail(f"bucket {bucket.name} is used by AI resources ({_usage(uses)}) but has no {key} tag")
    return ok(f"bucket {bucket.name} is classified {key}={value} (used by {_usage(uses)})")


@check(
    id="s3_ai_bucket_sensitive_data_protected",
    title="AI buckets classified sensitive use a customer managed KMS key, versioning and access logs",
    severity=Severity.HIGH,
    resource=BUCKET,
    triggers=[
        cloudtrail(
            "s3",
            "CreateBucket",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            "PutBucketVersioning",
            "PutBucketLogging",
            *TAGGING,
            ids="requestParameters.bucketName",
        ),
        *AI_LINEAGE,
    ],
    permissions=[
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:GetBucketLogging",
        "kms:DescribeKey",
        *bucket_usage.AI_BUCKET_PERMISSIONS,
    ],
    practice=Practice.DATA_CLASSIFICATION,
    remediation=(
        "For a bucket classified sensitive (AIWARDEN_SENSITIVE_CLASSIFICATIONS) that AI resources use: "
        "encrypt by default with a customer managed key (aws s3api put-bucket-encryption --bucket BUCKET "
        '--server-side-encryption-configuration \'{"Rules":[{"ApplyServerSideEncryptionByDefault":'
        '{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"CMK_ARN"},"BucketKeyEnabled":true}]}\'), turn on '
        "versioning (aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration "
        "Status=Enabled) and server access logging (aws s3api put-bucket-logging --bucket BUCKET "
        '--bucket-logging-status \'{"LoggingEnabled":{"TargetBucket":"LOG_BUCKET",'
        '"TargetPrefix":"BUCKET/"}}\'); then re-copy existing objects so they use the key.'
    ),
)
def ai_bucket_sensitive_data_protected(bucket: Resource, clients: Clients) -> Outcome:
    key = s3.classification_tag()
    value = bucket.tags.get(key, "").strip()
    if value.lower() not in s3.sensitive_classifications():
        shown = f"{key}={value}" if value else f"no {key} tag"
        return ok(f"bucket {bucket.name} is not classified sensitive ({shown})")
    uses = [use.what for use in bucket_usage.ai_usage(clients, bucket.name)]
    if not uses:
        return ok(f"bucket {bucket.name} ({key}={value}) is not used by AI resources")
    problems = []
    rules = s3.default_encryption(clients, bucket.name)
    if s3.kms_algorithm(rules) is None:
        problems.append(f"{s3.describe_encryption(rules)} instead of a customer managed KMS key")
    else:
        kms_key = s3.default_kms_key(rules)
        manager = kms.key_manager(clients, kms_key, bucket.ref.region)
        if manager == "AWS":
            problems.append("default encryption uses the AWS managed key aws/s3, not a customer managed key")
        elif manager == "MISSING":
            problems.append(f"default encryption names KMS key {kms_key}, which does not exist")
    versioning = s3.bucket_versioning(clients, bucket.name)
    if versioning != "Enabled":
        problems.append(f"versioning {versioning}")
    if s3.bucket_logging(clients, bucket.name) is None:
        problems.append("no server access logging")
    if problems:
        return fail(
            f"bucket {bucket.name} ({key}={value}, used by {_usage(uses)}) is not protected: "
            + "; ".join(problems)
        )
    return ok(
        f"bucket {bucket.name} ({key}={value}) uses a customer managed KMS key, versioning and "
        "server access logging"
    )
