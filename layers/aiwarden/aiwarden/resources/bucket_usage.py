"""Which buckets the AI resources of a region use, and for what: model artifacts, endpoint data
capture, training data and training output. The AI-bucket checks and the bucket -> model lineage
ask it for one bucket at a time; the answer comes from the invocation's full map when it has one
(a scan), from the usage index in the state table when it is fresh (an event), else from listing
and describing every model, endpoint configuration and recent training job of the region, which
then rebuilds the index."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType
from aiwarden.resources.s3 import parse_s3_uri
from aiwarden.store import IndexedUse

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.store import StateStore

logger = logging.getLogger(__name__)

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


def prefetch_buckets_used(clients: Clients, refs: list[ResourceRef]) -> None:
    """Part of the model, endpoint configuration and training job prefetch: their checks read the
    settings of the buckets they use (is the artifact bucket encrypted?), one bucket at a time.
    Where recorded reads are allowed (a sweep work item on Lambda, aiwarden.resources.recorded),
    describe the resources first (the checks would, and the cache keeps it) and take their buckets'
    recorded configuration in one bulk read, judged as the bucket type's own prefetch is."""
    from aiwarden.engine import describe, in_parallel
    from aiwarden.resources import recorded, s3

    if not refs or not recorded.enabled(clients):
        return

    def described(ref: ResourceRef) -> Resource | None:
        try:
            return describe(clients, ref)
        except Exception:  # the check reports it when it asks again (the cache keeps the error)
            return None

    resources = [r for r in in_parallel(described, refs, INDEX_WORKERS) if r is not None]
    names = sorted({bucket for resource in resources for bucket, _ in _uses_of(resource)})
    if names:
        s3.seed_recorded_buckets(clients, list(s3.own_bucket_refs(clients, names, refs[0].account)))


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
    from aiwarden.engine import describe, in_parallel

    described = in_parallel(lambda ref: describe(clients, ref), refs, INDEX_WORKERS)
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


def index_resource(clients: Clients, resource: Resource) -> None:
    """A lineage finder described a new AI resource: add its uses to the index, once per
    invocation (both AI-bucket checks follow the same event)."""
    index = _index(clients)
    if index is not None:
        clients.memo(("s3", "ai_index_put", resource.ref), lambda: index.add(resource))
