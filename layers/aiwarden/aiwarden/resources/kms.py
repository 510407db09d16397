"""KMS keys: the customer managed keys that encrypt model artifacts, datasets and images.

Only customer managed keys are in scope: AWS managed keys (aws/s3, aws/ecr, ...) cannot be
rotated on demand, scheduled for deletion or given another policy by the account, so they are
left out of listings and describe as out of scope (None).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.policy import GLOBAL_RESTRICTING_CONDITION_KEYS, public_statements
from aiwarden.resources import ResourceType, error_code, register, tagging

if TYPE_CHECKING:
    from aiwarden.clients import Clients

GONE = {"NotFoundException"}
CUSTOMER = "CUSTOMER"


def _aliases(clients: Clients, region: str) -> dict[str, list[str]]:
    """Key id -> its alias names, from one paginated ListAliases per region and invocation."""

    def fetch() -> dict[str, list[str]]:
        by_key: dict[str, list[str]] = {}
        for page in clients.client("kms", region).get_paginator("list_aliases").paginate():
            for alias in page.get("Aliases", []):
                target = alias.get("TargetKeyId")
                if target and alias.get("AliasName"):
                    by_key.setdefault(target, []).append(alias["AliasName"])
        return by_key

    return dict(clients.memo(("kms", "aliases", region), fetch))


def _tags(clients: Clients, region: str, key_id: str) -> dict[str, str]:
    # KMS spells tags TagKey/TagValue, unlike most services.
    tags: dict[str, str] = {}
    for page in clients.client("kms", region).get_paginator("list_resource_tags").paginate(KeyId=key_id):
        tags.update({t["TagKey"]: t.get("TagValue", "") for t in page.get("Tags", [])})
    return tags


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    # ref.resource_id may be a key id, a key ARN or an alias name (events carry all three);
    # DescribeKey takes each and the described ref always names the key id.
    try:
        metadata = clients.client("kms", ref.region).describe_key(KeyId=ref.resource_id)["KeyMetadata"]
    except ClientError as exc:
        if error_code(exc) in GONE:
            return None
        raise
    if metadata.get("KeyManager") != CUSTOMER:
        return None  # AWS managed keys are out of scope
    key_id = metadata["KeyId"]
    data: dict[str, Any] = dict(metadata)
    data["Aliases"] = sorted(_aliases(clients, ref.region).get(key_id, []))
    described = ResourceRef(
        KEY, key_id, ref.region, metadata.get("AWSAccountId") or ref.account, metadata.get("Arn")
    )
    # Tags are read when something asks (an exemption on a failing check), in bulk after a listing.
    return Resource(
        ref=described,
        data=data,
        tags=lambda: tagging.tags(clients, described.arn, lambda: _tags(clients, ref.region, key_id)),
    )


def _list(clients: Clients) -> Iterator[ResourceRef]:
    # ListKeys returns AWS managed keys too; telling them apart takes DescribeKey, which the
    # evaluation needs anyway, so describe through the shared per-invocation cache.
    from aiwarden.engine import describe

    kms = clients.client("kms")
    for page in kms.get_paginator("list_keys").paginate():
        for key in page.get("Keys", []):
            ref = ResourceRef(KEY, key["KeyId"], clients.region, clients.account_id, key.get("KeyArn"))
            try:
                described = describe(clients, ref)
            except ClientError as exc:
                # A key policy that does not let the account's IAM principals describe the key
                # can only belong to a customer managed key: keep it, so its own evaluation
                # reports the error instead of the whole listing failing.
                if error_code(exc) != "AccessDeniedException":
                    raise
                yield ref
                continue
            if described is not None:
                yield ref


def label(key: Resource) -> str:
    """How reasons name a key: its id and, when it has any, its aliases."""
    aliases = key.data.get("Aliases") or []
    return f"KMS key {key.name}" + (f" ({', '.join(aliases)})" if aliases else "")


def key_policy(clients: Clients, key: Resource) -> dict[str, Any] | None:
    def fetch() -> dict[str, Any] | None:
        response = clients.client("kms", key.ref.region).get_key_policy(KeyId=key.name, PolicyName="default")
        text = response.get("Policy")
        return dict(json.loads(text)) if text else None

    result = clients.memo(("kms", "policy", key.ref.region, key.name), fetch)
    return dict(result) if result is not None else None


# kms:CallerAccount pins a wildcard principal to one account (AWS managed key policies use it with
# kms:ViaService); the global keys do the same for any service.
RESTRICTING_CONDITION_KEYS = GLOBAL_RESTRICTING_CONDITION_KEYS | {"kms:calleraccount"}


def public_policy_statements(policy: dict[str, Any] | None) -> list[str]:
    """Sids (or indexes) of Allow statements open to any principal without a pinning condition."""
    return public_statements(policy, RESTRICTING_CONDITION_KEYS)


def rotation_status(clients: Clients, key: Resource) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        response = clients.client("kms", key.ref.region).get_key_rotation_status(KeyId=key.name)
        response.pop("ResponseMetadata", None)
        return dict(response)

    return dict(clients.memo(("kms", "rotation", key.ref.region, key.name), fetch))


def region_of(key_id: str, default: str) -> str:
    """A key ARN (or alias ARN) names its region; a bare id or alias lives in ``default``."""
    match = re.match(r"arn:aws[\w-]*:kms:(?P<region>[\w-]+):", key_id)
    return match.group("region") if match else default


def key_manager(clients: Clients, key_id: str | None, region: str) -> str:
    """Who manages the key another service names: "CUSTOMER" or "AWS". No key id means the
    service's AWS managed default key (aws/s3, aws/ecr). A key that no longer exists reports
    "MISSING"."""
    if not key_id:
        return "AWS"
    key_region = region_of(key_id, region)

    def fetch() -> str:
        if _described_customer_key(clients, key_id, key_region):
            return CUSTOMER
        try:
            metadata = clients.client("kms", key_region).describe_key(KeyId=key_id)["KeyMetadata"]
        except ClientError as exc:
            if error_code(exc) in GONE:
                return "MISSING"
            raise
        return str(metadata.get("KeyManager", "AWS"))

    return str(clients.memo(("kms", "manager", key_region, key_id), fetch))


def _described_customer_key(clients: Clients, key_id: str, region: str) -> bool:
    """Whether this invocation already described ``key_id`` as a customer managed key (a scan
    describes every key it lists): then the answer costs no second DescribeKey."""
    from aiwarden.engine import describe, describe_key

    match = re.fullmatch(r"arn:aws[\w-]*:kms:[\w-]+:(?P<account>\d{12}):key/(?P<id>.+)", key_id)
    bare, account = (match["id"], match["account"]) if match else (key_id, clients.account_id)
    if bare.startswith("alias/"):
        return False
    ref = ResourceRef(KEY, bare, region, account)
    # describe() answers None for AWS managed and for deleted keys alike: only a Resource decides.
    try:
        return clients.known(describe_key(ref)) and describe(clients, ref) is not None
    except Exception:
        return False  # the describe failed: let DescribeKey answer (or fail) on its own


KEY = register(
    ResourceType(
        cfn_type="AWS::KMS::Key",
        label="KMS key",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:kms:{region}:{account}:key/{id}",
        console_format="https://{region}.console.aws.amazon.com/kms/home?region={region}#/kms/keys/{id}",
        # Key ARNs map to the key id; alias ARNs to "alias/<name>", which DescribeKey resolves.
        arn_regex=re.compile(r"arn:aws[\w-]*:kms:[\w-]+:\d{12}:(?:key/|(?=alias/))(?P<id>.+)"),
        permissions=(
            "kms:ListKeys",
            "kms:DescribeKey",
            "kms:ListAliases",
            "kms:ListResourceTags",
            tagging.PERMISSION,
        ),
        prefetch=tagging.announce_refs,
    )
)
