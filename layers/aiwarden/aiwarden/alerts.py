"""The SNS alert contract: one message per FAIL, plus one per GuardDuty finding.

One message per FAIL (not one per event) because subscribers filter on MessageAttributes
(severity, check_id, resource_type): a message mixing a CRITICAL and a LOW finding could be
neither delivered to the pager nor kept from it correctly. The body is JSON so Slack/Chatbot
adapters and SIEMs can parse it; the Subject is what an e-mail reader sees first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiwarden.events import GuardDutyAlert
from aiwarden.model import Finding, TriggerInfo

SCHEMA_VERSION = "1"
SUBJECT_LIMIT = 100  # SNS rejects longer subjects


@dataclass(frozen=True)
class Alert:
    subject: str
    body: dict[str, Any]
    attributes: dict[str, str]

    @property
    def message(self) -> str:
        return json.dumps(self.body, sort_keys=False)


def _subject(text: str) -> str:
    # SNS subjects: ASCII, no line breaks, at most 100 characters.
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return clean if len(clean) <= SUBJECT_LIMIT else clean[: SUBJECT_LIMIT - 3] + "..."


DESCRIPTION_LIMIT = 4000  # keep every message far below SNS's 256 KB


def _text(value: str, limit: int | None = None) -> str:
    """AWS data as safe text: lone surrogates (legal in JSON, not in UTF-8) replaced, length capped."""
    clean = value.encode("utf-8", "replace").decode("utf-8")
    return clean if limit is None or len(clean) <= limit else clean[: limit - 1] + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


CHANGE_WORDS = {"NEW_FAILURE": "FAIL", "REMINDER": "STILL FAILING", "RESOLVED": "RESOLVED"}


def finding_alert(finding: Finding, trigger: TriggerInfo, account: str, change: str | None = None) -> Alert:
    """``change`` (from the state store: NEW_FAILURE, REMINDER, RESOLVED) says why this alert is
    news; without a store every FAIL is reported as one."""
    ref = finding.ref
    body = {
        "schema_version": SCHEMA_VERSION,
        "kind": "finding",
        **finding.to_dict(),
        "account": account,
        "resource_label": ref.type.label,
        "console_url": ref.type.console_url(ref),
        "remediation_advice": finding.remediation_advice,
        "trigger": trigger.to_dict(),
        "change": change or "NEW_FAILURE",
        "detected_at": _now(),
    }
    who = f" by {trigger.actor.rsplit('/', 1)[-1]}" if trigger.actor else ""
    verb = CHANGE_WORDS.get(change or "NEW_FAILURE", "FAIL")
    action = "resolved" if change == "RESOLVED" else "flagged"
    if finding.remediation is not None:
        body["remediation"] = finding.remediation.to_dict()
        action = finding.remediation.outcome
        if action == "remediated":
            verb = "REMEDIATED"
        elif action == "failed":
            verb = "FAIL, REMEDIATION FAILED"
        elif action == "partial":
            verb = "FAIL, PARTLY REMEDIATED"
    subject = _subject(f"[{finding.severity.value}] {finding.check_id} {verb}: {ref.resource_id}{who}")
    attributes = {
        "kind": "finding",
        "severity": finding.severity.value,
        "check_id": finding.check_id,
        "status": finding.status.value,
        "resource_type": ref.type.cfn_type,
        "action": action,
        "change": change or "NEW_FAILURE",
    }
    return Alert(subject=subject, body=body, attributes=attributes)


def guardduty_alert(finding: GuardDutyAlert, trigger: TriggerInfo) -> Alert:
    body = {
        "schema_version": SCHEMA_VERSION,
        "kind": "guardduty_finding",
        "check_id": "guardduty_finding",
        "title": finding.title,
        "severity": finding.severity.value,
        "status": "FAIL",
        "finding_type": finding.finding_type,
        "guardduty_severity": finding.severity_score,
        "finding_id": finding.finding_id,
        "description": _text(finding.description, DESCRIPTION_LIMIT),
        "sample": finding.sample,
        "resource_type": finding.resource_type,
        "resource_names": list(finding.resource_names),
        "account": finding.account,
        "region": finding.region,
        "console_url": finding.console_url,
        "remediation_advice": (
            "Investigate in GuardDuty (console_url); AI Warden has re-evaluated the named "
            "resources it covers and alerts separately on any that fail a check."
        ),
        "trigger": trigger.to_dict(),
        "detected_at": _now(),
    }
    sample = "[SAMPLE] " if finding.sample else ""
    names = ", ".join(finding.resource_names) or finding.resource_type
    subject = _subject(f"{sample}[{finding.severity.value}] GuardDuty {finding.finding_type}: {names}")
    attributes = {
        "kind": "guardduty_finding",
        "severity": finding.severity.value,
        "check_id": "guardduty_finding",
        "status": "FAIL",
        "resource_type": finding.resource_type,
    }
    return Alert(subject=subject, body=body, attributes=attributes)


def publish(sns: Any, topic_arn: str, alerts: Iterable[Alert]) -> int:
    """Publish in batches of ten (PublishBatch); raise if any message was not accepted, so the
    invocation fails and Lambda's retry and on-failure queue keep the alert from being lost."""
    pending = list(alerts)
    sent = 0
    for start in range(0, len(pending), 10):
        batch = pending[start : start + 10]
        entries = [
            {
                "Id": str(index),
                "Subject": alert.subject,
                "Message": alert.message,
                "MessageAttributes": {
                    key: {"DataType": "String", "StringValue": _text(value, 256) or "-"}
                    for key, value in alert.attributes.items()
                },
            }
            for index, alert in enumerate(batch)
        ]
        response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
        failed = response.get("Failed") or []
        if failed:
            raise RuntimeError(f"SNS refused {len(failed)} alert(s): {failed[0]}")
        sent += len(response.get("Successful") or [])
    return sent
