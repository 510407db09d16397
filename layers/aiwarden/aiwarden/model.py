"""The vocabulary every other module shares: severities, statuses, resources and findings.

Kept free of boto3 imports so that parsing an event or rendering a finding costs nothing at
cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiwarden.resources import ResourceType

EXEMPT_TAG = "aiwarden:exempt"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"

    @property
    def rank(self) -> int:
        """Sort key: most severe first."""
        return list(Severity).index(self)


class Practice(StrEnum):
    """The security guide's practices a check serves; the catalog and reports group by them."""

    LEAST_PRIVILEGE = "Least privilege"
    MFA_AND_PASSWORDS = "MFA and passwords"
    ENCRYPTION = "Encryption at rest and in transit"
    NETWORK_EXPOSURE = "Network exposure"
    PATCHING_AND_UPDATES = "Patching and controlled model updates"
    LOGGING_AND_MONITORING = "Logging and monitoring"
    THREAT_DETECTION = "Threat detection"
    REGULAR_ASSESSMENTS = "Regular assessments"
    DATA_CLASSIFICATION = "Data classification"


class Status(StrEnum):
    FAIL = "FAIL"
    PASS = "PASS"
    EXEMPT = "EXEMPT"
    ERROR = "ERROR"
    # Internal only: the resource is gone or out of scope. AWS Config needs it (NOT_APPLICABLE);
    # the public scan/evaluate JSON contract leaves such rows out.
    NOT_APPLICABLE = "NOT_APPLICABLE"


@dataclass(frozen=True)
class Outcome:
    """What a check's evaluate function returns: a status and the sentence a human reads."""

    status: Status
    reason: str


def fail(reason: str) -> Outcome:
    return Outcome(Status.FAIL, reason)


def ok(reason: str) -> Outcome:
    return Outcome(Status.PASS, reason)


@dataclass(frozen=True)
class ResourceRef:
    """Identifies one resource. ``resource_id`` is the name AWS APIs take (bucket, user, model)."""

    type: ResourceType
    resource_id: str
    region: str
    account: str
    # The ARN AWS reported, when known: IAM paths and SageMaker's lower-casing make a computed
    # ARN wrong in corner cases, so a described or event-carried ARN wins.
    arn_hint: str | None = field(default=None, compare=False)

    @property
    def arn(self) -> str | None:
        return self.type.arn_for(self)

    def __str__(self) -> str:
        return f"{self.type.cfn_type}/{self.resource_id}"


class Resource:
    """A freshly described resource: the API's own response plus its tags, as one snapshot.

    ``tags`` may be given as a loader: a tag read is a separate call for most AWS APIs, and the
    lineage walks (every model behind a bucket) never look at tags, so they are read only when
    something asks (the exemption check, a classification rule).
    """

    def __init__(
        self,
        ref: ResourceRef,
        data: dict[str, Any],
        tags: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.ref = ref
        self.data = data
        self._tags = tags
        self._loaded: dict[str, str] | None = None if callable(tags) else dict(tags or {})
        # A scan's checks on one resource run in parallel threads: without it, two of them asking
        # at once would both make the tag call.
        self._loading = threading.Lock()

    @property
    def tags(self) -> dict[str, str]:
        if self._loaded is None:
            with self._loading:
                if self._loaded is None:
                    loader = self._tags
                    assert callable(loader)
                    self._loaded = dict(loader())
        return self._loaded

    @property
    def name(self) -> str:
        return self.ref.resource_id

    @property
    def exempt(self) -> bool:
        return self.tags.get(EXEMPT_TAG, "").strip().lower() == "true"

    def __repr__(self) -> str:
        return f"Resource({self.ref}, tags={'unread' if self._loaded is None else self._loaded})"


@dataclass(frozen=True)
class TriggerInfo:
    """Why an evaluation ran: the event (or scan) that caused it and who caused it."""

    kind: str  # "cloudtrail" | "config" | "guardduty" | "scan"
    source: str = "aiwarden"
    detail_type: str = "Scan"
    event_name: str | None = None
    event_id: str | None = None
    event_time: str | None = None
    actor: str | None = None
    source_ip: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "detail_type": self.detail_type,
            "event_name": self.event_name,
            "event_id": self.event_id,
            "event_time": self.event_time,
            "actor": self.actor,
            "source_ip": self.source_ip,
        }


SCAN_TRIGGER = TriggerInfo(kind="scan")


@dataclass(frozen=True)
class Finding:
    """One (check, resource) verdict. ``to_dict`` is the public scan/evaluate JSON contract."""

    check_id: str
    title: str
    severity: Severity
    status: Status
    ref: ResourceRef
    reason: str
    remediation_advice: str = ""
    # For EXEMPT: what the check found underneath the exemption (a FAIL is audited as skipped).
    underlying: Status | None = None
    remediation: RemediationResult | None = None

    def to_dict(self) -> dict[str, Any]:
        # Field names and meanings are a public interface: add, never rename.
        out: dict[str, Any] = {
            "check_id": self.check_id,
            "title": self.title,
            "severity": self.severity.value,
            "status": self.status.value,
            "resource_type": self.ref.type.cfn_type,
            "resource_id": self.ref.resource_id,
            "resource_arn": self.ref.arn,
            "region": self.ref.region,
            "reason": self.reason,
        }
        if self.remediation is not None:
            out["remediation"] = self.remediation.to_dict()
        return out


@dataclass(frozen=True)
class RemediationResult:
    """What the remediation engine decided and did about one finding (issue: the JSON
    ``remediation`` object: action, mode, outcome, detail)."""

    action: str
    mode: str  # off | dry-run | enforce
    # remediated | partial | would-remediate | skipped-exempt | skipped-loop | skipped-rate-limit |
    # skipped-not-allowed | skipped-break-glass | skipped-severity | failed
    outcome: str
    detail: str
    compliant_after: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "mode": self.mode,
            "outcome": self.outcome,
            "detail": self.detail,
            "compliant_after": self.compliant_after,
        }
