"""AI lineage for SageMaker endpoints: what an endpoint serves, and how sound its sources are.

An endpoint names one endpoint configuration (DescribeEndpoint.EndpointConfigName); the
configuration's production and shadow variants name the models; each model loads artifacts from
S3, runs container images and assumes an execution role. A model built from a model package
(ModelPackageName) takes its images and artifacts from the package's inference specification.

``serving_chain`` resolves that chain for one endpoint and runs each upstream resource through
the checks that already judge it (``UPSTREAM_CHECKS``), so the endpoint's finding can say *why*:
"endpoint fraud-v3 serves model fraud-v3 whose artifacts are in bucket aiw-models-kms, which
fails s3_bucket_default_encryption_kms (...)". Every describe goes through the engine's
per-invocation cache and every upstream verdict is computed once per invocation, however many
endpoints share the bucket, role or repository.

The other direction, from a changed bucket, role, repository, policy, endpoint configuration or
model to the endpoints serving it, is ``FINDERS``: ``install_finders`` merges them into the
endpoint type's ``upstream`` map. Without a state table they resolve every endpoint of the region,
once per invocation. With one (``clients.state``) they ask the lineage index there first: upstream
resource -> the endpoints whose chain passes through it, so an event resolves only those endpoints
again. The index names candidates, never verdicts: each candidate is resolved afresh and counts
only if its chain still passes through the changed resource. Whenever it cannot answer (not rebuilt
in full within a day, any error) the finders resolve every endpoint as before, which rebuilds it.

Only the account's own resources are checked: artifacts in another account's bucket (JumpStart,
shared model stores) and images in another registry (the AWS Deep Learning Containers, AWS
Marketplace) are named in the finding as not checked, because AI Warden can neither read nor fix
them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiwarden import registry
from aiwarden.engine import describe, in_parallel, run_check
from aiwarden.model import Finding, Resource, ResourceRef
from aiwarden.resources import GLOBAL_REGION, ResourceType, s3
from aiwarden.resources.ecr import REPOSITORY
from aiwarden.resources.iam import POLICY, ROLE
from aiwarden.resources.s3 import BUCKET
from aiwarden.resources.sagemaker import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    config_model_names,
    model_containers,
    model_package,
)
from aiwarden.store import ServedBy

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.resources import Finder
    from aiwarden.store import StateStore

logger = logging.getLogger(__name__)

# Dependency kinds, worded as the finding names them.
BUCKET_KIND = "bucket"
REPOSITORY_KIND = "ECR repository"
ROLE_KIND = "role"
IMAGE_KIND = "image"  # an image outside any ECR registry: named, never checked

# The existing checks each kind of upstream resource is run through (those missing from the
# registry are skipped).
UPSTREAM_CHECKS: dict[ResourceType, tuple[str, ...]] = {
    BUCKET: ("s3_bucket_default_encryption_kms", "s3_bucket_public_access_blocked"),
    ROLE: ("iam_sagemaker_execution_role_least_privilege",),
    REPOSITORY: ("ecr_repository_policy_not_public", "ecr_repository_scan_on_push_enabled"),
}

# IAM actions resolving a chain calls beyond the endpoint type's own describe and list.
CHAIN_PERMISSIONS = (
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListTags",
)

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]
ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@\s]+)(?::(?P<tag>[\w.-]+))?(?:@(?P<digest>[\w:+.-]+))?"
)


def parse_ecr_image(image: str) -> tuple[str, str, str] | None:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`` -> (account, region,
    repository); None for an image that is not in an ECR private registry."""
    match = ECR_IMAGE.fullmatch(image.strip())
    if match is None:
        return None
    return match.group("account"), match.group("region"), match.group("repository")


# --- resolution (no checks run) -----------------------------------------------------------------


@dataclass(frozen=True)
class Dependency:
    """One thing a served model depends on, as its definition names it."""

    model: str
    kind: str
    name: str  # bucket, repository or role name; the image itself for IMAGE_KIND
    source: str  # what names it: the S3 URI, the image, the role ARN
    account: str | None = None  # the owning account when the reference says (role ARN, ECR image)
    region: str | None = None  # an ECR repository's region


@dataclass(frozen=True)
class Resolved:
    """An endpoint's chain as far as it could be traced."""

    config: str | None
    models: tuple[str, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    # (path, why) for each point past which the chain cannot be traced (a link no longer exists)
    broken: tuple[tuple[str, str], ...] = ()
    # Every model the configuration names, those that no longer exist included (``models`` has
    # only those that do): the lineage index keeps the endpoint under each of them.
    named_models: tuple[str, ...] = ()


def resolve(clients: Clients, endpoint: Resource) -> Resolved:
    """The endpoint's configuration, models and their dependencies; once per invocation."""
    resolved: Resolved = clients.memo(
        ("lineage", "resolve", endpoint.ref), lambda: _resolve(clients, endpoint)
    )
    return resolved


def _resolve(clients: Clients, endpoint: Resource) -> Resolved:
    config_name = endpoint.data.get("EndpointConfigName")
    if not config_name:
        return Resolved(config=None)
    where = endpoint.ref
    config = describe(clients, ResourceRef(ENDPOINT_CONFIG, config_name, where.region, where.account))
    if config is None:
        path = f"endpoint {endpoint.name} uses endpoint config {config_name}"
        return Resolved(
            config_name, broken=((path, "which no longer exists, so its models cannot be traced"),)
        )
    models: list[str] = []
    dependencies: list[Dependency] = []
    broken: list[tuple[str, str]] = []
    named = config_model_names(config.data)
    for model_name in named:
        path = f"endpoint {endpoint.name} serves model {model_name}"
        model = describe(clients, ResourceRef(MODEL, model_name, where.region, where.account))
        if model is None:
            broken.append(
                (path, "which no longer exists, so its artifacts, images and role cannot be traced")
            )
            continue
        models.append(model_name)
        found, model_broken = _model_dependencies(clients, model, path)
        dependencies += found
        broken += model_broken
    return Resolved(
        config_name,
        tuple(models),
        tuple(dict.fromkeys(dependencies)),
        tuple(dict.fromkeys(broken)),
        tuple(named),
    )


def _model_dependencies(
    clients: Clients, model: Resource, path: str
) -> tuple[list[Dependency], list[tuple[str, str]]]:
    found: list[Dependency] = []
    broken: list[tuple[str, str]] = []
    for container in model_containers(model.data):
        sources: list[dict[str, Any]] = [container]
        package_name = container.get("ModelPackageName")
        if package_name and not container.get("Image"):
            package = model_package(clients, model.ref.region, package_name)
            if package is None:
                broken.append(
                    (
                        f"{path} built from model package {package_name}",
                        "which no longer exists, so its artifacts and images cannot be traced",
                    )
                )
                continue
            sources = _package_containers(package, container.get("InferenceSpecificationName"))
        for source in sources:
            found += _container_dependencies(model.name, source)
    role_arn = model.data.get("ExecutionRoleArn")
    if role_arn:
        fields = role_arn.split(":")
        found.append(
            Dependency(
                model=model.name,
                kind=ROLE_KIND,
                name=ROLE.id_from_arn(role_arn) or role_arn.rsplit("/", 1)[-1],
                source=role_arn,
                account=fields[4] if len(fields) > 4 and fields[4] else None,
            )
        )
    return found, broken


def _package_containers(package: dict[str, Any], specification: str | None) -> list[dict[str, Any]]:
    """The containers of the package's inference specification the model uses: the main one, or
    the additional specification the container names (InferenceSpecificationName)."""
    if specification:
        for extra in package.get("AdditionalInferenceSpecifications") or []:
            if extra.get("Name") == specification:
                return list(extra.get("Containers") or [])
    return list((package.get("InferenceSpecification") or {}).get("Containers") or [])


def artifact_uris(container: dict[str, Any]) -> list[str]:
    """Every S3 location a model or package container loads model data from."""
    uris = [container.get("ModelDataUrl")]
    uris.append(((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
    uris.append((container.get("AdditionalS3DataSource") or {}).get("S3Uri"))
    uris += [
        (extra.get("S3DataSource") or {}).get("S3Uri")
        for extra in container.get("AdditionalModelDataSources") or []
    ]
    return [uri for uri in uris if isinstance(uri, str) and uri]


def _container_dependencies(model: str, container: dict[str, Any]) -> list[Dependency]:
    found = []
    for uri in artifact_uris(container):
        parsed = s3.parse_s3_uri(uri)
        if parsed is not None:
            found.append(Dependency(model=model, kind=BUCKET_KIND, name=parsed[0], source=uri))
    image = container.get("Image")
    if isinstance(image, str) and image:
        ecr_image = parse_ecr_image(image)
        if ecr_image is None:
            found.append(Dependency(model=model, kind=IMAGE_KIND, name=image, source=image))
        else:
            account, region, repository = ecr_image
            found.append(
                Dependency(
                    model=model,
                    kind=REPOSITORY_KIND,
                    name=repository,
                    source=image,
                    account=account,
                    region=region,
                )
            )
    return found


# --- evaluation: the chain with the upstream checks' verdicts -----------------------------------

_RELATION = {
    BUCKET_KIND: ("whose artifacts are in bucket {name}", "artifacts in bucket {name}"),
    REPOSITORY_KIND: ("whose image is in ECR repository {name}", "image in ECR repository {name}"),
    ROLE_KIND: ("which runs as role {name}", "runs as role {name}"),
    IMAGE_KIND: ("whose image is {name}", "image {name}"),
}


@dataclass(frozen=True)
class Link:
    """One upstream resource an endpoint depends on, and what the existing checks found there.

    ``ref`` is None when the resource was not checked (``note`` says why); ``broken`` marks a
    point past which the chain cannot be traced (an endpoint configuration, model or model package
    that no longer exists), with ``note`` saying so."""

    path: str  # "endpoint fraud-v3 serves model fraud-v3 whose artifacts are in bucket aiw-models"
    model: str | None = None
    summary: str = ""  # "artifacts in bucket aiw-models", for the per-model summary
    ref: ResourceRef | None = None
    findings: tuple[Finding, ...] = ()
    note: str = ""
    broken: bool = False
    dependency: Dependency | None = field(default=None, compare=False)


def serving_chain(clients: Clients, endpoint: Resource) -> list[Link]:
    """Resolve ``endpoint`` -> endpoint config -> models -> artifact buckets, ECR repositories and
    execution roles, and run each of the account's own upstream resources through
    ``UPSTREAM_CHECKS``. A link's trouble is data, not an exception: an upstream check that cannot
    evaluate gives an ERROR finding on its link, an endpoint configuration, model or model package
    that no longer exists a ``broken`` link. API errors while resolving the chain itself (reading
    the endpoint configuration or a model) propagate."""
    resolved = resolve(clients, endpoint)
    _index_endpoint(clients, endpoint.ref, resolved)
    links = [Link(path=path, note=why, broken=True) for path, why in resolved.broken]
    for dependency in resolved.dependencies:
        relation, summary = (text.format(name=dependency.name) for text in _RELATION[dependency.kind])
        path = f"endpoint {endpoint.name} serves model {dependency.model} {relation}"
        ref, note = _upstream_ref(clients, endpoint.ref, dependency)
        findings = tuple(_verdicts(clients, ref)) if ref is not None else ()
        links.append(
            Link(
                path=path,
                model=dependency.model,
                summary=summary,
                ref=ref,
                findings=findings,
                note=note,
                dependency=dependency,
            )
        )
    return links


def _upstream_ref(
    clients: Clients, endpoint: ResourceRef, dependency: Dependency
) -> tuple[ResourceRef | None, str]:
    """The resource to check for ``dependency``, or None and why it is not checked."""
    if dependency.kind == IMAGE_KIND:
        return None, "not an ECR private registry image"
    if dependency.account is not None and dependency.account != endpoint.account:
        return None, f"in account {dependency.account}"
    if dependency.kind == BUCKET_KIND:
        owned = s3.own_buckets(clients)
        if dependency.name not in owned:
            return None, "not one of this account's buckets"
        return ResourceRef(BUCKET, dependency.name, owned[dependency.name], endpoint.account), ""
    if dependency.kind == ROLE_KIND:
        return ResourceRef(ROLE, dependency.name, GLOBAL_REGION, endpoint.account, dependency.source), ""
    region = dependency.region or endpoint.region
    return ResourceRef(REPOSITORY, dependency.name, region, endpoint.account), ""


def _verdicts(clients: Clients, ref: ResourceRef) -> Iterator[Finding]:
    """The upstream checks' findings on ``ref``, each computed once per invocation."""
    for check_id in UPSTREAM_CHECKS.get(ref.type, ()):
        check = registry.REGISTRY.get(check_id)
        if check is None or check.resource is not ref.type:
            continue
        finding: Finding = clients.memo(
            ("lineage", "finding", check_id, ref), lambda check=check: run_check(check, ref, clients)
        )
        yield finding


def upstream_checks() -> list[registry.Check]:
    """The registered checks the chain runs upstream resources through."""
    return [
        registry.REGISTRY[check_id]
        for check_ids in UPSTREAM_CHECKS.values()
        for check_id in check_ids
        if check_id in registry.REGISTRY
    ]


# --- lineage finders: from a changed upstream resource to the endpoints serving it ---------------


def _index(clients: Clients) -> list[tuple[ResourceRef, Resolved]]:
    """Every endpoint of the region with its resolved chain: listed once per invocation, and then
    written to the lineage index when there is a state table."""

    def build() -> list[tuple[ResourceRef, Resolved]]:
        out = []
        for ref in ENDPOINT.list_refs(clients):
            endpoint = describe(clients, ref)
            if endpoint is not None:
                out.append((endpoint.ref, resolve(clients, endpoint)))
        stored = _stored(clients)
        if stored is not None:
            stored.rebuild(out)
        return out

    index: list[tuple[ResourceRef, Resolved]] = clients.memo(_every_endpoint_key(clients), build)
    return index


def _every_endpoint_key(clients: Clients) -> tuple[str, ...]:
    return ("lineage", "endpoints", clients.region)


def _endpoints_where(
    clients: Clients, uses: Callable[[Resolved], bool], keys: Iterable[tuple[str, str]]
) -> list[ResourceRef]:
    """The endpoints of the region whose chain ``uses``: those the lineage index names under
    ``keys`` ((index kind, name) pairs), resolved again, when the index can answer; else every
    endpoint of the region."""
    resolved = _from_index(clients, list(keys))
    if resolved is None:
        resolved = _index(clients)
    return [ref for ref, chain in resolved if uses(chain)]


def _depends_on(resolved: Resolved, kind: str, wanted: Callable[[Dependency], bool]) -> bool:
    return any(d.kind == kind and wanted(d) for d in resolved.dependencies)


def endpoints_using_bucket(clients: Clients, bucket: ResourceRef) -> list[ResourceRef]:
    """Lineage: endpoints serving a model whose artifacts are in ``bucket``."""
    return _endpoints_where(
        clients,
        lambda r: _depends_on(r, BUCKET_KIND, lambda d: d.name == bucket.resource_id),
        [(INDEX_KINDS[BUCKET_KIND], bucket.resource_id)],
    )


def _role_matches(role_names: set[str], account: str) -> Callable[[Dependency], bool]:
    return lambda d: d.name in role_names and d.account in (None, account)


def endpoints_using_role(clients: Clients, role: ResourceRef) -> list[ResourceRef]:
    """Lineage: endpoints serving a model that runs as ``role``."""
    wanted = _role_matches({role.resource_id}, role.account)
    return _endpoints_where(
        clients, lambda r: _depends_on(r, ROLE_KIND, wanted), [(INDEX_KINDS[ROLE_KIND], role.resource_id)]
    )


def endpoints_using_policy(clients: Clients, policy: ResourceRef) -> list[ResourceRef]:
    """Lineage: endpoints serving a model whose execution role has ``policy`` attached (a new
    default policy version changes what the role may do)."""
    roles_of_policy = ROLE.upstream.get(POLICY.cfn_type)
    if roles_of_policy is None:
        return []
    names = {ref.resource_id for ref in roles_of_policy(clients, policy)}
    if not names:
        return []
    wanted = _role_matches(names, policy.account)
    return _endpoints_where(
        clients,
        lambda r: _depends_on(r, ROLE_KIND, wanted),
        [(INDEX_KINDS[ROLE_KIND], name) for name in sorted(names)],
    )


def endpoints_using_repository(clients: Clients, repository: ResourceRef) -> list[ResourceRef]:
    """Lineage: endpoints serving a model whose image is in ``repository``."""

    def wanted(d: Dependency) -> bool:
        return (
            d.name == repository.resource_id
            and d.region == repository.region
            and d.account == repository.account
        )

    return _endpoints_where(
        clients,
        lambda r: _depends_on(r, REPOSITORY_KIND, wanted),
        [(INDEX_KINDS[REPOSITORY_KIND], repository.resource_id)],
    )


def endpoints_using_config(clients: Clients, config: ResourceRef) -> list[ResourceRef]:
    """Lineage: endpoints using the endpoint configuration (AWS Config item changes; endpoint
    configurations are immutable, so no CloudTrail call changes one in place)."""
    return _endpoints_where(
        clients, lambda r: r.config == config.resource_id, [(CONFIG_INDEX_KIND, config.resource_id)]
    )


def endpoints_serving_model(clients: Clients, model: ResourceRef) -> list[ResourceRef]:
    """Lineage: endpoints serving the model (AWS Config item changes; models are immutable)."""
    return _endpoints_where(
        clients, lambda r: model.resource_id in r.models, [(MODEL_INDEX_KIND, model.resource_id)]
    )


FINDERS: dict[str, Finder] = {
    BUCKET.cfn_type: endpoints_using_bucket,
    ROLE.cfn_type: endpoints_using_role,
    POLICY.cfn_type: endpoints_using_policy,
    REPOSITORY.cfn_type: endpoints_using_repository,
    ENDPOINT_CONFIG.cfn_type: endpoints_using_config,
    MODEL.cfn_type: endpoints_serving_model,
}


def _union(first: Finder, second: Finder) -> Finder:
    def finder(clients: Clients, ref: ResourceRef) -> Iterable[ResourceRef]:
        return list(dict.fromkeys([*first(clients, ref), *second(clients, ref)]))

    finder.merged = (first, second)  # type: ignore[attr-defined]
    return finder


def install_finders(resource_type: ResourceType = ENDPOINT) -> None:
    """Merge ``FINDERS`` into the endpoint type's upstream map. Existing finders are kept: where
    one is already declared for a type, the two are combined (endpoints either one names).
    Idempotent."""
    for cfn_type, finder in FINDERS.items():
        current = resource_type.upstream.get(cfn_type)
        if current is None:
            resource_type.upstream[cfn_type] = finder
        elif current is not finder and finder not in getattr(current, "merged", ()):
            resource_type.upstream[cfn_type] = _union(current, finder)


# --- the lineage index in the state table (aiwarden.store) ---------------------------------------
# Items SERVES#<account>#<region>#<kind>#<name> / <endpoint name>: the endpoint's chain passes
# through that resource. Kinds: the dependencies the finders match on, and the endpoint
# configuration and models the chain passes through (images outside ECR are matched by no finder).
INDEX_KINDS = {BUCKET_KIND: "bucket", ROLE_KIND: "role", REPOSITORY_KIND: "repository"}
CONFIG_INDEX_KIND = "config"
MODEL_INDEX_KIND = "model"
# At most this many indexed endpoints are resolved at once.
INDEX_WORKERS = 8
# An invocation that has asked the index this often (an account-wide change naming every bucket)
# resolves every endpoint instead: past some number of lookups one listing is cheaper.
INDEX_MAX_LOOKUPS = 25
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}")


def index_keys(resolved: Resolved) -> list[tuple[str, str]]:
    """(index kind, name) of everything the endpoint's chain passes through, as the finders ask."""
    keys = [(CONFIG_INDEX_KIND, resolved.config)] if resolved.config else []
    keys += [(MODEL_INDEX_KIND, name) for name in (*resolved.named_models, *resolved.models)]
    keys += [(INDEX_KINDS[d.kind], d.name) for d in resolved.dependencies if d.kind in INDEX_KINDS]
    return list(dict.fromkeys(keys))


def chain_digest(keys: Iterable[tuple[str, str]]) -> str:
    """A fingerprint of an endpoint's index keys: whether its items still tell its whole chain."""
    text = "\n".join(sorted({f"{kind}#{name}" for kind, name in keys}))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _LineageIndex:
    """The lineage index as one invocation sees it. Answers only while fresh and while nothing went
    wrong with it in this invocation; after any failure the invocation resolves every endpoint and
    writes nothing more but endpoints' own items (which, failing, drop the marker)."""

    def __init__(self, clients: Clients, store: StateStore) -> None:
        self.clients = clients
        self.store = store
        self.account = ""
        self.region = clients.region
        self.fresh = False
        self.broken = False
        self.adding = True  # False once an endpoint's write failed (the marker then dropped): no retries
        self.lookups = 0
        self._lock = threading.Lock()
        # Endpoints not to add one by one: whose items this invocation wrote or found matching
        # their chain, or which it resolved with every endpoint of the region for an upstream change.
        self._current: set[str] = set()
        try:
            self.account = clients.account_id
            self.fresh = store.lineage_fresh(self.account, self.region)
        except Exception as exc:
            self.fail("could not read the lineage index", exc)

    @property
    def usable(self) -> bool:
        return self.fresh and not self.broken and self.lookups < INDEX_MAX_LOOKUPS

    def fail(self, message: str, exc: BaseException, **extra: Any) -> None:
        self.broken = True
        logger.warning(
            "%s; resolving every endpoint of the region instead: %r",
            message,
            exc,
            extra={**extra, "region": self.region, "error": repr(exc)},
        )

    def current(self, endpoint: str) -> bool:
        with self._lock:
            return endpoint in self._current

    def mark_current(self, endpoints: Iterable[str]) -> None:
        with self._lock:
            self._current.update(endpoints)

    def lookup(self, kind: str, name: str) -> list[ServedBy] | None:
        """The items under (kind, name), once per invocation; None when the index could not say."""

        def query() -> list[ServedBy]:
            with self._lock:
                self.lookups += 1
            items = self.store.served_by(self.account, self.region, kind, name)
            for item in items:
                if not ENDPOINT_NAME.fullmatch(item.endpoint):
                    raise ValueError(f"lineage item for {kind} {name} names no endpoint: {item.endpoint!r}")
            return items

        try:
            key = ("lineage", "served_by", self.region, kind, name)
            found: list[ServedBy] = self.clients.memo(key, query)
        except Exception as exc:  # an optimisation: any failure means every endpoint
            self.fail("could not read the lineage index", exc, index_kind=kind, index_name=name)
            return None
        return found

    def rebuild(self, endpoints: list[tuple[ResourceRef, Resolved]]) -> None:
        """Write every endpoint's items, then the marker that vouches for them. A failure leaves
        the marker as it was, so a stale index stays stale and the next event resolves again. These
        endpoints were resolved for an upstream change, not their own: none is added one by one."""
        self.mark_current(ref.resource_id for ref, _ in endpoints)
        if self.broken:
            return
        try:
            entries = [entry for ref, resolved in endpoints for entry in _entries(ref, resolved)]
            written = self.store.put_served_by(self.account, self.region, entries)
            self.store.mark_lineage_built(self.account, self.region)
        except Exception as exc:
            self.fail("could not write the lineage index", exc)
            return
        logger.info("lineage index rebuilt", extra={"region": self.region, "items": written})

    def add(self, ref: ResourceRef, resolved: Resolved) -> None:
        """Write an endpoint's items (a new or updated endpoint, or one whose chain changed since
        it was indexed), so the next upstream event knows it without a rebuild. When that fails the
        index is incomplete: this invocation resolves every endpoint, and the marker is dropped so
        the next event rebuilds. Tried even after a failed read: an index left without the
        endpoint would otherwise keep vouching for itself until the next rebuild."""
        if not self.adding or self.current(ref.resource_id):
            return
        try:
            self.store.put_served_by(ref.account, ref.region, _entries(ref, resolved))
        except Exception as exc:
            self.adding = False  # the table is not taking writes: one failure is enough to log
            self.fail(f"could not add {ref} to the lineage index", exc, resource=str(ref))
            try:
                self.store.forget_lineage_built(ref.account, ref.region)
            except Exception as forget_exc:
                logger.warning(
                    "could not mark the lineage index stale: %r",
                    forget_exc,
                    extra={"region": ref.region, "error": repr(forget_exc)},
                )
            return
        self.mark_current([ref.resource_id])


def _entries(ref: ResourceRef, resolved: Resolved) -> list[ServedBy]:
    keys = index_keys(resolved)
    chain = chain_digest(keys)
    return [ServedBy(kind, name, ref.resource_id, chain) for kind, name in keys]


def _stored(clients: Clients) -> _LineageIndex | None:
    """The invocation's view of the lineage index (one marker read), None without a state table."""
    store = clients.state
    if store is None:
        return None
    index: _LineageIndex = clients.memo(
        ("lineage", "index", clients.region), lambda: _LineageIndex(clients, store)
    )
    return index


def _from_index(clients: Clients, keys: list[tuple[str, str]]) -> list[tuple[ResourceRef, Resolved]] | None:
    """The endpoints the index names under ``keys``, each described and resolved again (deleted
    ones drop out); None when the index cannot answer, or when this invocation resolved every
    endpoint already (that answer is complete and costs nothing more)."""
    if clients.state is None or clients.known(_every_endpoint_key(clients)):
        return None
    index = _stored(clients)
    if index is None or not index.usable:
        return None
    chains: dict[str, str] = {}
    for kind, name in keys:
        found = index.lookup(kind, name)
        if found is None:
            return None
        for item in found:
            chains.setdefault(item.endpoint, item.chain)
    refs = [ResourceRef(ENDPOINT, name, clients.region, clients.account_id) for name in sorted(chains)]

    def again(ref: ResourceRef) -> tuple[ResourceRef, Resolved] | None:
        endpoint = describe(clients, ref)
        if endpoint is None:
            return None
        resolved = resolve(clients, endpoint)
        if chain_digest(index_keys(resolved)) == chains[ref.resource_id]:
            index.mark_current([ref.resource_id])
        else:  # its chain changed since it was indexed: index what it passes through now
            _index_endpoint(clients, endpoint.ref, resolved)
        return endpoint.ref, resolved

    return [pair for pair in in_parallel(again, refs, INDEX_WORKERS) if pair is not None]


def _index_endpoint(clients: Clients, ref: ResourceRef, resolved: Resolved) -> None:
    """Put an endpoint's items in the index, once per invocation, unless this invocation wrote them
    already or found them matching its chain: for an endpoint resolved for its own verdict (its
    CreateEndpoint or UpdateEndpoint event, a sweep) or whose chain changed since it was indexed."""
    index = _stored(clients)
    if index is not None and not index.current(ref.resource_id):
        clients.memo(("lineage", "index_put", ref), lambda: index.add(ref, resolved))
