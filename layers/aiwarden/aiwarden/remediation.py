"""Safe auto-remediation: one safety model, enforced here for every fix.

A fix is a small registered function next to its check (``aiwarden/fixes/<service>.py``). Whether
it runs is never its own decision: this module applies, in order,

1. the mode (``off`` | ``dry-run`` | ``enforce``; dry-run is the default and changes nothing),
2. the per-check allow-list (enforce acts only on listed checks; disruptive fixes are never
   covered by ``*`` and must be named),
3. the exemption tag (``aiwarden:exempt=true``: skipped, audited),
4. the loop guard (events caused by AI Warden's own remediation role are evaluated, never
   remediated again),
5. a per-resource rate limit (at most N attempts per window: no ping-pong with another
   automation that keeps reverting the change),
6. per-fix guards (break-glass users, severities),
7. in enforce mode, when the verdict rests on AWS Config's recorded configuration (a sweep's bulk
   read, aiwarden.resources.recorded), a live re-read: no longer failing means ``skipped-stale``,

then acts with the separate remediation role, re-describes the resource with an empty cache,
re-runs the check and reports whether it is now compliant. A failing call leaves the resource as
it was (each fix is one API call or a read-merge-write of one document) and is reported as
``failed``. Every decision, including the skips, is audited.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiwarden.model import Finding, RemediationResult, Resource, Status, TriggerInfo

if TYPE_CHECKING:
    from aiwarden.clients import Clients
    from aiwarden.registry import Check

logger = logging.getLogger(__name__)

MODES = ("off", "dry-run", "enforce")

Apply = Callable[["Resource", "Clients"], str]
# Runs with the read-only clients before acting; returns a reason to skip, or None.
Guard = Callable[["Resource", "Policy", "Clients"], str | None]


@dataclass(frozen=True)
class Fix:
    check_id: str
    action: str
    apply: Apply
    permissions: tuple[str, ...]
    # Disruptive fixes (stopping a notebook, removing a console password) change what people
    # can do: they run only when their check is named in the allow-list, never through "*".
    disruptive: bool = False
    guard: Guard | None = None
    # What the guard reads (granted to the read-only policy, not the remediation role).
    read_permissions: tuple[str, ...] = ()


FIXES: dict[str, Fix] = {}


def fix(
    *,
    check_id: str,
    action: str,
    permissions: Iterable[str],
    disruptive: bool = False,
    guard: Guard | None = None,
    read_permissions: Iterable[str] = (),
) -> Callable[[Apply], Apply]:
    """Register the decorated function as the fix for ``check_id``; it returns a detail line."""

    def register(apply: Apply) -> Apply:
        if check_id in FIXES:
            raise ValueError(f"duplicate fix for {check_id}")
        FIXES[check_id] = Fix(
            check_id, action, apply, tuple(permissions), disruptive, guard, tuple(read_permissions)
        )
        return apply

    return register


def all_fixes() -> dict[str, Fix]:
    import aiwarden.fixes  # noqa: F401  (importing the package registers every fix)

    return FIXES


def required_permissions() -> set[str]:
    """Every IAM action the remediation role needs: exactly what the fixes declare."""
    return {p for f in all_fixes().values() for p in f.permissions}


def guard_read_permissions() -> set[str]:
    return {p for f in all_fixes().values() for p in f.read_permissions}


@dataclass(frozen=True)
class Policy:
    """The operator's remediation settings (template parameters -> environment)."""

    mode: str = "dry-run"
    allowed: frozenset[str] = frozenset()
    remediation_role_arn: str | None = None
    max_attempts: int = 3
    window: timedelta = timedelta(hours=24)
    break_glass_users: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, mode: str | None = None) -> Policy:
        chosen = (mode or os.environ.get("AIWARDEN_REMEDIATION_MODE") or "dry-run").strip().lower()
        if chosen not in MODES:
            raise ValueError(f"remediation mode must be one of {', '.join(MODES)}, not {chosen!r}")
        return cls(
            mode=chosen,
            allowed=_csv(os.environ.get("AIWARDEN_REMEDIATE_CHECKS", "")),
            remediation_role_arn=os.environ.get("AIWARDEN_REMEDIATION_ROLE_ARN") or None,
            max_attempts=int(os.environ.get("AIWARDEN_REMEDIATION_MAX_ATTEMPTS", "3")),
            window=timedelta(hours=float(os.environ.get("AIWARDEN_REMEDIATION_WINDOW_HOURS", "24"))),
            break_glass_users=_csv(os.environ.get("AIWARDEN_BREAK_GLASS_USERS", "")),
        )

    def allows(self, fix_: Fix) -> bool:
        if fix_.check_id in self.allowed:
            return True
        return "*" in self.allowed and not fix_.disruptive


def _csv(value: str) -> frozenset[str]:
    return frozenset(v.strip() for v in value.split(",") if v.strip())


def caused_by(trigger: TriggerInfo, role_arn: str | None) -> bool:
    """True when the triggering call was made by the remediation role (assumed-role session ARN
    ``arn:aws:sts::<acct>:assumed-role/<role name>/<session>`` or the role ARN itself)."""
    if not role_arn or not trigger.actor:
        return False
    role_name = role_arn.rsplit("/", 1)[-1]
    return trigger.actor == role_arn or f":assumed-role/{role_name}/" in trigger.actor


@dataclass
class Remediator:
    """Applies the policy to findings. ``attempts`` counts earlier attempts per (check, resource)
    in the window (the DynamoDB audit trail in Lambda); ``audit`` records every decision."""

    policy: Policy
    read_clients: Clients
    act_clients: Callable[[], Clients]
    attempts: Callable[[str, str, datetime], int] | None = None
    audit: Callable[[dict[str, Any]], None] | None = None
    _in_process: dict[tuple[str, str], int] = field(default_factory=dict)

    def run(self, findings: list[Finding], trigger: TriggerInfo, checks: dict[str, Check]) -> list[Finding]:
        fixes = all_fixes()
        out = []
        for finding in findings:
            fix_ = fixes.get(finding.check_id)
            failing = finding.status is Status.FAIL or (
                finding.status is Status.EXEMPT and finding.underlying is Status.FAIL
            )
            if fix_ is None or not failing or self.policy.mode == "off":
                out.append(finding)
                continue
            result = self._decide_and_act(finding, fix_, trigger, checks[finding.check_id])
            self._record(finding, result, trigger)
            out.append(replace(finding, remediation=result))
        return out

    def _decide_and_act(
        self, finding: Finding, fix_: Fix, trigger: TriggerInfo, check: Check
    ) -> RemediationResult:
        mode = self.policy.mode

        def result(outcome: str, detail: str, compliant_after: bool | None = None) -> RemediationResult:
            return RemediationResult(fix_.action, mode, outcome, detail, compliant_after)

        if finding.status is Status.EXEMPT:
            return result("skipped-exempt", finding.reason)
        if caused_by(trigger, self.policy.remediation_role_arn):
            return result("skipped-loop", "the change was made by AI Warden's remediation role")
        key = _resource_key(finding)
        since = datetime.now(UTC) - self.policy.window
        earlier = self.attempts(finding.check_id, key, since) if self.attempts else 0
        earlier += self._in_process.get((finding.check_id, key), 0)
        if earlier >= self.policy.max_attempts:
            return result(
                "skipped-rate-limit",
                f"{earlier} attempts in the last {self.policy.window}: something keeps reverting it; "
                "a person should look",
            )
        from aiwarden.engine import describe  # cycle: engine imports this module lazily too

        resource = describe(self.read_clients, finding.ref)
        if resource is None:
            return result("skipped-gone", "the resource no longer exists")
        refusal = fix_.guard(resource, self.policy, self.read_clients) if fix_.guard else None
        if refusal:
            return result("skipped-guard", refusal)
        if mode == "dry-run":
            note = "" if self.policy.allows(fix_) else " (not in the allow-list: enforce mode would skip it)"
            return result("would-remediate", f"dry-run: would {fix_.action}{note}")
        if not self.policy.allows(fix_):
            extra = " (disruptive: name it explicitly)" if fix_.disruptive else ""
            return result(
                "skipped-not-allowed", f"{finding.check_id} is not in the remediation allow-list{extra}"
            )
        now = self._live_status(check, finding)
        if now is not None and now is not Status.FAIL:
            # The verdict rested on a recorded configuration that lagged: nothing to fix, and
            # the state table should remember the live PASS rather than the stale FAIL.
            return result(
                "skipped-stale",
                f"the recorded configuration said failing, but a live read finds {now.value}: nothing to fix",
                True if now is Status.PASS else None,
            )
        self._in_process[(finding.check_id, key)] = self._in_process.get((finding.check_id, key), 0) + 1
        try:
            detail = fix_.apply(resource, self.act_clients())
        except Exception as exc:
            logger.error(
                "remediation failed",
                extra={"check_id": finding.check_id, "resource": key, "error": repr(exc)},
            )
            return result(
                "failed", f"{fix_.action} failed, resource left as it was: {_error_text(exc)}", False
            )
        after = self._reevaluate(check, finding)
        if after is Status.PASS:
            return result("remediated", detail, True)
        # The fix did what it could; what is left needs a person (or an opt-in fix).
        return result("partial", f"{detail}; the check still reports {after.value}: {finding.reason}", False)

    def _live_status(self, check: Check, finding: Finding) -> Status | None:
        """The check's live verdict when the finding may rest on AWS Config's recorded
        configuration (aiwarden.resources.recorded), which can lag; None when it was read live."""
        if not self.read_clients.judged_from_record(finding.check_id, finding.ref):
            return None
        return self._reevaluate(check, finding)

    def _reevaluate(self, check: Check, finding: Finding) -> Status:
        from aiwarden.engine import run_check

        return run_check(check, finding.ref, self.read_clients.fresh()).status

    def _record(self, finding: Finding, result: RemediationResult, trigger: TriggerInfo) -> None:
        entry = {
            "check_id": finding.check_id,
            "resource": _resource_key(finding),
            "action": result.action,
            "mode": result.mode,
            "outcome": result.outcome,
            "detail": result.detail,
            "actor": trigger.actor,
            "event_id": trigger.event_id,
            "at": datetime.now(UTC).isoformat(),
        }
        logger.info("remediation decision", extra={"remediation": entry})
        if self.audit is not None:
            self.audit(entry)


def _resource_key(finding: Finding) -> str:
    return finding.ref.arn or f"{finding.ref.type.cfn_type}/{finding.ref.region}/{finding.ref.resource_id}"


def _error_text(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"
