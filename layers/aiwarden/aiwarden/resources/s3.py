"""S3 buckets: describe, list, and the per-aspect reads checks share (each fetched once)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, error_code, register, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients

GONE = {"NoSuchBucket", "404", "NotFound"}


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    # GetBucketTagging doubles as the existence probe: one call instead of HeadBucket + tags.
    try:
        response = clients.client("s3").get_bucket_tagging(Bucket=ref.resource_id)
        tags = tags_from_list(response.get("TagSet"))
    except ClientError as exc:
        code = error_code(exc)
        if code in GONE:
            return None
        if code != "NoSuchTagSet":
            raise
        tags = {}
    return Resource(ref=ref, data={"Name": ref.resource_id}, tags=tags)


def _list(clients: Clients) -> Iterator[ResourceRef]:
    s3 = clients.client("s3")
    for page in s3.get_paginator("list_buckets").paginate():
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
# to decide whether a policy is public ("The meaning of public" in the S3 user guide).
RESTRICTING_CONDITION_KEYS = {
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:userid",
    "aws:sourceip",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
}


def _principal_is_wildcard(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = principal.get("AWS", [])
        values = [values] if isinstance(values, str) else values
        return "*" in values
    return False


def _has_restricting_condition(condition: dict[str, Any]) -> bool:
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            continue
        # A negated or "IfExists" operator does not pin the caller: the key may just be absent.
        if operator.startswith("StringNot") or operator.endswith("IfExists"):
            continue
        for key, value in pairs.items():
            values = value if isinstance(value, list) else [value]
            if key.lower() in RESTRICTING_CONDITION_KEYS and all(
                isinstance(v, str) and "*" not in v for v in values
            ):
                return True
    return False


def public_policy_statements(policy: dict[str, Any] | None) -> list[str]:
    """Sids (or indexes) of Allow statements open to any principal without a pinning condition."""
    if not policy:
        return []
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    public = []
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Allow":
            continue
        if not _principal_is_wildcard(statement.get("Principal")):
            continue
        if _has_restricting_condition(statement.get("Condition", {})):
            continue
        public.append(str(statement.get("Sid") or f"#{index}"))
    return public


BUCKET = register(
    ResourceType(
        cfn_type="AWS::S3::Bucket",
        label="S3 bucket",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:s3:::{id}",
        console_format="https://s3.console.aws.amazon.com/s3/buckets/{id}?region={region}&tab=properties",
        arn_regex=re.compile(r"arn:aws[\w-]*:s3:::(?P<id>[^/]+)"),
        permissions=("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketTagging"),
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
