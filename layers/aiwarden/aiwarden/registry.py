"""The check registry: each check is one declarative unit (metadata + a pure evaluate function).

The registry is the single source of truth the rest of the service is derived from: the
EventBridge patterns in template.yaml, the IAM permissions, the catalog in docs, and which
checks an incoming event re-evaluates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiwarden.model import Outcome, Practice, Severity

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.model import Resource
    from aiwarden.resources import ResourceType

ALL_RESOURCES = "*"  # an ``ids`` value meaning "every resource of the type" (account-level change)


@dataclass(frozen=True)
class CloudTrailTrigger:
    """CloudTrail management events that may change what a check sees.

    ``ids`` is a dotted path into the CloudTrail record (``requestParameters.bucketName``;
    ``[]`` walks a list) giving the resource name or ARN, or ALL_RESOURCES. ``resource`` is the
    type those ids name when it is not the check's own: an upstream resource whose change the
    check follows through the AI lineage (a bucket for a model check).
    """

    service: str
    event_names: tuple[str, ...]
    ids: str
    resource: ResourceType | None = None

    @property
    def event_source(self) -> str:
        return f"{self.service}.amazonaws.com"

    @property
    def source(self) -> str:
        return f"aws.{self.service}"


def cloudtrail(
    service: str, *event_names: str, ids: str, resource: ResourceType | None = None
) -> CloudTrailTrigger:
    return CloudTrailTrigger(service=service, event_names=tuple(event_names), ids=ids, resource=resource)


Evaluate = Callable[["Resource", "Clients"], Outcome]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    resource: ResourceType
    triggers: tuple[CloudTrailTrigger, ...]
    evaluate: Evaluate
    permissions: tuple[str, ...]
    remediation: str
    practice: Practice
    controls: Mapping[str, Sequence[str]] = field(default_factory=dict)


REGISTRY: dict[str, Check] = {}


def check(
    *,
    id: str,
    title: str,
    severity: Severity,
    resource: ResourceType,
    triggers: Iterable[CloudTrailTrigger],
    permissions: Iterable[str],
    remediation: str,
    practice: Practice,
    controls: Mapping[str, Sequence[str]] | None = None,
) -> Callable[[Evaluate], Evaluate]:
    """Register the decorated evaluate function as a check."""

    def register(evaluate: Evaluate) -> Evaluate:
        if id in REGISTRY:
            raise ValueError(f"duplicate check id {id}")
        REGISTRY[id] = Check(
            id=id,
            title=title,
            severity=severity,
            resource=resource,
            triggers=tuple(triggers),
            evaluate=evaluate,
            permissions=tuple(permissions),
            remediation=remediation,
            practice=practice,
            controls=dict(controls or {}),
        )
        return evaluate

    return register


def checks_for(resource_type: ResourceType, among: Iterable[Check] | None = None) -> list[Check]:
    """Checks a change to ``resource_type`` can affect: its own, and those downstream of it."""
    return [
        c
        for c in (all_checks() if among is None else among)
        if c.resource is resource_type or resource_type.cfn_type in c.resource.upstream
    ]


def required_permissions(checks: Iterable[Check] | None = None) -> set[str]:
    """Every IAM action the evaluator needs: what checks call plus what describing and listing
    their resources calls. The template must grant exactly these (tested)."""
    needed: set[str] = set()
    for c in all_checks() if checks is None else checks:
        needed.update(c.permissions)
        needed.update(c.resource.permissions)
    return needed


def all_checks() -> list[Check]:
    import aiwarden.checks  # noqa: F401  (importing the package registers every check)

    return sorted(REGISTRY.values(), key=lambda c: c.id)


def select(ids: Iterable[str] | None) -> list[Check]:
    """The named checks (all when ``ids`` is None); unknown ids raise KeyError naming them."""
    checks = all_checks()
    if ids is None:
        return checks
    wanted = list(dict.fromkeys(ids))
    unknown = [i for i in wanted if i not in REGISTRY]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [REGISTRY[i] for i in wanted]
