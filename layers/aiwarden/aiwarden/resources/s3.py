"""S3 buckets: describe, list, and the per-aspect reads checks share (each fetched once)."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
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
from aiwarden.resources import ResourceType, error_code, register, tagging, tags_from_list
from aiwarden.store import IndexedUse

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.store import StateStore

logger = logging.getLogger(__name__)
GONE = {"NoSuchBucket", "404", "NotFound"}


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


def _list(clients: Clients) -> Iterator[ResourceRef]:
    s3 = clients.client("s3")
    # A page size (MaxBuckets) makes S3 return each bucket's BucketRegion, saving a
    # GetBucketLocation call per bucket.
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 1000}):
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


# --- AI lineage: which buckets AI resources read from or write to ---------------------------
# IAM actions ai_buckets() calls (the SageMaker describes include their ListTags).
AI_BUCKET_PERMISSIONS = (
    "sagemaker:ListModels",
    "sagemaker:DescribeModel",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListTrainingJobs",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:ListTags",
)


def _bucket_of(uri: Any) -> str | None:
    parsed = parse_s3_uri(uri) if isinstance(uri, str) else None
    return parsed[0] if parsed else None


def model_uses(name: str, model: dict[str, Any]) -> list[tuple[str, str]]:
    from aiwarden.resources.sagemaker import model_artifact_uris

    return [
        (bucket, f"SageMaker model {name} (model artifacts)")
        for uri in model_artifact_uris(model)
        if (bucket := _bucket_of(uri))
    ]


def endpoint_config_uses(name: str, config: dict[str, Any]) -> list[tuple[str, str]]:
    bucket = _bucket_of((config.get("DataCaptureConfig") or {}).get("DestinationS3Uri"))
    return [(bucket, f"SageMaker endpoint config {name} (data capture)")] if bucket else []


def training_job_uses(name: str, job: dict[str, Any]) -> list[tuple[str, str]]:
    uses = []
    for channel in job.get("InputDataConfig") or []:
        bucket = _bucket_of(((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
        if bucket:
            uses.append((bucket, f"SageMaker training job {name} (training data)"))
    bucket = _bucket_of((job.get("OutputDataConfig") or {}).get("S3OutputPath"))
    if bucket:
        uses.append((bucket, f"SageMaker training job {name} (model output)"))
    return uses


@dataclass(frozen=True)
class Use:
    """An AI resource's use of a bucket: the resource (as described, with its ARN) and what it
    uses the bucket for, e.g. "SageMaker model m1 (model artifacts)"."""

    ref: ResourceRef
    what: str

    @property
    def cfn_type(self) -> str:
        return self.ref.type.cfn_type

    @property
    def name(self) -> str:
        return self.ref.resource_id


def _uses_of(resource: Resource) -> list[tuple[str, str]]:
    """(bucket, what) for each bucket a model, endpoint configuration or training job names."""
    from aiwarden.resources.sagemaker import ENDPOINT_CONFIG, MODEL, TRAINING_JOB

    kind = resource.ref.type
    if kind is MODEL:
        return model_uses(resource.name, resource.data)
    if kind is ENDPOINT_CONFIG:
        return endpoint_config_uses(resource.name, resource.data)
    if kind is TRAINING_JOB:
        return training_job_uses(resource.name, resource.data)
    return []


def _usage_types() -> list[ResourceType]:
    """The types whose resources use buckets, in the order uses are reported."""
    from aiwarden.resources.sagemaker import ENDPOINT_CONFIG, MODEL, TRAINING_JOB

    return [MODEL, ENDPOINT_CONFIG, TRAINING_JOB]


def _ordered(uses: Iterable[Use]) -> list[Use]:
    """Uses in one order whoever computed them (the full listing or the index): by type, then
    name; a resource's own uses keep the order its settings give them. Duplicates dropped."""
    rank = {t.cfn_type: i for i, t in enumerate(_usage_types())}
    unique = list(dict.fromkeys(uses))
    return sorted(unique, key=lambda u: (rank.get(u.cfn_type, len(rank)), u.name))


def _usage_map(clients: Clients) -> dict[str, list[Use]]:
    """Bucket name -> its uses, from every model, endpoint configuration and recent training job
    of the region: computed once per invocation, and then written to the usage index."""

    def fetch() -> dict[str, list[Use]]:
        from aiwarden.engine import describe

        found: dict[str, list[Use]] = {}
        for resource_type in _usage_types():
            for ref in resource_type.list_refs(clients):
                resource = describe(clients, ref)
                if resource is not None:
                    for bucket, what in _uses_of(resource):
                        found.setdefault(bucket, []).append(Use(resource.ref, what))
        usage = {bucket: _ordered(uses) for bucket, uses in found.items()}
        index = _index(clients)
        if index is not None:
            index.rebuild(usage)
        return usage

    usage: dict[str, list[Use]] = clients.memo(("s3", "ai_buckets", clients.region), fetch)
    return usage


def ai_buckets(clients: Clients) -> dict[str, list[str]]:
    """Bucket name -> what AI resources in this region use it for, named by the resources' own
    settings: model artifact locations, endpoint data capture destinations and the input and
    output locations of recent training jobs (those the training-job type lists: created within
    aiwarden.resources.sagemaker.JOB_LOOKBACK). Computed once per invocation; the describes go
    through the engine's cache, so the SageMaker checks of a scan reuse them. For one bucket,
    ``ai_usage`` is far cheaper."""
    return {bucket: [use.what for use in uses] for bucket, uses in _usage_map(clients).items()}


def ai_usage(clients: Clients, bucket: str) -> list[Use]:
    """What AI resources in this region use ``bucket`` for: ``ai_buckets(clients)[bucket]``, with
    the resources, at the cost of one bucket rather than of every AI resource of the region.

    The whole map when this invocation has it already (a scan: its describes are shared with the
    SageMaker checks); else, with a state table whose usage index is fresh, the bucket's indexed
    resources, each described again (deleted ones and old training jobs drop out); else the whole
    map, which then rebuilds the index. Any trouble with the index means the whole map: the index
    saves calls, it never decides a verdict."""
    index = _index(clients)
    if index is None or clients.known(("s3", "ai_buckets", clients.region)) or not index.usable:
        return list(_usage_map(clients).get(bucket, []))
    found = clients.memo(("s3", "ai_usage", clients.region, bucket), lambda: index.usage(bucket))
    if found is None:
        return list(_usage_map(clients).get(bucket, []))
    return list(found)


# --- the bucket -> AI usage index in the state table (aiwarden.store) --------------------------
# At most this many indexed resources are described at once.
INDEX_WORKERS = 8


class _UsageIndex:
    """The usage index as one invocation sees it. Answers only while fresh and while nothing went
    wrong with it in this invocation; after any failure the invocation computes the full map and
    writes nothing more (the table is not answering)."""

    def __init__(self, clients: Clients, store: StateStore) -> None:
        self.clients = clients
        self.store = store
        self.fresh = False
        self.broken = False
        try:
            self.fresh = store.usage_fresh(clients.account_id, clients.region)
        except Exception as exc:
            self.fail("could not read the AI usage index", exc)

    @property
    def usable(self) -> bool:
        return self.fresh and not self.broken

    def fail(self, message: str, exc: BaseException, **extra: Any) -> None:
        self.broken = True
        logger.warning(
            "%s; computing the AI usage of the region instead: %r",
            message,
            exc,
            extra={**extra, "region": self.clients.region, "error": repr(exc)},
        )

    def usage(self, bucket: str) -> list[Use] | None:
        """The bucket's uses from the index, or None when the index could not say."""
        try:
            refs = self._refs(bucket)
        except Exception as exc:  # an optimisation: any failure means the full map
            self.fail("could not read the AI usage index", exc, bucket=bucket)
            return None
        return _verified(self.clients, bucket, refs)

    def _refs(self, bucket: str) -> list[ResourceRef]:
        from aiwarden.resources import RESOURCE_TYPES

        clients = self.clients
        known = {t.cfn_type for t in _usage_types()}
        refs = []
        for use in self.store.bucket_usage(clients.account_id, clients.region, bucket):
            if use.cfn_type not in known:
                raise ValueError(f"usage item of an unexpected type: {use.cfn_type}#{use.name}")
            resource_type = RESOURCE_TYPES[use.cfn_type]
            refs.append(ResourceRef(resource_type, use.name, clients.region, clients.account_id))
        return list(dict.fromkeys(refs))

    def rebuild(self, usage: dict[str, list[Use]]) -> None:
        """Write the whole map, then the marker that vouches for it. A failure leaves the marker
        as it was, so a stale index stays stale and the next event computes the map again."""
        if self.broken:
            return
        clients = self.clients
        try:
            entries = _entries((bucket, use) for bucket, uses in usage.items() for use in uses)
            written = self.store.put_usage(clients.account_id, clients.region, entries)
            self.store.mark_usage_built(clients.account_id, clients.region)
        except Exception as exc:
            self.fail("could not write the AI usage index", exc)
            return
        logger.info("AI usage index rebuilt", extra={"region": clients.region, "items": written})

    def add(self, resource: Resource) -> None:
        """Add a new resource's uses (a CreateModel, CreateEndpointConfig or CreateTrainingJob
        event), so the next bucket event knows them without a rebuild. When that fails the index
        is incomplete: this invocation computes the full map, and the marker is dropped so the
        next event rebuilds. Tried even after a failed read: an index left without the new
        resource would otherwise keep vouching for itself until the next rebuild."""
        uses = [(bucket, Use(resource.ref, what)) for bucket, what in _uses_of(resource)]
        if not uses:
            return
        try:
            self.store.put_usage(resource.ref.account, resource.ref.region, _entries(uses))
        except Exception as exc:
            self.fail(f"could not add {resource.ref} to the AI usage index", exc, resource=str(resource.ref))
            try:
                self.store.forget_usage_built(resource.ref.account, resource.ref.region)
            except Exception as forget_exc:
                logger.warning(
                    "could not mark the AI usage index stale: %r",
                    forget_exc,
                    extra={"region": resource.ref.region, "error": repr(forget_exc)},
                )


def _index(clients: Clients) -> _UsageIndex | None:
    """The invocation's view of the usage index (one marker read), None without a state table."""
    store = clients.state
    if store is None:
        return None
    index: _UsageIndex = clients.memo(("s3", "ai_index", clients.region), lambda: _UsageIndex(clients, store))
    return index


def _verified(clients: Clients, bucket: str, refs: list[ResourceRef]) -> list[Use]:
    """The uses of ``bucket`` the indexed resources have now. Each is described (through the
    engine's cache), exactly as the full map would: a resource deleted since, or a training job
    older than JOB_LOOKBACK, is no use."""
    from aiwarden.engine import describe

    if len(refs) > 1:
        with ThreadPoolExecutor(max_workers=min(INDEX_WORKERS, len(refs))) as pool:
            described = list(pool.map(lambda ref: describe(clients, ref), refs))
    else:
        described = [describe(clients, ref) for ref in refs]
    uses = [
        Use(resource.ref, what)
        for resource in described
        if resource is not None and _listed(resource)
        for used, what in _uses_of(resource)
        if used == bucket
    ]
    return _ordered(uses)


def _listed(resource: Resource) -> bool:
    """Whether the full map would see the resource: training jobs only within JOB_LOOKBACK."""
    from aiwarden.resources.sagemaker import JOB_LOOKBACK, TRAINING_JOB

    created = resource.data.get("CreationTime")
    if resource.ref.type is not TRAINING_JOB or not isinstance(created, datetime):
        return True
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    return created > datetime.now(UTC) - JOB_LOOKBACK


def _entries(uses: Iterable[tuple[str, Use]]) -> list[IndexedUse]:
    """Index items, one per (bucket, resource), from (bucket, use) pairs."""
    grouped: dict[tuple[str, ResourceRef], list[str]] = {}
    for bucket, use in uses:
        whats = grouped.setdefault((bucket, use.ref), [])
        if use.what not in whats:
            whats.append(use.what)
    return [
        IndexedUse(bucket, ref.type.cfn_type, ref.resource_id, tuple(whats))
        for (bucket, ref), whats in grouped.items()
    ]


def _index_resource(clients: Clients, resource: Resource) -> None:
    """A lineage finder described a new AI resource: add its uses to the index, once per
    invocation (both AI-bucket checks follow the same event)."""
    index = _index(clients)
    if index is not None:
        clients.memo(("s3", "ai_index_put", resource.ref), lambda: index.add(resource))


def own_buckets(clients: Clients) -> dict[str, str]:
    """The account's buckets and their regions, listed once per invocation."""

    def fetch() -> dict[str, str]:
        return {ref.resource_id: ref.region for ref in _list(clients)}

    return dict(clients.memo(("s3", "own_buckets"), fetch))


def _own_bucket_refs(clients: Clients, names: list[str], account: str) -> Iterator[ResourceRef]:
    # Artifacts may live in buckets of other accounts (JumpStart, shared model stores): AI Warden
    # can neither read nor fix those, so lineage only follows to the account's own buckets.
    owned = own_buckets(clients)
    for name in sorted(set(names)):
        if name in owned:
            yield ResourceRef(BUCKET, name, owned[name], account)


def _buckets_of_model(clients: Clients, model_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the buckets a model loads its artifacts from."""
    from aiwarden.engine import describe

    model = describe(clients, model_ref)
    if model is not None:
        _index_resource(clients, model)
        yield from _own_bucket_refs(
            clients, [b for b, _ in model_uses(model.name, model.data)], model_ref.account
        )


def _buckets_of_training_job(clients: Clients, job_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the buckets a training job reads its data from and writes its model to."""
    from aiwarden.engine import describe

    job = describe(clients, job_ref)
    if job is not None:
        _index_resource(clients, job)
        yield from _own_bucket_refs(
            clients, [b for b, _ in training_job_uses(job.name, job.data)], job_ref.account
        )


def _buckets_of_endpoint_config(clients: Clients, config_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the bucket an endpoint configuration captures inference data into."""
    from aiwarden.engine import describe

    config = describe(clients, config_ref)
    if config is not None:
        _index_resource(clients, config)
        uses = endpoint_config_uses(config.name, config.data)
        yield from _own_bucket_refs(clients, [b for b, _ in uses], config_ref.account)


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
