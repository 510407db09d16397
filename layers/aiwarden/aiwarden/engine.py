"""Evaluate resources against checks, and the Lambda entry point's whole job.

A check that raises becomes an ERROR finding for that (check, resource) only; every other check
still reports. A resource that no longer exists yields NOT_APPLICABLE. Each resource is described
once per invocation, however many checks look at it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aiwarden import alerts
from aiwarden.clients import Clients
from aiwarden.events import Invocation, NothingToEvaluate, Target, UnsupportedEvent, normalise
from aiwarden.model import EXEMPT_TAG, Finding, Resource, ResourceRef, Status, TriggerInfo
from aiwarden.registry import Check, select
from aiwarden.remediation import Policy, Remediator
from aiwarden.resources import GLOBAL_REGION, error_code
from aiwarden.store import TABLE_ENV, StateStore, StoreError, Transition, resource_key

logger = logging.getLogger(__name__)

MAX_WORKERS = 8


class EvaluationFailed(Exception):
    """Nothing could be evaluated: fail the invocation so Lambda retries, then dead-letters it."""


def describe_key(ref: ResourceRef) -> tuple[str, ResourceRef]:
    """The invocation cache key of a resource's description (a bulk read may fill it first)."""
    return ("describe", ref)


def describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    return clients.memo(describe_key(ref), lambda: ref.type.describe(clients, ref))  # type: ignore[no-any-return]


def in_parallel(work: Callable[[Any], Any], items: list[Any], workers: int = MAX_WORKERS) -> list[Any]:
    """``work`` on each item, in order, up to ``workers`` at once (inline for a single item): for
    reads AWS answers one resource at a time, such as re-describing what an index names."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(work, items))


DISABLED_ENV = "AIWARDEN_DISABLED_CHECKS"


def enabled_checks() -> list[Check]:
    """Every registered check except those the operator turned off (template parameter
    DisabledChecks): a check that does not fit an account should be off, not exempted everywhere."""
    disabled = {c.strip() for c in os.environ.get(DISABLED_ENV, "").split(",") if c.strip()}
    return [c for c in select(None) if c.id not in disabled]


def _deleted(ref: ResourceRef, clients: Clients) -> bool:
    """Re-read with an empty cache: is the resource really gone?"""
    try:
        return ref.type.describe(clients.fresh(), ref) is None
    except Exception:
        return False


def _gone(exc: BaseException) -> bool:
    code = error_code(exc)
    return any(marker in code for marker in ("NoSuch", "NotFound", "404"))


def _error_reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"could not evaluate: {error.get('Code')}: {error.get('Message')}"
    return f"could not evaluate: {type(exc).__name__}: {exc}"


def run_check(check: Check, ref: ResourceRef, clients: Clients) -> Finding:
    """One (check, resource) verdict; never raises."""

    def finding(status: Status, reason: str, described: ResourceRef = ref) -> Finding:
        return Finding(
            check_id=check.id,
            title=check.title,
            severity=check.severity,
            status=status,
            ref=described,
            reason=reason,
            remediation_advice=check.remediation,
        )

    try:
        resource = describe(clients, ref)
        if resource is None:
            return finding(Status.NOT_APPLICABLE, f"{ref.type.label} {ref.resource_id} no longer exists")
        outcome = check.evaluate(resource, clients)
        # The exemption hides failures, and only failures: a passing check on an exempt resource
        # still says PASS, so exemptions that no longer hide anything are easy to spot and retire.
        # (Tags may be read only now: inside the try, so a refused tag read is this check's ERROR.)
        exempt = outcome.status is Status.FAIL and resource.exempt
    except (ClientError, BotoCoreError, Exception) as exc:  # a broken check must not stop others
        if _gone(exc) and _deleted(ref, clients):
            # Deleted between describe() and a later read: nothing left to be compliant about.
            return finding(
                Status.NOT_APPLICABLE, f"{ref.type.label} {ref.resource_id} was deleted during evaluation"
            )
        logger.warning(
            "check %s could not evaluate %s: %r",
            check.id,
            ref,
            exc,
            extra={"check_id": check.id, "resource": str(ref), "error": repr(exc)},
            exc_info=not isinstance(exc, ClientError | BotoCoreError),
        )
        return finding(Status.ERROR, _error_reason(exc))
    if exempt:
        hidden = finding(
            Status.EXEMPT,
            f"tagged {EXEMPT_TAG}={resource.tags[EXEMPT_TAG]} (would be {outcome.status.value}: "
            f"{outcome.reason})",
            resource.ref,
        )
        return replace(hidden, underlying=outcome.status)
    return finding(outcome.status, outcome.reason, resource.ref)


def _listing_error(check: Check, scope_label: str, clients: Clients, exc: BaseException) -> Finding:
    ref = ResourceRef(check.resource, "*", clients.region, clients._account_id or "unknown")
    logger.warning(
        "could not list %ss for %s: %r",
        scope_label,
        check.id,
        exc,
        extra={"check_id": check.id, "error": repr(exc)},
    )
    return Finding(
        check_id=check.id,
        title=check.title,
        severity=check.severity,
        status=Status.ERROR,
        ref=ref,
        reason=f"could not list {scope_label}s: " + _error_reason(exc).removeprefix("could not evaluate: "),
        remediation_advice=check.remediation,
    )


def _jobs_for(
    target: Target, checks: list[Check], clients: Clients
) -> tuple[list[tuple[Check, ResourceRef]], list[Finding]]:
    """Expand a target into (check, resource) jobs, following lineage to dependent resources."""
    jobs: list[tuple[Check, ResourceRef]] = []
    errors: list[Finding] = []
    selected = [c for c in checks if c.id in target.check_ids]
    if not selected:
        return jobs, errors
    try:
        refs = [target.ref] if target.ref is not None else list(target.scope.list_refs(clients))
    except Exception as exc:
        return jobs, [_listing_error(c, target.scope.label, clients, exc) for c in selected]
    for check in selected:
        if check.resource is target.scope:
            jobs.extend((check, ref) for ref in refs)
            continue
        finder = check.resource.upstream.get(target.scope.cfn_type)
        if finder is None:
            continue
        try:
            for ref in refs:
                jobs.extend((check, dependent) for dependent in finder(clients, ref))
        except Exception as exc:
            errors.append(_listing_error(check, check.resource.label, clients, exc))
    return jobs, errors


def evaluate(targets: Iterable[Target], clients: Clients, checks: list[Check] | None = None) -> list[Finding]:
    """Every (check, resource) the targets name, evaluated concurrently, each resource described
    once."""
    enabled = checks if checks is not None else enabled_checks()
    targets = list(targets)
    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        expanded = list(pool.map(lambda t: _jobs_for(t, enabled, clients), targets))
        seen: set[tuple[str, ResourceRef]] = set()
        jobs: list[tuple[Check, ResourceRef]] = []
        findings: list[Finding] = []
        for target_jobs, errors in expanded:
            findings.extend(errors)
            for check, ref in target_jobs:
                if (check.id, ref) not in seen:
                    seen.add((check.id, ref))
                    jobs.append((check, ref))
        _prefetch(jobs, clients)
        evaluated = list(pool.map(lambda job: _run_noting(job[0], job[1], clients), jobs))
        findings.extend(_confirm_recorded(evaluated, jobs, clients, pool))
    return sort_findings(findings)


def _run_noting(check: Check, ref: ResourceRef, clients: Clients) -> tuple[Finding, set[ResourceRef]]:
    """run_check, plus the resources whose recorded configuration (AWS Config items a bulk read
    cached, aiwarden.resources.recorded) the verdict read: its own, or another's (a model's
    verdict reads its artifact bucket's encryption)."""
    with clients.noting_recorded() as read:
        finding = run_check(check, ref, clients)
    return finding, set(read)


def _confirm_recorded(
    evaluated: list[tuple[Finding, set[ResourceRef]]],
    jobs: list[tuple[Check, ResourceRef]],
    clients: Clients,
    pool: ThreadPoolExecutor,
) -> list[Finding]:
    """Judge again from live reads every verdict that read a recorded configuration and would be
    news to the state table: a status other than the stored one, a failure where none is stored,
    an error. A recorded item can lag the resource, and news is what changes memory, raises or
    resolves alerts and triggers fixes; a verdict that confirms the stored status keeps the saving
    (a reminder of a failure that goes on may then quote the recorded item's details). Without
    stored verdicts, all of them are news."""
    findings = [finding for finding, _ in evaluated]
    candidates = [(finding, read) for finding, read in evaluated if read]
    if not candidates:
        return findings
    try:
        keys = ((f.check_id, f.ref) for f, _ in candidates)
        stored = clients.state.statuses(keys) if clients.state else None
    except StoreError as exc:
        logger.warning("stored verdicts unreadable; judging recorded resources live: %s", exc)
        stored = None

    def news(finding: Finding) -> bool:
        if stored is None or finding.status is Status.ERROR:
            return True
        before = stored.get((finding.check_id, resource_key(finding.ref)))
        return finding.status is Status.FAIL if before is None else before is not finding.status

    again = []
    for finding, read in candidates:
        if news(finding):
            again.append((finding, read))
        else:
            clients.mark_judged_from_record(finding.check_id, finding.ref)
    if not again:
        return findings
    clients.forget_recorded(set().union(*(read for _, read in again)))
    checks = {check.id: check for check, _ in jobs}
    # Outside noting_recorded: whatever recorded entries are left, these reads are live.
    live = pool.map(lambda f: run_check(checks[f.check_id], f.ref, clients), [f for f, _ in again])
    replaced = {(f.check_id, f.ref): f for f in live}
    logger.info(
        "%d verdicts from recorded configuration were news; judged again live",
        len(again),
        extra={"confirmed_live": len(again), "from_record": len(candidates)},
    )
    return [replaced.get((f.check_id, f.ref), f) for f in findings]


PREFETCH_MIN = 2  # one resource (an event's) is cheapest read on its own


def _prefetch(jobs: list[tuple[Check, ResourceRef]], clients: Clients) -> None:
    """Let each resource type read its resources in bulk before the per-resource checks run (see
    ResourceType.prefetch). A failed bulk read costs nothing but the call: every resource is
    then read on its own, as for an event."""
    by_type: dict[str, dict[ResourceRef, None]] = {}
    for _, ref in jobs:
        by_type.setdefault(ref.type.cfn_type, {})[ref] = None
    for refs in by_type.values():
        resource_type = next(iter(refs)).type
        if resource_type.prefetch is None or len(refs) < PREFETCH_MIN:
            continue
        try:
            resource_type.prefetch(clients, list(refs))
        except Exception as exc:
            logger.warning(
                "bulk read of %d %ss failed; reading them one by one: %r",
                len(refs),
                resource_type.label,
                exc,
                extra={"resource_type": resource_type.cfn_type, "error": repr(exc)},
            )


def sweep_targets(checks: list[Check]) -> list[Target]:
    """One target per resource type: every resource of it, with the checks for that type."""
    by_type: dict[str, Target] = {}
    for check in checks:
        current = by_type.get(check.resource.cfn_type)
        ids = {check.id} | (set(current.check_ids) if current else set())
        by_type[check.resource.cfn_type] = Target(scope=check.resource, check_ids=frozenset(ids))
    return list(by_type.values())


def scan(clients: Clients, checks: list[Check] | None = None) -> list[Finding]:
    enabled = checks if checks is not None else enabled_checks()
    return evaluate(sweep_targets(enabled), clients, enabled)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    status_order = {
        Status.FAIL: 0,
        Status.ERROR: 1,
        Status.EXEMPT: 2,
        Status.PASS: 3,
        Status.NOT_APPLICABLE: 4,
    }
    return sorted(
        findings,
        key=lambda f: (status_order[f.status], f.severity.rank, f.check_id, f.ref.resource_id),
    )


@dataclass
class Result:
    """What one event led to: the parsed invocation (or why there was none) and the findings."""

    invocation: Invocation | None
    findings: list[Finding] = field(default_factory=list)
    skipped: NothingToEvaluate | None = None


def process(
    event: Any,
    clients_for: Any,
    checks: list[Check] | None = None,
    remediator_for: Callable[[Invocation, Clients], Remediator] | None = None,
) -> Result:
    """Normalise and evaluate one event, then (when ``remediator_for`` is given) apply the
    remediation policy. ``clients_for(invocation)`` gives the Clients to use, so the CLI and Lambda
    share this path exactly."""
    try:
        invocation = normalise(event)
    except NothingToEvaluate as exc:
        return _skipped(exc)
    return run(invocation, clients_for(invocation), checks, remediator_for)


def _skipped(exc: NothingToEvaluate) -> Result:
    level = logging.WARNING if isinstance(exc, UnsupportedEvent) else logging.INFO
    logger.log(
        level, "event not evaluated: %s", exc.reason, extra={"reason": exc.reason, "event_id": exc.event_id}
    )
    return Result(invocation=None, skipped=exc)


def run(
    invocation: Invocation,
    clients: Clients,
    checks: list[Check] | None = None,
    remediator_for: Callable[[Invocation, Clients], Remediator] | None = None,
) -> Result:
    request = invocation.config_rule
    if request is not None and request.practice:
        # A Config rule reports one practice's checks (its InputParameters say which).
        checks = [
            c
            for c in (checks if checks is not None else enabled_checks())
            if c.practice.name == request.practice
        ]
    findings = scan(clients, checks) if invocation.sweep else evaluate(invocation.targets, clients, checks)
    if remediator_for is not None:
        findings = remediate(findings, remediator_for(invocation, clients), invocation.trigger)
    return Result(invocation=invocation, findings=findings)


def remediate(findings: list[Finding], remediator: Remediator, trigger: TriggerInfo) -> list[Finding]:
    """Hand FAILs with a registered fix to the remediation policy (aiwarden.remediation)."""
    return remediator.run(findings, trigger, {c.id: c for c in select(None)})


@dataclass(frozen=True)
class Runtime:
    """Lambda's settings, read from the environment the template sets."""

    alert_topic_arn: str | None
    region: str
    # None lets boto3 resolve the endpoint itself (AWS_ENDPOINT_URL included); the demo sets it.
    endpoint_url: str | None = None
    policy: Policy = field(default_factory=Policy)
    security_hub: bool = False

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(
            alert_topic_arn=os.environ.get("ALERT_TOPIC_ARN") or None,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            policy=Policy.from_env(),
            security_hub=os.environ.get("AIWARDEN_SECURITY_HUB", "").lower() == "true",
        )

    def clients(self, invocation: Invocation) -> Clients:
        clients = Clients(region=self.region, endpoint_url=self.endpoint_url, account_id=invocation.account)
        # With a state table, resources keep their indexes there (the bucket -> AI usage index).
        clients.state = self.store(clients)
        return clients

    def store(self, clients: Clients) -> StateStore | None:
        """The state table (alert on change, dedup, audit), when the template configured one."""
        if not os.environ.get(TABLE_ENV):
            return None
        return StateStore.from_env(clients.client("dynamodb"))

    def remediator(self, invocation: Invocation, clients: Clients) -> Remediator:
        return remediator(self.policy, clients, self.store(clients))


def remediator(policy: Policy, clients: Clients, store: StateStore | None = None) -> Remediator:
    """The remediation engine for these clients: it acts through the remediation role when one is
    configured (Lambda), else with the caller's own credentials (the CLI). With a state store, the
    rate limit counts audited attempts and every decision is audited there."""
    role = policy.remediation_role_arn

    def act() -> Clients:
        return clients.assume(role) if role else clients

    return Remediator(
        policy=policy,
        read_clients=clients,
        act_clients=act,
        attempts=store.remediation_attempts if store else None,
        audit=store.audit if store else None,
    )


def alerts_for(result: Result, transitions: dict[int, Transition] | None = None) -> list[alerts.Alert]:
    """One alert per FAIL without a state store; with one, per change: a new failure, a reminder
    after the repeat window, a resolution, and every remediation that acted."""
    invocation = result.invocation
    if invocation is None:
        return []
    out = []
    for index, f in enumerate(result.findings):
        acted = f.remediation is not None and f.remediation.outcome in {"remediated", "partial", "failed"}
        if transitions is None:
            if f.status is Status.FAIL:
                out.append(alerts.finding_alert(f, invocation.trigger, invocation.account))
            continue
        transition = transitions.get(index)
        if acted or (transition is not None and transition.alert):
            change = transition.change.value if transition is not None else None
            out.append(alerts.finding_alert(f, invocation.trigger, invocation.account, change))
    if invocation.guardduty is not None:
        out.insert(0, alerts.guardduty_alert(invocation.guardduty, invocation.trigger))
    return out


def summary(result: Result, alerts_sent: int = 0) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.status.value] = counts.get(f.status.value, 0) + 1
    if result.invocation is None:
        skipped = result.skipped
        return {
            "evaluated": 0,
            "skipped": type(skipped).__name__ if skipped else None,
            "reason": skipped.reason if skipped else None,
            "event_id": skipped.event_id if skipped else None,
        }
    trigger: TriggerInfo = result.invocation.trigger
    fail_by_severity: dict[str, int] = {}
    remediations: dict[str, int] = {}
    for f in result.findings:
        if f.status is Status.FAIL:
            fail_by_severity[f.severity.value] = fail_by_severity.get(f.severity.value, 0) + 1
        if f.remediation is not None:
            remediations[f.remediation.outcome] = remediations.get(f.remediation.outcome, 0) + 1
    out: dict[str, Any] = {
        "evaluated": len(result.findings),
        "statuses": counts,
        "fail_by_severity": fail_by_severity,
        "remediations": remediations,
        "alerts_sent": alerts_sent,
        "event_id": trigger.event_id,
        "trigger": f"{trigger.kind}:{trigger.event_name or trigger.detail_type}",
    }
    if alerts_sent and trigger.event_time:
        # Event-to-alert latency: from the API call (CloudTrail eventTime) to the alert leaving.
        out["event_to_alert_ms"] = max(
            0.0, (datetime.now(UTC) - _timestamp(trigger.event_time)).total_seconds() * 1000
        )
    return out


ANNOTATION_LIMIT = 256  # PutEvaluations rejects longer annotations
CONFIG_BATCH = 100  # PutEvaluations takes at most 100 evaluations per call


def config_evaluations(result: Result) -> list[dict[str, Any]]:
    """What the Config rule reports: one evaluation per resource, aggregating that rule's checks.

    NON_COMPLIANT when any check FAILs (the annotation names them); NOT_APPLICABLE when the
    resource is gone, out of scope or exempt by tag; COMPLIANT otherwise. A resource whose checks
    could not all be evaluated (ERROR) is left out, so Config keeps its last known result instead
    of being told something AI Warden does not know.
    """
    invocation = result.invocation
    if invocation is None or invocation.config_rule is None:
        return []
    request = invocation.config_rule
    if request.out_of_scope is not None:
        return [
            _evaluation(
                request.resource_type or request.out_of_scope.type.cfn_type,
                request.resource_id or request.out_of_scope.resource_id,
                "NOT_APPLICABLE",
                "resource deleted or out of the rule's scope",
                request.ordering_timestamp,
            )
        ]
    by_resource: dict[ResourceRef, list[Finding]] = {}
    for finding in result.findings:
        by_resource.setdefault(finding.ref, []).append(finding)
    evaluations = []
    for ref, findings in by_resource.items():
        statuses = {f.status for f in findings}
        failing = [f for f in findings if f.status is Status.FAIL]
        if failing:
            compliance, annotation = "NON_COMPLIANT", "; ".join(f"{f.check_id}: {f.reason}" for f in failing)
        elif Status.ERROR in statuses:
            continue
        elif statuses == {Status.NOT_APPLICABLE}:
            compliance, annotation = "NOT_APPLICABLE", findings[0].reason
        elif Status.EXEMPT in statuses:
            compliance, annotation = "NOT_APPLICABLE", f"exempt: tagged {EXEMPT_TAG}=true"
        else:
            compliance, annotation = "COMPLIANT", "; ".join(f.reason for f in findings)
        # Config names the invoking resource by its own resourceId (an IAM user's is AIDA...).
        resource_id = request.resource_id if request.resource_type == ref.type.cfn_type else ref.resource_id
        evaluations.append(
            _evaluation(
                ref.type.cfn_type,
                resource_id or ref.resource_id,
                compliance,
                annotation,
                request.ordering_timestamp,
            )
        )
    return evaluations


def _evaluation(
    resource_type: str, resource_id: str, compliance: str, annotation: str, when: str
) -> dict[str, Any]:
    text = annotation if len(annotation) <= ANNOTATION_LIMIT else annotation[: ANNOTATION_LIMIT - 1] + "…"
    return {
        "ComplianceResourceType": resource_type,
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "Annotation": text,
        "OrderingTimestamp": _timestamp(when),
    }


def _timestamp(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


def put_evaluations(config: Any, token: str, evaluations: list[dict[str, Any]]) -> int:
    """Report to AWS Config in batches of 100; raise if Config refuses any, so Lambda retries."""
    for start in range(0, len(evaluations), CONFIG_BATCH):
        batch = evaluations[start : start + CONFIG_BATCH]
        failed = config.put_evaluations(Evaluations=batch, ResultToken=token).get("FailedEvaluations") or []
        if failed:
            raise RuntimeError(f"AWS Config refused {len(failed)} evaluation(s): {failed[0]}")
    return len(evaluations)


def handle_config_rule(event: Any, runtime: Runtime) -> dict[str, Any]:
    """The config_rule function: answer an AWS Config custom-rule invocation with PutEvaluations."""
    result = process(event, runtime.clients)
    evaluations = config_evaluations(result)
    out = summary(result)
    invocation = result.invocation
    if invocation is None or invocation.config_rule is None:
        out["error"] = "not a Config rule invocation"
        logger.warning("config rule handler got another event", extra={"summary": out})
        return out
    if evaluations:
        put_evaluations(
            runtime.clients(invocation).client("config"), invocation.config_rule.result_token, evaluations
        )
    out["evaluations_put"] = len(evaluations)
    logger.info("config evaluations put", extra={"summary": out, "evaluations": len(evaluations)})
    if result.findings and all(f.status is Status.ERROR for f in result.findings):
        raise EvaluationFailed(f"every evaluation failed: {result.findings[0].reason}")
    return out


def handle(event: Any, runtime: Runtime) -> dict[str, Any]:
    """The evaluate and sweep functions: normalise, evaluate, remediate, alert on change.

    Delivery is at least once: with a state table an event id is claimed first (a lease, completed
    on success), so a duplicate delivery alerts (and remediates) nothing. The invocation raises only
    when the work would otherwise be lost (nothing evaluable, or alerts not accepted), so Lambda
    retries and the on-failure queue keeps the event; before raising it releases the claim and
    undoes the state changes it made, so the retry alerts as if this attempt never happened.
    """
    try:
        invocation = normalise(event)
    except NothingToEvaluate as exc:
        out = summary(_skipped(exc))
        logger.info("evaluation done", extra={"summary": out})
        return out
    clients = runtime.clients(invocation)
    store = runtime.store(clients)
    trigger = invocation.trigger
    claim = f"{trigger.kind}:{trigger.event_id}" if trigger.event_id and trigger.kind != "scan" else None
    if store is not None and claim and not store.claim_event(claim):
        out = {"evaluated": 0, "duplicate": True, "event_id": trigger.event_id}
        logger.info("duplicate delivery ignored", extra={"summary": out})
        return out
    try:
        out = settle(invocation, runtime, clients, store)
    except Exception:
        if store is not None and claim:
            store.release_event(claim)
        raise
    if store is not None and claim:
        store.complete_event(claim)
    return out


def settle(
    invocation: Invocation, runtime: Runtime, clients: Clients | None = None, store: StateStore | None = None
) -> dict[str, Any]:
    """Evaluate, remediate, record state and deliver alerts for one invocation (an event, or a
    sweep work item). On failure, state changes this attempt made are undone before raising."""
    clients = clients or runtime.clients(invocation)
    if store is None:
        store = runtime.store(clients)
    recorded: list[Transition] = []
    try:
        result = run(invocation, clients, None, runtime.remediator)
        for f in result.findings:
            log = logger.error if f.status is Status.ERROR else logger.info
            log(
                "finding %s %s %s",
                f.check_id,
                f.status.value,
                f.ref,
                extra={"finding": f.to_dict(), "event_id": invocation.trigger.event_id},
            )
        if result.findings and all(f.status is Status.ERROR for f in result.findings):
            raise EvaluationFailed(f"every evaluation failed: {result.findings[0].reason}")
        transitions = None
        if store is not None:
            recorded = store.record_many(_as_recorded(f) for f in result.findings)
            transitions = dict(enumerate(recorded))
        sent = _deliver(result, transitions, runtime, clients)
    except Exception:
        if store is not None:
            for transition in recorded:
                if transition.alert:
                    store.undo(transition)
        raise
    out = summary(result, sent)
    logger.info("evaluation done", extra={"summary": out})
    return out


def _deliver(
    result: Result, transitions: dict[int, Transition] | None, runtime: Runtime, clients: Clients
) -> int:
    """Alerts to SNS and, when enabled, every verdict to Security Hub; returns alerts sent."""
    to_send = alerts_for(result, transitions)
    sent = 0
    if to_send and runtime.alert_topic_arn:
        sent = alerts.publish(clients.client("sns"), runtime.alert_topic_arn, to_send)
    if runtime.security_hub:
        export_to_security_hub(result, clients)
    return sent


def export_to_security_hub(result: Result, clients: Clients) -> int:
    """Every verdict as ASFF, PASS included, so a fixed resource's finding updates to PASSED in
    place (deterministic ids) instead of lingering as FAILED."""
    from aiwarden import securityhub

    invocation = result.invocation
    if invocation is None or not result.findings:
        return 0
    by_region: dict[str, list[dict[str, Any]]] = {}
    for f in result.findings:
        # Security Hub is regional; IAM's "global" findings belong to the reporting region.
        region = clients.region if f.ref.region == GLOBAL_REGION else f.ref.region
        asff = securityhub.to_asff(f, invocation.trigger, invocation.account, region)
        by_region.setdefault(region, []).append(asff)
    return sum(
        securityhub.import_findings(clients.client("securityhub", region), findings)
        for region, findings in by_region.items()
    )


def _as_recorded(finding: Finding) -> Finding:
    """What the state table should remember: a finding remediated into compliance is PASS now."""
    if finding.remediation is not None and finding.remediation.compliant_after:
        return replace(finding, status=Status.PASS)
    return finding
