"""Turn any event AI Warden receives into the resources it must (re-)evaluate.

Handles the EventBridge envelopes AWS really sends: "AWS API Call via CloudTrail", "Config
Configuration Item Change" (including oversized items), "GuardDuty Finding" and "Scheduled
Event". Anything else raises ``UnsupportedEvent`` with a reason a human can act on; a valid event
that changes nothing (a failed API call) raises ``IgnoredEvent``. Neither ever reaches a check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiwarden.model import ResourceRef, Severity, TriggerInfo
from aiwarden.registry import ALL_RESOURCES, all_checks, checks_for
from aiwarden.resources import GLOBAL_REGION, RESOURCE_TYPES, ResourceType
from aiwarden.resources.account import ACCOUNT
from aiwarden.resources.iam import USER
from aiwarden.resources.s3 import BUCKET

CLOUDTRAIL = "AWS API Call via CloudTrail"
CONFIG_ITEM_CHANGE = "Config Configuration Item Change"
GUARDDUTY_FINDING = "GuardDuty Finding"
SCHEDULED = "Scheduled Event"


class NothingToEvaluate(Exception):
    """The event names nothing AI Warden can evaluate; ``reason`` says why."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


class UnsupportedEvent(NothingToEvaluate):
    """Malformed, truncated or from a source AI Warden does not handle."""


class IgnoredEvent(NothingToEvaluate):
    """Well-formed, but it cannot have changed anything (e.g. the API call failed)."""


@dataclass(frozen=True)
class Target:
    """Resources to evaluate with some checks. ``ref`` None means every resource of ``scope``."""

    scope: ResourceType
    check_ids: frozenset[str]
    ref: ResourceRef | None = None


@dataclass(frozen=True)
class GuardDutyAlert:
    finding_id: str
    finding_type: str
    title: str
    description: str
    severity: Severity
    severity_score: float
    account: str
    region: str
    resource_type: str
    resource_names: tuple[str, ...]
    sample: bool
    console_url: str


@dataclass(frozen=True)
class ConfigRuleRequest:
    """An AWS Config custom-rule invocation: what to answer with PutEvaluations, and how."""

    rule_name: str
    result_token: str
    message_type: str
    ordering_timestamp: str
    # Set by the rule's InputParameters: which practice's checks this rule reports.
    practice: str | None
    # The resource Config asked about, reported NOT_APPLICABLE when it left scope or was deleted.
    out_of_scope: ResourceRef | None = None
    resource_type: str | None = None
    resource_id: str | None = None


@dataclass
class Invocation:
    trigger: TriggerInfo
    account: str
    region: str
    targets: list[Target] = field(default_factory=list)
    guardduty: GuardDutyAlert | None = None
    sweep: bool = False
    config_rule: ConfigRuleRequest | None = None


# What a damaged event can make a parser raise (ValueError covers huge JSON integers,
# OverflowError a severity beyond float range, RecursionError absurd nesting).
PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)


def normalise(raw: Any) -> Invocation:
    """Parse an EventBridge envelope; raise NothingToEvaluate (with a reason) when it names
    nothing to evaluate."""
    if not isinstance(raw, Mapping):
        raise UnsupportedEvent(f"event is a {type(raw).__name__}, not a JSON object")
    event_id = _str(raw.get("id"))
    if "invokingEvent" in raw or "resultToken" in raw:
        try:
            return _config_rule(raw)
        except NothingToEvaluate:
            raise
        except PARSE_ERRORS as exc:
            raise UnsupportedEvent(f"malformed Config rule invocation: {exc!r}"[:500], event_id) from exc
    detail_type = raw.get("detail-type")
    detail = raw.get("detail")
    if not isinstance(detail_type, str) or not isinstance(detail, Mapping):
        raise UnsupportedEvent(
            "not an EventBridge event: 'detail-type' (string) and 'detail' (object) are required",
            event_id,
        )
    parser = _PARSERS.get(detail_type)
    if parser is None:
        raise UnsupportedEvent(
            f"unsupported event: detail-type {detail_type!r} from source {raw.get('source')!r}",
            event_id,
        )
    try:
        return parser(raw, detail, event_id)
    except NothingToEvaluate:
        raise
    except PARSE_ERRORS as exc:
        raise UnsupportedEvent(f"malformed {detail_type} event: {exc!r}"[:500], event_id) from exc


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _envelope(raw: Mapping[str, Any], detail: Mapping[str, Any]) -> tuple[str, str]:
    account = _str(detail.get("recipientAccountId")) or _str(raw.get("account"))
    region = _str(detail.get("awsRegion")) or _str(raw.get("region"))
    if account is None or region is None:
        raise UnsupportedEvent("event has no account or region", _str(raw.get("id")))
    return account, region


def values_at(record: Any, path: str) -> Iterator[Any]:
    """Values at a dotted path; ``[]`` after a name walks each item of that list."""
    nodes = [record]
    for part in path.split("."):
        walk = part.endswith("[]")
        name = part[:-2] if walk else part
        next_nodes = []
        for node in nodes:
            value = node.get(name) if isinstance(node, Mapping) else None
            if value is None:
                continue
            if walk:
                next_nodes.extend(value if isinstance(value, list) else [])
            else:
                next_nodes.append(value)
        nodes = next_nodes
    yield from nodes


def actor(detail: Mapping[str, Any]) -> str | None:
    """Who made the call, as a security engineer would search for it."""
    identity = detail.get("userIdentity")
    if not isinstance(identity, Mapping):
        return None
    context = identity.get("sessionContext") if isinstance(identity.get("sessionContext"), Mapping) else {}
    issuer = context.get("sessionIssuer") if isinstance(context.get("sessionIssuer"), Mapping) else {}
    for candidate in (identity.get("arn"), issuer.get("arn"), identity.get("invokedBy")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return _str(identity.get("type"))


def _cloudtrail(raw: Mapping[str, Any], detail: Mapping[str, Any], event_id: str | None) -> Invocation:
    event_source = detail.get("eventSource")
    event_name = detail.get("eventName")
    if not isinstance(event_source, str) or not isinstance(event_name, str):
        raise UnsupportedEvent("CloudTrail record has no eventSource/eventName", event_id)
    trigger = TriggerInfo(
        kind="cloudtrail",
        source=_str(raw.get("source")) or event_source,
        detail_type=CLOUDTRAIL,
        event_name=event_name,
        event_id=_str(detail.get("eventID")) or event_id,
        event_time=_str(detail.get("eventTime")) or _str(raw.get("time")),
        actor=actor(detail),
        source_ip=_str(detail.get("sourceIPAddress")),
    )
    if detail.get("errorCode"):
        raise IgnoredEvent(
            f"{event_name} failed with {detail['errorCode']}: the call changed nothing",
            trigger.event_id,
        )
    account, region = _envelope(raw, detail)
    wanted = _triggered(event_source, event_name, detail)
    if not wanted:
        matched = any(
            t.event_source == event_source and event_name in t.event_names
            for c in all_checks()
            for t in c.triggers
        )
        if matched:
            raise UnsupportedEvent(
                f"{event_name} record names no resource AI Warden checks (truncated event, or "
                "an ARN of another resource type)",
                trigger.event_id,
            )
        raise UnsupportedEvent(f"no check is triggered by {event_source} {event_name}", trigger.event_id)
    targets = []
    for (scope, name), check_ids in wanted.items():
        ref = None
        if name is not None:
            ref_region = GLOBAL_REGION if scope.is_global else region
            ref = ResourceRef(scope, name, ref_region, account)
        targets.append(Target(scope=scope, check_ids=frozenset(check_ids), ref=ref))
    return Invocation(trigger=trigger, account=account, region=region, targets=targets)


def _triggered(
    event_source: str, event_name: str, detail: Mapping[str, Any]
) -> dict[tuple[ResourceType, str | None], set[str]]:
    """(resource type, name or None for all) -> ids of the checks this CloudTrail record triggers."""
    wanted: dict[tuple[ResourceType, str | None], set[str]] = {}
    for check in all_checks():
        for trig in check.triggers:
            if trig.event_source != event_source or event_name not in trig.event_names:
                continue
            scope = trig.resource or check.resource
            if trig.ids == ALL_RESOURCES:
                wanted.setdefault((scope, None), set()).add(check.id)
                continue
            for value in values_at(detail, trig.ids):
                name = _resource_name(scope, value)
                if name:
                    wanted.setdefault((scope, name), set()).add(check.id)
    return wanted


def _resource_name(scope: ResourceType, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("arn:"):
        return scope.id_from_arn(value)
    return value


def _config_item(raw: Mapping[str, Any], detail: Mapping[str, Any], event_id: str | None) -> Invocation:
    message_type = detail.get("messageType")
    if message_type == "ConfigurationItemChangeNotification":
        item = detail.get("configurationItem")
    elif message_type == "OversizedConfigurationItemChangeNotification":
        # The item itself is too large to send; the summary names it and we re-describe anyway.
        item = detail.get("configurationItemSummary")
    else:
        raise UnsupportedEvent(f"unsupported Config messageType {message_type!r}", event_id)
    if not isinstance(item, Mapping):
        raise UnsupportedEvent(f"{message_type} carries no configuration item", event_id)
    resource_type = item.get("resourceType")
    scope = RESOURCE_TYPES.get(resource_type) if isinstance(resource_type, str) else None
    checks = checks_for(scope) if scope else []
    if scope is None or not checks:
        raise IgnoredEvent(f"no check covers Config resource type {resource_type!r}", event_id)
    # IAM items use the unique id (AIDA...) as resourceId; the APIs want the name.
    name = scope.id_from_config_item(item)
    if name is None:
        raise UnsupportedEvent("configuration item has no resourceName/resourceId", event_id)
    account = _str(item.get("awsAccountId")) or _str(raw.get("account"))
    region = _str(raw.get("region")) or _str(item.get("awsRegion"))
    if account is None or region is None:
        raise UnsupportedEvent("configuration item has no account or region", event_id)
    trigger = TriggerInfo(
        kind="config",
        source=_str(raw.get("source")) or "aws.config",
        detail_type=CONFIG_ITEM_CHANGE,
        event_name=f"{message_type}:{item.get('configurationItemStatus', '?')}",
        event_id=event_id,
        event_time=_str(item.get("configurationItemCaptureTime")) or _str(raw.get("time")),
    )
    ref_region = GLOBAL_REGION if scope.is_global else region
    ref = ResourceRef(scope, name, ref_region, account, _str(item.get("ARN")))
    target = Target(scope=scope, check_ids=frozenset(c.id for c in checks), ref=ref)
    return Invocation(trigger=trigger, account=account, region=region, targets=[target])


def guardduty_severity(score: float) -> Severity:
    """GuardDuty's documented bands: 1.0-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10 critical."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score >= 1.0:
        return Severity.LOW
    return Severity.INFORMATIONAL


def _guardduty(raw: Mapping[str, Any], detail: Mapping[str, Any], event_id: str | None) -> Invocation:
    finding_type = detail.get("type")
    score = detail.get("severity")
    if not isinstance(finding_type, str) or not isinstance(score, int | float):
        raise UnsupportedEvent("GuardDuty finding without type or numeric severity", event_id)
    account = _str(detail.get("accountId")) or _str(raw.get("account"))
    region = _str(detail.get("region")) or _str(raw.get("region"))
    if account is None or region is None:
        raise UnsupportedEvent("GuardDuty finding has no account or region", event_id)
    resource = detail.get("resource") if isinstance(detail.get("resource"), Mapping) else {}
    resource_type = _str(resource.get("resourceType")) or "Unknown"
    targets: list[Target] = []
    names: list[str] = []
    for bucket in values_at(resource, "s3BucketDetails[].name"):
        if isinstance(bucket, str) and bucket:
            names.append(bucket)
            targets.append(_all_checks_target(ResourceRef(BUCKET, bucket, region, account)))
    key = resource.get("accessKeyDetails")
    if isinstance(key, Mapping) and key.get("userType") == "IAMUser" and _str(key.get("userName")):
        user = str(key["userName"])
        names.append(user)
        targets.append(_all_checks_target(ResourceRef(USER, user, GLOBAL_REGION, account)))
    instance_id = _str((resource.get("instanceDetails") or {}).get("instanceId"))
    if instance_id:
        names.append(instance_id)
    finding_id = _str(detail.get("id")) or event_id or "unknown"
    service = detail.get("service") if isinstance(detail.get("service"), Mapping) else {}
    additional = service.get("additionalInfo") if isinstance(service.get("additionalInfo"), Mapping) else {}
    alert = GuardDutyAlert(
        finding_id=finding_id,
        finding_type=finding_type,
        title=_str(detail.get("title")) or finding_type,
        description=_str(detail.get("description")) or "",
        severity=guardduty_severity(float(score)),
        severity_score=float(score),
        account=account,
        region=region,
        resource_type=resource_type,
        resource_names=tuple(names),
        sample=additional.get("sample") in (True, "true", "True"),
        console_url=(
            f"https://{region}.console.aws.amazon.com/guardduty/home?region={region}"
            f"#/findings?macros=current&fId={finding_id}"
        ),
    )
    trigger = TriggerInfo(
        kind="guardduty",
        source=_str(raw.get("source")) or "aws.guardduty",
        detail_type=GUARDDUTY_FINDING,
        event_name=finding_type,
        event_id=event_id,
        event_time=_str(detail.get("updatedAt")) or _str(raw.get("time")),
    )
    return Invocation(trigger=trigger, account=account, region=region, targets=targets, guardduty=alert)


def _all_checks_target(ref: ResourceRef) -> Target:
    return Target(scope=ref.type, check_ids=frozenset(c.id for c in checks_for(ref.type)), ref=ref)


def _scheduled(raw: Mapping[str, Any], detail: Mapping[str, Any], event_id: str | None) -> Invocation:
    account = _str(raw.get("account"))
    region = _str(raw.get("region"))
    if account is None or region is None:
        raise UnsupportedEvent("scheduled event has no account or region", event_id)
    trigger = TriggerInfo(
        kind="scan",
        source=_str(raw.get("source")) or "aws.events",
        detail_type=SCHEDULED,
        event_id=event_id,
        event_time=_str(raw.get("time")),
    )
    return Invocation(trigger=trigger, account=account, region=region, sweep=True)


GONE_STATUSES = {"ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded"}


def _json_field(raw: Mapping[str, Any], name: str, event_id: str | None) -> dict[str, Any]:
    """Config passes invokingEvent and ruleParameters as JSON *strings*."""
    value = raw.get(name)
    if value in (None, ""):
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        raise UnsupportedEvent(f"Config rule invocation: {name} is not a JSON string", event_id)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UnsupportedEvent(
            f"Config rule invocation: {name} is not valid JSON ({exc.msg})", event_id
        ) from exc
    if not isinstance(parsed, dict):
        raise UnsupportedEvent(f"Config rule invocation: {name} is not a JSON object", event_id)
    return parsed


def _config_rule(raw: Mapping[str, Any]) -> Invocation:  # noqa: C901  (one branch per message type)
    token = _str(raw.get("resultToken"))
    rule_name = _str(raw.get("configRuleName")) or "unknown-rule"
    invoking = _json_field(raw, "invokingEvent", token)
    parameters = _json_field(raw, "ruleParameters", token)
    if token is None:
        raise UnsupportedEvent("Config rule invocation without resultToken", None)
    message_type = invoking.get("messageType")
    account = _str(raw.get("accountId"))
    practice = parameters.get("practice") if isinstance(parameters.get("practice"), str) else None
    trigger = TriggerInfo(
        kind="config_rule",
        source="aws.config",
        detail_type=f"Config rule {rule_name}",
        event_name=str(message_type),
        event_id=_str(raw.get("configRuleId")),
        event_time=_str(invoking.get("notificationCreationTime")),
    )
    if message_type == "ScheduledNotification":
        if account is None:
            account = _str(invoking.get("awsAccountId"))
        if account is None:
            raise UnsupportedEvent("scheduled Config rule invocation without accountId", token)
        region = _str(raw.get("awsRegion")) or _arn_region(raw.get("configRuleArn")) or "us-east-1"
        request = ConfigRuleRequest(
            rule_name=rule_name,
            result_token=token,
            message_type=message_type,
            ordering_timestamp=str(invoking.get("notificationCreationTime") or ""),
            practice=practice,
        )
        # Periodic invocations evaluate the account-wide checks; resources get their own
        # change-triggered invocations from Config.
        account_checks = frozenset(c.id for c in all_checks() if c.resource is ACCOUNT)
        ref = ResourceRef(ACCOUNT, account, region, account)
        targets = [Target(scope=ACCOUNT, check_ids=account_checks, ref=ref)] if account_checks else []
        return Invocation(
            trigger=trigger, account=account, region=region, targets=targets, config_rule=request
        )
    if message_type == "ConfigurationItemChangeNotification":
        item = invoking.get("configurationItem")
    elif message_type == "OversizedConfigurationItemChangeNotification":
        item = invoking.get("configurationItemSummary")
    else:
        raise UnsupportedEvent(f"unsupported Config rule messageType {message_type!r}", token)
    if not isinstance(item, Mapping):
        raise UnsupportedEvent(f"{message_type} carries no configuration item", token)
    resource_type = _str(item.get("resourceType"))
    resource_id = _str(item.get("resourceId"))
    if resource_type is None or resource_id is None:
        raise UnsupportedEvent("configuration item has no resourceType/resourceId", token)
    account = account or _str(item.get("awsAccountId"))
    region = _str(item.get("awsRegion")) or "us-east-1"
    if account is None:
        raise UnsupportedEvent("Config rule invocation without accountId", token)
    scope = RESOURCE_TYPES.get(resource_type)
    name = (scope.id_from_config_item(item) if scope is not None else None) or resource_id
    status = item.get("configurationItemStatus")
    gone = raw.get("eventLeftScope") is True or (isinstance(status, str) and status in GONE_STATUSES)
    ref = None
    if scope is not None:
        ref = ResourceRef(
            scope, name, GLOBAL_REGION if scope.is_global else region, account, _str(item.get("ARN"))
        )
    request = ConfigRuleRequest(
        rule_name=rule_name,
        result_token=token,
        message_type=message_type,
        ordering_timestamp=str(
            item.get("configurationItemCaptureTime") or invoking.get("notificationCreationTime") or ""
        ),
        practice=practice,
        out_of_scope=ref if gone else None,
        resource_type=resource_type,
        # Config identifies the resource by ITS resourceId (an IAM user's is AIDA...), not the name.
        resource_id=resource_id,
    )
    targets = []
    if scope is not None and not gone:
        checks = [c for c in all_checks() if c.resource is scope]
        targets.append(Target(scope=scope, check_ids=frozenset(c.id for c in checks), ref=ref))
    elif scope is None:
        raise IgnoredEvent(f"no check covers Config resource type {resource_type!r}", token)
    return Invocation(trigger=trigger, account=account, region=region, targets=targets, config_rule=request)


def _arn_region(arn: Any) -> str | None:
    if isinstance(arn, str) and arn.count(":") >= 4:
        return arn.split(":")[3] or None
    return None


_PARSERS = {
    CLOUDTRAIL: _cloudtrail,
    CONFIG_ITEM_CHANGE: _config_item,
    GUARDDUTY_FINDING: _guardduty,
    SCHEDULED: _scheduled,
}
