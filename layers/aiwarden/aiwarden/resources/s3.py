"""S3 buckets: describe, list, and the per-aspect reads checks share (each fetched once)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.policy import (
    GLOBAL_RESTRICTING_CONDITION_KEYS,
    as_list,
    principal_is_wildcard,
    public_statements,
    statement_label,
    statements,
)
from aiwarden.resources import ResourceType, error_code, recorded, register, tagging, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients

GONE = {"NoSuchBucket", "404", "NotFound"}
LIST_PAGE_SIZE = 10_000  # ListBuckets' MaxBuckets ceiling


def _bucket_tags(clients: Clients, bucket: str) -> dict[str, str] | None:
    """GetBucketTagging: the tags, {} when the bucket has none, None when the bucket is gone."""
    try:
        response = clients.client("s3").get_bucket_tagging(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in GONE:
            return None
        if code != "NoSuchTagSet":
            raise
        return {}
    return tags_from_list(response.get("TagSet"))


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    # GetBucketTagging doubles as the existence probe: one call instead of HeadBucket + tags.
    tags = _bucket_tags(clients, ref.resource_id)
    if tags is None:
        return None
    return Resource(ref=ref, data={"Name": ref.resource_id}, tags=tags)


def _prefetch(clients: Clients, refs: list[ResourceRef]) -> None:
    """Many buckets at once (a scan, a sweep work item): the listing just named them, so skip the
    existence probe and read their tags in bulk. A bucket deleted since fails its first aspect
    read with NoSuchBucket, which the engine re-checks and reports as gone."""
    from aiwarden.engine import describe_key

    tagging.announce_refs(clients, refs)
    for ref in refs:

        def read_tags(ref: ResourceRef = ref) -> dict[str, str]:
            return tagging.tags(clients, ref.arn, lambda: _bucket_tags(clients, ref.resource_id) or {})

        clients.seed(describe_key(ref), Resource(ref=ref, data={"Name": ref.resource_id}, tags=read_tags))
    seed_recorded_buckets(clients, refs)


def seed_recorded_buckets(clients: Clients, refs: list[ResourceRef]) -> None:
    """Cache the bucket settings AWS Config's recorded items answer for ``refs``, where recorded
    reads are allowed (aiwarden.resources.recorded): the bucket type's prefetch, and the prefetch
    of AI resources whose checks read their artifact buckets' settings."""
    if not refs or not recorded.enabled(clients):
        return
    for ref, items in recorded.supplementary(clients, refs).items():
        for aspect, value in recorded_aspects(items).items():
            clients.seed_recorded(ref, ("s3", aspect, ref.resource_id), value)


_UNREADABLE = object()


def _recorded_encryption(item: Any) -> Any:
    rules = item.get("rules") if isinstance(item, dict) else None
    if not isinstance(rules, list):
        return _UNREADABLE
    out = []
    for rule in rules:
        default = rule.get("applyServerSideEncryptionByDefault") if isinstance(rule, dict) else None
        if not isinstance(default, dict) or not default.get("sseAlgorithm"):
            return _UNREADABLE
        applied: dict[str, Any] = {"SSEAlgorithm": default["sseAlgorithm"]}
        if default.get("kmsMasterKeyID"):
            applied["KMSMasterKeyID"] = default["kmsMasterKeyID"]
        out.append(
            {
                "ApplyServerSideEncryptionByDefault": applied,
                "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled")),
            }
        )
    return out


# Config records versioning as the Java SDK's bucket versioning states: "Off" for a bucket that never had it.
_RECORDED_VERSIONING = {"Off": "never enabled", "Enabled": "Enabled", "Suspended": "Suspended"}


def _recorded_versioning(item: Any) -> Any:
    status = item.get("status") if isinstance(item, dict) else None
    return _RECORDED_VERSIONING.get(status, _UNREADABLE) if isinstance(status, str) else _UNREADABLE


def _recorded_logging(item: Any) -> Any:
    if not isinstance(item, dict) or "destinationBucketName" not in item:
        return _UNREADABLE
    if not item["destinationBucketName"]:
        return None
    return {"TargetBucket": item["destinationBucketName"], "TargetPrefix": item.get("logFilePrefix") or ""}


def _recorded_policy(item: Any) -> Any:
    if not isinstance(item, dict) or "policyText" not in item:
        return _UNREADABLE
    text = item["policyText"]
    if text is None:
        return None
    try:
        policy = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return _UNREADABLE
    return policy if isinstance(policy, dict) else _UNREADABLE


_RECORDED_PAB = {
    "blockPublicAcls": "BlockPublicAcls",
    "ignorePublicAcls": "IgnorePublicAcls",
    "blockPublicPolicy": "BlockPublicPolicy",
    "restrictPublicBuckets": "RestrictPublicBuckets",
}


def _recorded_public_access_block(item: Any) -> Any:
    if not isinstance(item, dict) or not all(isinstance(item.get(name), bool) for name in _RECORDED_PAB):
        return _UNREADABLE
    return {field: item[name] for name, field in _RECORDED_PAB.items()}


# Supplementary configuration item -> (the cache aspect the live read fills, its translation into
# the live read's answer). An item Config leaves out is not read as "not configured": a bucket
# without Block Public Access has no PublicAccessBlockConfiguration, but neither has an item
# recorded before Config recorded that aspect, so absent or unreadable items are read live.
RECORDED_ASPECTS = {
    "ServerSideEncryptionConfiguration": ("encryption", _recorded_encryption),
    "BucketVersioningConfiguration": ("versioning", _recorded_versioning),
    "BucketLoggingConfiguration": ("logging", _recorded_logging),
    "BucketPolicy": ("policy", _recorded_policy),
    "PublicAccessBlockConfiguration": ("pab", _recorded_public_access_block),
}


def recorded_aspects(items: dict[str, Any]) -> dict[str, Any]:
    """What a bucket's recorded supplementary configuration answers, in the live reads' shapes."""
    out = {}
    for name, (aspect, translate) in RECORDED_ASPECTS.items():
        if name in items:
            value = translate(items[name])
            if value is not _UNREADABLE:
                out[aspect] = value
    return out


def _list(clients: Clients) -> Iterator[ResourceRef]:
    s3 = clients.client("s3")
    # A page size (MaxBuckets) makes S3 return each bucket's BucketRegion, saving a
    # GetBucketLocation call per bucket. The largest page S3 allows also keeps accounts under the
    # default quota of 10,000 buckets to one call, and clear of moto 5's ListBuckets, which cuts
    # the list at MaxBuckets without a ContinuationToken (a sweep would lose the rest).
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": LIST_PAGE_SIZE}):
        for bucket in page.get("Buckets", []):
            name = bucket["Name"]
            region = bucket.get("BucketRegion") or bucket_region(clients, name)
            yield ResourceRef(BUCKET, name, region, clients.account_id)


def bucket_region(clients: Clients, bucket: str) -> str:
    def fetch() -> str:
        location = clients.client("s3").get_bucket_location(Bucket=bucket)
        # Buckets in us-east-1 report a null LocationConstraint; "EU" is the legacy eu-west-1.
        constraint = location.get("LocationConstraint") or "us-east-1"
        return "eu-west-1" if constraint == "EU" else str(constraint)

    return str(clients.memo(("s3", "region", bucket), fetch))


def default_encryption(clients: Clients, bucket: str) -> list[dict[str, Any]]:
    """The bucket's default-encryption rules; [] when none is configured."""

    def fetch() -> list[dict[str, Any]]:
        try:
            response = clients.client("s3").get_bucket_encryption(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
                return []
            raise
        return list(response["ServerSideEncryptionConfiguration"].get("Rules", []))

    return list(clients.memo(("s3", "encryption", bucket), fetch))


KMS_ALGORITHMS = {"aws:kms", "aws:kms:dsse"}


def kms_algorithm(rules: list[dict[str, Any]]) -> str | None:
    """The SSE algorithm if it is SSE-KMS or DSSE-KMS, else None."""
    for rule in rules:
        algorithm = rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        if algorithm in KMS_ALGORITHMS:
            return str(algorithm)
    return None


def describe_encryption(rules: list[dict[str, Any]]) -> str:
    if not rules:
        return "no default encryption"
    algorithms = {r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "?") for r in rules}
    return "default encryption " + "/".join(sorted(algorithms))


PUBLIC_ACCESS_FIELDS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def bucket_public_access_block(clients: Clients, bucket: str) -> dict[str, bool]:
    def fetch() -> dict[str, bool]:
        try:
            response = clients.client("s3").get_public_access_block(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
                return {}
            raise
        return dict(response.get("PublicAccessBlockConfiguration", {}))

    return dict(clients.memo(("s3", "pab", bucket), fetch))


def account_public_access_block(clients: Clients) -> dict[str, bool]:
    def fetch() -> dict[str, bool]:
        try:
            response = clients.client("s3control").get_public_access_block(AccountId=clients.account_id)
        except ClientError as exc:
            if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
                return {}
            raise
        return dict(response.get("PublicAccessBlockConfiguration", {}))

    return dict(clients.memo(("s3control", "pab", clients.account_id), fetch))


def bucket_policy(clients: Clients, bucket: str) -> dict[str, Any] | None:
    def fetch() -> dict[str, Any] | None:
        try:
            response = clients.client("s3").get_bucket_policy(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucketPolicy":
                return None
            raise
        policy: dict[str, Any] = json.loads(response["Policy"])
        return policy

    result = clients.memo(("s3", "policy", bucket), fetch)
    return dict(result) if result is not None else None


def bucket_acl_grants(clients: Clients, bucket: str) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]]:
        return list(clients.client("s3").get_bucket_acl(Bucket=bucket).get("Grants", []))

    return list(clients.memo(("s3", "acl", bucket), fetch))


PUBLIC_GRANTEE_URIS = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}


def public_acl_grants(grants: list[dict[str, Any]]) -> list[str]:
    """Permissions the ACL gives to everyone or to any AWS account, e.g. ['AllUsers:READ']."""
    found = []
    for grant in grants:
        uri = grant.get("Grantee", {}).get("URI")
        if uri in PUBLIC_GRANTEE_URIS:
            found.append(f"{uri.rsplit('/', 1)[-1]}:{grant.get('Permission')}")
    return found


# Condition keys that pin a wildcard principal to known callers, after the rules S3 itself uses
# to decide whether a policy is public ("The meaning of public" in the S3 user guide): the global
# keys (aiwarden.policy) plus S3's access-point keys.
RESTRICTING_CONDITION_KEYS = GLOBAL_RESTRICTING_CONDITION_KEYS | {
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
}


def public_policy_statements(policy: dict[str, Any] | None) -> list[str]:
    """Sids (or indexes) of Allow statements open to any principal without a pinning condition."""
    return public_statements(policy, RESTRICTING_CONDITION_KEYS)


def _denies_plain_http(condition: Any) -> bool:
    """True for a condition matching requests made without TLS (aws:SecureTransport false)."""
    if not isinstance(condition, dict):
        return False
    for operator, pairs in condition.items():
        if operator.lower() not in {"bool", "boolifexists"} or not isinstance(pairs, dict):
            continue
        for key, value in pairs.items():
            if key.lower() == "aws:securetransport" and any(
                str(v).lower() == "false" for v in as_list(value)
            ):
                return True
    return False


def _covers_objects(resources: Any, bucket: str) -> bool:
    samples = [f"arn:{p}:s3:::{bucket}/any-object-key" for p in ("aws", "aws-cn", "aws-us-gov")]
    return any(
        isinstance(pattern, str) and fnmatchcase(sample, pattern)
        for pattern in as_list(resources)
        for sample in samples
    )


def tls_only_statements(policy: dict[str, Any] | None, bucket: str) -> list[str]:
    """Sids (or indexes) of statements that deny every principal every S3 action on the bucket's
    objects when the request does not use TLS (the S3.5 / S3_BUCKET_SSL_REQUESTS_ONLY shape)."""
    found = []
    for index, statement in enumerate(statements(policy)):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if not principal_is_wildcard(statement.get("Principal")):
            continue
        actions = [a.lower() for a in as_list(statement.get("Action")) if isinstance(a, str)]
        if not {"s3:*", "*"} & set(actions):
            continue
        if not _covers_objects(statement.get("Resource"), bucket):
            continue
        if _denies_plain_http(statement.get("Condition")):
            found.append(statement_label(statement, index))
    return found


def bucket_logging(clients: Clients, bucket: str) -> dict[str, Any] | None:
    """The bucket's server access logging target ({TargetBucket, TargetPrefix}), None when off."""

    def fetch() -> dict[str, Any] | None:
        enabled = clients.client("s3").get_bucket_logging(Bucket=bucket).get("LoggingEnabled")
        return dict(enabled) if enabled else None

    result = clients.memo(("s3", "logging", bucket), fetch)
    return dict(result) if result is not None else None


def bucket_versioning(clients: Clients, bucket: str) -> str:
    """Versioning status: Enabled, Suspended, or "never enabled" (S3 omits Status until it is set)."""

    def fetch() -> str:
        return str(clients.client("s3").get_bucket_versioning(Bucket=bucket).get("Status") or "never enabled")

    return str(clients.memo(("s3", "versioning", bucket), fetch))


def default_kms_key(rules: list[dict[str, Any]]) -> str | None:
    """The KMS key default encryption names (None: the AWS managed aws/s3 key, or not SSE-KMS)."""
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") in KMS_ALGORITHMS and default.get("KMSMasterKeyID"):
            return str(default["KMSMasterKeyID"])
    return None


# --- Data classification -------------------------------------------------------------------
DEFAULT_CLASSIFICATION_TAG = "DataClassification"
DEFAULT_SENSITIVE_CLASSIFICATIONS = "confidential,restricted"


def classification_tag() -> str:
    """The tag key that carries a bucket's data classification (AIWARDEN_CLASSIFICATION_TAG)."""
    return os.environ.get("AIWARDEN_CLASSIFICATION_TAG", "").strip() or DEFAULT_CLASSIFICATION_TAG


def sensitive_classifications() -> set[str]:
    """Classification values (lower case) that demand the strongest protection
    (AIWARDEN_SENSITIVE_CLASSIFICATIONS, comma separated)."""
    raw = (
        os.environ.get("AIWARDEN_SENSITIVE_CLASSIFICATIONS", "").strip() or DEFAULT_SENSITIVE_CLASSIFICATIONS
    )
    return {value.strip().lower() for value in raw.split(",") if value.strip()}


def own_buckets(clients: Clients) -> dict[str, str]:
    """The account's buckets and their regions, listed once per invocation."""

    def fetch() -> dict[str, str]:
        return {ref.resource_id: ref.region for ref in _list(clients)}

    return dict(clients.memo(("s3", "own_buckets"), fetch))


def own_bucket_refs(clients: Clients, names: list[str], account: str) -> Iterator[ResourceRef]:
    # Artifacts may live in buckets of other accounts (JumpStart, shared model stores): AI Warden
    # can neither read nor fix those, so lineage only follows to the account's own buckets.
    owned = own_buckets(clients)
    for name in sorted(set(names)):
        if name in owned:
            yield ResourceRef(BUCKET, name, owned[name], account)


def _buckets_of_model(clients: Clients, model_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the buckets a model loads its artifacts from."""
    from aiwarden.engine import describe
    from aiwarden.resources import bucket_usage

    model = describe(clients, model_ref)
    if model is not None:
        bucket_usage.index_resource(clients, model)
        yield from own_bucket_refs(
            clients, [b for b, _ in bucket_usage.model_uses(model.name, model.data)], model_ref.account
        )


def _buckets_of_training_job(clients: Clients, job_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the buckets a training job reads its data from and writes its model to."""
    from aiwarden.engine import describe
    from aiwarden.resources import bucket_usage

    job = describe(clients, job_ref)
    if job is not None:
        bucket_usage.index_resource(clients, job)
        yield from own_bucket_refs(
            clients, [b for b, _ in bucket_usage.training_job_uses(job.name, job.data)], job_ref.account
        )


def _buckets_of_endpoint_config(clients: Clients, config_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the bucket an endpoint configuration captures inference data into."""
    from aiwarden.engine import describe
    from aiwarden.resources import bucket_usage

    config = describe(clients, config_ref)
    if config is not None:
        bucket_usage.index_resource(clients, config)
        uses = bucket_usage.endpoint_config_uses(config.name, config.data)
        yield from own_bucket_refs(clients, [b for b, _ in uses], config_ref.account)


BUCKET = register(
    ResourceType(
        cfn_type="AWS::S3::Bucket",
        label="S3 bucket",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:s3:::{id}",
        console_format="https://s3.console.aws.amazon.com/s3/buckets/{id}?region={region}&tab=properties",
        arn_regex=re.compile(r"arn:aws[\w-]*:s3:::(?P<id>[^/]+)"),
        permissions=(
            "s3:ListAllMyBuckets",
            "s3:GetBucketLocation",
            "s3:GetBucketTagging",
            tagging.PERMISSION,
            *recorded.PERMISSIONS,
        ),
        prefetch=_prefetch,
        # A model, endpoint configuration or training job that starts using a bucket makes it an AI bucket.
        upstream={
            "AWS::SageMaker::Model": _buckets_of_model,
            "AWS::SageMaker::EndpointConfig": _buckets_of_endpoint_config,
            "AWS::SageMaker::TrainingJob": _buckets_of_training_job,
        },
    )
)


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` (or ``https://bucket.s3...``) -> (bucket, key)."""
    match = re.match(r"s3://(?P<bucket>[^/]+)/?(?P<key>.*)", uri)
    if match:
        return match.group("bucket"), match.group("key")
    match = re.match(r"https://(?P<bucket>[^.]+)\.s3[.\w-]*\.amazonaws\.com/(?P<key>.*)", uri)
    if match:
        return match.group("bucket"), match.group("key")
    return None
