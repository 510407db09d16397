"""Alerts to Slack (incoming webhook) and, as an alternative, to AWS Chatbot / Amazon Q Developer.

The notify_slack function is subscribed to the alert topic and turns each SNS alert (the JSON
contract of ``aiwarden.alerts``) into a Block Kit message a person can act on without opening
anything else: what failed, on what, who changed it, what AI Warden did, how to fix it, a link
to the console and how to exempt the resource.

Three rules shape this module:

* Everything that comes from AWS (resource names, reasons, actors) is data, not markup: Slack
  treats ``&``, ``<`` and ``>`` as control characters (``<!channel>``, ``<https://x|click>``), so
  they are always escaped, and identifiers are shown as inline code so ``*bold*`` in a name stays
  literal.
* The webhook URL is a credential (whoever holds it can post to the channel). It lives in
  Secrets Manager, is cached per container, and never appears in a log line or an exception.
* Delivery failures must not be silent: ``post`` retries what may succeed later (429, 5xx,
  connection errors) and then raises, so the invocation fails, Lambda retries it and finally
  the on-failure destination keeps the alert.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

from aiwarden.model import EXEMPT_TAG

logger = logging.getLogger(__name__)

# Slack's Block Kit limits (characters, items). Exceeding any of them makes Slack answer 400
# invalid_blocks and drop the whole message, so every value is clipped to fit.
HEADER_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
MAX_BLOCKS = 50
CONTEXT_TEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 75
URL_LIMIT = 3000
FALLBACK_LIMIT = 3000
# RFC 3986 reserved characters plus "%" (already-encoded text stays as it is).
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
# An identifier longer than this is clipped before it becomes inline code.
VALUE_LIMIT = 500

# Attachment colour bars: the only way to colour a message that uses blocks.
COLOURS = {
    "CRITICAL": "#8B0000",  # dark red
    "HIGH": "#E01E1E",  # red
    "MEDIUM": "#FF8C00",  # orange
    "LOW": "#F2C744",  # yellow
    "INFORMATIONAL": "#9E9E9E",  # grey
}
DEFAULT_COLOUR = COLOURS["INFORMATIONAL"]
# A RESOLVED alert is good news whatever the check's severity: it must not look like a failure.
RESOLVED_COLOUR = "#2EB67D"  # green
# The body's ``change`` (from the state store) in words; a FAIL without a store is NEW_FAILURE.
CHANGE_WORDS = {"NEW_FAILURE": "FAIL", "REMINDER": "STILL FAILING", "RESOLVED": "RESOLVED"}
EMOJI = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":red_circle:",
    "MEDIUM": ":large_orange_circle:",
    "LOW": ":large_yellow_circle:",
    "INFORMATIONAL": ":white_circle:",
}

# What the remediation engine's outcomes mean to the person reading the alert.
OUTCOMES = {
    "remediated": ":white_check_mark: Fixed automatically",
    "would-remediate": ":test_tube: Dry run: AI Warden would have fixed it",
    "failed": ":x: Automatic fix failed; the resource was left as it was",
    "skipped-exempt": "Not fixed: the resource is exempt",
    "skipped-loop": "Not fixed: the change was made by AI Warden's own remediation role",
    "skipped-rate-limit": "Not fixed: too many attempts (something keeps reverting the change)",
    "skipped-not-allowed": "Not fixed: this check is not in the remediation allow-list",
    "skipped-guard": "Not fixed: a safety guard refused",
    "skipped-break-glass": "Not fixed: the change was made by a break-glass user",
    "skipped-severity": "Not fixed: below the severity that is remediated automatically",
    "skipped-gone": "Not fixed: the resource no longer exists",
    "skipped-stale": "Not fixed: a live re-read found it no longer failing",
}
FLAGGED_ONLY = "Flagged only; remediation advice below."

SLACK_HOST = "hooks.slack.com"
ALLOW_LOCAL_ENV = "AIWARDEN_ALLOW_LOCAL_WEBHOOK"
# Honour Retry-After, but never sleep so long that the Lambda times out mid-retry.
MAX_RETRY_AFTER = 20.0
MAX_BACKOFF = 8.0
# Statuses meaning the webhook itself is gone or revoked: re-read the secret next time, since
# the operator may have rotated it.
REVOKED = frozenset({403, 404, 410})


class WebhookConfigError(ValueError):
    """The secret does not hold a usable Slack webhook URL (the message never contains it)."""


class SlackDeliveryError(RuntimeError):
    """Slack did not accept the message. ``status`` is the last HTTP status (None: no answer)."""

    def __init__(self, message: str, *, status: int | None, attempts: int) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


# --------------------------------------------------------------------------------------------
# Text helpers


def escape(value: Any) -> str:
    """Slack's three control characters as HTML entities (Slack's documented escaping); nothing
    else is encoded, so the text reads the same."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    """Fit ``text`` (already escaped) into ``limit`` characters, marking the cut with an ellipsis
    and never splitting an entity such as ``&amp;`` (Slack would show the broken half)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _code(value: Any, limit: int = VALUE_LIMIT) -> str:
    """An identifier as inline code: escaped, clipped, and literal (no *bold* or _italic_ inside
    a code span). A value that itself holds a backtick or a line break is shown escaped only."""
    raw = "" if value is None else str(value)
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    text = escape(raw)
    if not text or "`" in text or "\n" in text:
        return text or "-"
    return f"`{text}`"


def _plain(value: Any, limit: int) -> str:
    """plain_text objects are not parsed for markup; keep them on one line and within limits."""
    text = " ".join(("" if value is None else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_clip(text, SECTION_TEXT_LIMIT))}


def _https_url(value: Any) -> str | None:
    """A link Slack may render as a button: https only (a console link), within Slack's limit.
    Characters a URL may not hold raw (spaces, ``<``, ``>``, quotes: a resource name pasted into
    the console link) are percent-encoded; Slack would refuse the whole message otherwise."""
    if not isinstance(value, str):
        return None
    url = quote(value, safe=URL_SAFE)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or len(url) > URL_LIMIT:
        return None
    return url


# --------------------------------------------------------------------------------------------
# Rendering


def _actor(trigger: Mapping[str, Any]) -> str:
    kind = trigger.get("kind")
    actor, event_name = trigger.get("actor"), trigger.get("event_name")
    if kind == "scan":
        return "scheduled sweep (no single change)"
    who = _code(actor) if actor else "unknown"
    if event_name:
        who += f"\nvia {_code(event_name, 128)}"
    ip = trigger.get("source_ip")
    if ip:
        who += f" from {_code(ip, 64)}"
    return who


def _resolved(body: Mapping[str, Any]) -> bool:
    return body.get("change") == "RESOLVED"


def _remediation_text(body: Mapping[str, Any]) -> str:
    remediation = body.get("remediation")
    if _resolved(body) and not isinstance(remediation, Mapping):
        return "Nothing needed any more: the resource passes this check again."
    if not isinstance(remediation, Mapping):
        if body.get("kind") == "guardduty_finding":
            return "Flagged only: AI Warden does not act on GuardDuty findings; advice below."
        return FLAGGED_ONLY
    outcome = str(remediation.get("outcome") or "unknown")
    label = OUTCOMES.get(outcome, f"Remediation outcome: {escape(outcome)}")
    lines = [f"{label} (mode {_code(remediation.get('mode') or 'unknown', 32)})"]
    if remediation.get("action"):
        lines.append(f"*Action:* {escape(remediation['action'])}")
    if remediation.get("detail"):
        lines.append(escape(remediation["detail"]))
    after = remediation.get("compliant_after")
    if after is True:
        lines.append("Re-checked afterwards: compliant.")
    elif after is False:
        lines.append("Re-checked afterwards: still not compliant.")
    return "\n".join(lines)


def _verb(body: Mapping[str, Any]) -> str:
    remediation = body.get("remediation")
    outcome = remediation.get("outcome") if isinstance(remediation, Mapping) else None
    if outcome == "remediated":
        return "REMEDIATED"
    change = body.get("change")
    if isinstance(change, str) and change in CHANGE_WORDS:
        return CHANGE_WORDS[change]
    return str(body.get("status") or "FAIL")


def _field(title: str, value: str) -> dict[str, Any]:
    return _mrkdwn(_clip(f"*{title}*\n{value or '-'}", FIELD_LIMIT))


def _finding_fields(body: Mapping[str, Any], trigger: Mapping[str, Any]) -> list[dict[str, Any]]:
    label = escape(body.get("resource_label") or body.get("resource_type") or "Resource")
    verb = escape(_verb(body))
    return [
        _field("Resource", f"{label}\n{_code(body.get('resource_id'))}"),
        _field("Account / region", f"{_code(body.get('account'), 64)} / {_code(body.get('region'), 64)}"),
        _field("Status", verb),
        _field("Changed by", _actor(trigger)),
        _field("Resource type", _code(body.get("resource_type"), 128)),
        _field("Detected", escape(body.get("detected_at") or "-")),
    ]


def _guardduty_fields(body: Mapping[str, Any], trigger: Mapping[str, Any]) -> list[dict[str, Any]]:
    names = [n for n in body.get("resource_names") or [] if n]
    resources = ", ".join(_code(n, 200) for n in names[:10]) or "none named"
    if len(names) > 10:
        resources += f" and {len(names) - 10} more"
    fields = [
        _field("Finding type", _code(body.get("finding_type"), 256)),
        _field("Resources", f"{escape(body.get('resource_type') or '-')}\n{resources}"),
        _field("Account / region", f"{_code(body.get('account'), 64)} / {_code(body.get('region'), 64)}"),
        _field(
            "Severity",
            f"{escape(body.get('severity'))} (GuardDuty {escape(body.get('guardduty_severity', '-'))})",
        ),
        _field("Status", "SAMPLE finding" if body.get("sample") else escape(body.get("status") or "FAIL")),
        _field("Finding id", _code(body.get("finding_id"), 128)),
    ]
    if trigger.get("actor"):
        fields.append(_field("Changed by", _actor(trigger)))
    return fields


def _header(body: Mapping[str, Any]) -> str:
    severity = str(body.get("severity") or "INFORMATIONAL")
    good = _verb(body) in ("REMEDIATED", "RESOLVED")
    emoji = ":white_check_mark:" if good else EMOJI.get(severity, ":white_circle:")
    if body.get("kind") == "guardduty_finding":
        sample = "[SAMPLE] " if body.get("sample") else ""
        return _plain(f"{emoji} {sample}{severity} GuardDuty {body.get('finding_type') or ''}", HEADER_LIMIT)
    resolved = "RESOLVED " if _resolved(body) else ""
    return _plain(f"{emoji} {resolved}{severity} {body.get('check_id') or 'unknown check'}", HEADER_LIMIT)


def _fallback_text(body: Mapping[str, Any], subject: str) -> str:
    if subject:
        return _clip(escape(subject), FALLBACK_LIMIT)
    if body.get("kind") == "guardduty_finding":
        names = ", ".join(str(n) for n in body.get("resource_names") or [])
        text = f"[{body.get('severity')}] GuardDuty {body.get('finding_type')}: {names}"
    else:
        text = f"[{body.get('severity')}] {body.get('check_id')} {_verb(body)}: {body.get('resource_id')}"
    return _clip(escape(text), FALLBACK_LIMIT)


def _context(body: Mapping[str, Any], trigger: Mapping[str, Any]) -> dict[str, Any]:
    if body.get("kind") == "guardduty_finding":
        how = (
            "To silence this finding type, add a GuardDuty suppression rule. AI Warden re-checks the "
            f"named resources separately; exempt one on purpose by tagging it `{EXEMPT_TAG}=true`."
        )
    else:
        how = (
            f"To exempt this resource on purpose, tag it `{EXEMPT_TAG}=true`: AI Warden then reports it "
            "EXEMPT and stops alerting on it."
        )
    parts = [how]
    if trigger.get("event_id"):
        parts.append(f"Event {_code(trigger['event_id'], 128)}")
    parts.append("AI Warden")
    return {"type": "context", "elements": [_mrkdwn(_clip(" · ".join(parts), CONTEXT_TEXT_LIMIT))]}


def block_kit_message(alert_body: Mapping[str, Any], subject: str) -> dict[str, Any]:
    """The incoming-webhook payload for one alert: Block Kit blocks inside a legacy attachment
    (the attachment only adds the severity colour bar) plus a plain ``text`` for notifications
    and clients that cannot show blocks."""
    body = alert_body
    trigger = body.get("trigger") if isinstance(body.get("trigger"), Mapping) else {}
    guardduty = body.get("kind") == "guardduty_finding"
    fields = _guardduty_fields(body, trigger) if guardduty else _finding_fields(body, trigger)
    title = escape(body.get("title") or body.get("check_id") or "AI Warden alert")
    why = "Now" if _resolved(body) else "Why"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _header(body), "emoji": True}},
        {
            "type": "section",
            "text": _mrkdwn(_clip(f"*{title}*", SECTION_TEXT_LIMIT)),
            "fields": fields[:MAX_FIELDS],
        },
        _section(f"*{why}*\n{escape(body.get('description' if guardduty else 'reason') or '-')}"),
        _section(f"*What was done*\n{_remediation_text(body)}"),
    ]
    if not _resolved(body):
        advice = escape(body.get("remediation_advice") or "See the check documentation.")
        blocks.append(_section(f"*How to fix*\n{advice}"))
    url = _https_url(body.get("console_url"))
    if url:
        button_text = "Open in GuardDuty" if guardduty else "Open in the AWS console"
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": button_text[:BUTTON_TEXT_LIMIT]},
                        "url": url,
                        "action_id": "aiwarden_open_console",
                    }
                ],
            }
        )
    blocks.append(_context(body, trigger))
    fallback = _fallback_text(body, subject)
    severity = str(body.get("severity") or "")
    return {
        "text": fallback,
        "attachments": [
            {
                "color": RESOLVED_COLOUR if _resolved(body) else COLOURS.get(severity, DEFAULT_COLOUR),
                "fallback": fallback,
                "blocks": blocks[:MAX_BLOCKS],
            }
        ],
        # A console link needs no preview, and a preview of an attacker-named URL is worse.
        "unfurl_links": False,
        "unfurl_media": False,
    }


def plain_message(subject: str, message: str) -> dict[str, Any]:
    """A message that is not AI Warden's JSON (someone published by hand, a schema we do not
    know): still delivered, escaped, as text, rather than lost."""
    head = escape(subject or "AI Warden alert")
    body = _clip(escape(message), FALLBACK_LIMIT - len(head) - 10)
    return {"text": f"{head}\n```{body}```", "unfurl_links": False, "unfurl_media": False}


# --------------------------------------------------------------------------------------------
# AWS Chatbot / Amazon Q Developer custom notifications


def _digest(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def chatbot_notification(alert_body: Mapping[str, Any]) -> dict[str, Any]:
    """The same alert in the AWS Chatbot custom-notification schema (version 1.0, source custom),
    for operators who route alerts through a Chatbot-subscribed SNS topic instead of a webhook.
    Chatbot silently drops SNS messages in any other shape, so the alert JSON itself cannot be
    sent to it. ``threadId`` is stable per (check, resource), so repeats of one finding thread."""
    body = alert_body
    trigger = body.get("trigger") if isinstance(body.get("trigger"), Mapping) else {}
    guardduty = body.get("kind") == "guardduty_finding"
    severity = str(body.get("severity") or "INFORMATIONAL")
    check_id = str(body.get("check_id") or "unknown")
    emoji = EMOJI.get(severity, ":white_circle:")
    if guardduty:
        names = [str(n) for n in body.get("resource_names") or [] if n]
        subject_of = ", ".join(names) or str(body.get("resource_type") or "")
        title = f"{emoji} [{severity}] GuardDuty {body.get('finding_type')}: {subject_of}"
        related = names
        thread = _digest(
            "guardduty", body.get("account"), body.get("region"), body.get("finding_type"), *names
        )
        reason = body.get("description")
    else:
        subject_of = str(body.get("resource_id") or "")
        title = f"{emoji} [{severity}] {check_id} {_verb(body)}: {subject_of}"
        related = [str(body.get("resource_arn") or body.get("resource_id") or "")]
        thread = _digest(
            check_id, body.get("account"), body.get("region"), body.get("resource_type"), subject_of
        )
        reason = body.get("reason")
    where = f"{_code(body.get('account'), 64)} / {_code(body.get('region'), 64)}"
    remediation = body.get("remediation")
    if guardduty:
        resource_line = (
            f"Resources: {escape(body.get('resource_type'))} {', '.join(_code(n) for n in related)}"
        )
    else:
        label = escape(body.get("resource_label") or body.get("resource_type") or "Resource")
        resource_line = f"Resource: {label} {_code(body.get('resource_id'))}"
    description = "\n".join(
        [
            _clip(escape(reason or "-"), SECTION_TEXT_LIMIT),
            "",
            resource_line,
            f"Account / region: {where}",
            f"Changed by: {_actor(trigger).replace(chr(10), ' ')}",
            f"What was done: {_remediation_text(body).replace(chr(10), ' ')}",
        ]
    )
    next_steps = []
    if not _resolved(body):
        advice = escape(body.get("remediation_advice") or "See the check documentation.")
        next_steps.append(_clip(advice, 1000))
    url = _https_url(body.get("console_url"))
    if url:
        next_steps.append(f"Open in the console: {url}")
    next_steps.append(f"Exempt the resource on purpose: tag it {EXEMPT_TAG}=true")
    context = {
        "check_id": check_id,
        "severity": severity,
        "status": body.get("status"),
        "change": body.get("change"),
        "account": body.get("account"),
        "region": body.get("region"),
        "resource_type": body.get("resource_type"),
        "resource": subject_of,
        "event_name": trigger.get("event_name"),
        "event_id": trigger.get("event_id"),
        "actor": trigger.get("actor"),
        "remediation": remediation.get("outcome") if isinstance(remediation, Mapping) else None,
        "finding_id": body.get("finding_id") if guardduty else None,
        "console_url": url,
    }
    keywords = [severity, check_id, str(body.get("resource_type") or ""), _verb(body)]
    return {
        "version": "1.0",
        "source": "custom",
        "id": "aiwarden-" + _digest(thread, body.get("detected_at"), trigger.get("event_id"))[:32],
        "content": {
            "textType": "client-markdown",
            "title": _plain(escape(title), 250),
            "description": description,
            "nextSteps": next_steps,
            "keywords": [k for k in keywords if k],
        },
        "metadata": {
            "threadId": "aiwarden-" + thread[:40],
            "summary": _plain(escape(title), 250),
            "eventType": "AIWardenGuardDutyFinding" if guardduty else "AIWardenFinding",
            "relatedResources": [r for r in related if r],
            "additionalContext": {k: str(v) for k, v in context.items() if v not in (None, "")},
        },
    }


# --------------------------------------------------------------------------------------------
# The webhook URL


_webhooks: dict[str, str] = {}
_webhooks_lock = threading.Lock()


def _validate(url: str, secret_id: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc.lower() == SLACK_HOST and len(parts.path) > 1:
        return url
    local = parts.scheme == "http" and parts.hostname == "127.0.0.1" and not parts.username
    if local and os.environ.get(ALLOW_LOCAL_ENV) == "1":
        return url
    raise WebhookConfigError(f"secret {secret_id} does not hold an https://{SLACK_HOST}/ webhook URL")


def webhook_url(secrets_client: Any, secret_id: str) -> str:
    """The webhook URL stored in ``secret_id``: SecretString is either the bare URL or JSON
    ``{"webhook_url": "..."}``. Read once per container (a GetSecretValue per alert would cost
    money and latency) and validated, so a mistyped secret cannot send alerts anywhere else."""
    with _webhooks_lock:
        cached = _webhooks.get(secret_id)
    if cached is not None:
        return cached
    value = secrets_client.get_secret_value(SecretId=secret_id).get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise WebhookConfigError(f"secret {secret_id} has no SecretString")
    text = value.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise WebhookConfigError(f"secret {secret_id} is not valid JSON") from None
        url = loaded.get("webhook_url") if isinstance(loaded, dict) else None
        if not isinstance(url, str):
            raise WebhookConfigError(f'secret {secret_id} JSON has no string "webhook_url" key')
        text = url.strip()
    url = _validate(text, secret_id)
    with _webhooks_lock:
        _webhooks[secret_id] = url
    return url


def forget_webhook(secret_id: str | None = None) -> None:
    """Drop the cached URL (all of them when ``secret_id`` is None): after Slack says the hook
    is gone, and in tests."""
    with _webhooks_lock:
        if secret_id is None:
            _webhooks.clear()
        else:
            _webhooks.pop(secret_id, None)


# --------------------------------------------------------------------------------------------
# Delivery


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Slack's webhooks never redirect; following one would send the alert somewhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _redact(text: str, url: str) -> str:
    path = urlsplit(url).path
    for secret in (url, path if len(path) > 1 else ""):
        if secret:
            text = text.replace(secret, "<webhook>")
    return text


def _retry_after(value: str | None, fallback: float) -> float:
    """Retry-After in seconds or as an HTTP date; capped so the invocation cannot time out."""
    if not value:
        return fallback
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return fallback
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _backoff(base_delay: float, attempt: int) -> float:
    """Exponential backoff with jitter (half fixed, half random), so retries of many alerts do
    not arrive at Slack in lockstep."""
    delay = min(MAX_BACKOFF, base_delay * (2 ** (attempt - 1)))
    return random.uniform(delay / 2, delay)


def _error_body(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read(200)
    except Exception:
        raw = b""
    finally:
        exc.close()
    return " ".join(raw.decode("utf-8", "replace").split())


def post(
    url: str,
    payload: Mapping[str, Any],
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 10,
) -> int:
    """POST ``payload`` as JSON; return the HTTP status. Retries 429 (after Retry-After), 5xx and
    connection errors; a 4xx other than 429 means the message or the hook is wrong and retrying
    cannot help. Raises SlackDeliveryError (URL redacted, no chained exception that could carry
    it) once nothing more can be done."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "aiwarden"}
    status: int | None = None
    last = "no attempt made"
    for attempt in range(1, max(1, attempts) + 1):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        wait = _backoff(base_delay, attempt)
        try:
            with _opener.open(request, timeout=timeout) as response:
                response.read(256)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = _redact(_error_body(exc), url)
            last = f"HTTP {status} {detail}".strip()
            if status == 429:
                wait = _retry_after(exc.headers.get("Retry-After"), wait)
            elif status < 500:
                raise SlackDeliveryError(
                    f"Slack refused the message: {last}", status=status, attempts=attempt
                ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            status = None
            reason = getattr(exc, "reason", exc)
            last = _redact(f"{type(exc).__name__}: {reason}", url)
        if attempt < attempts:
            logger.warning(
                "Slack webhook attempt %d/%d failed (%s); retrying in %.1fs",
                attempt,
                attempts,
                last,
                wait,
                extra={"attempt": attempt, "status": status},
            )
            sleep(wait)
    raise SlackDeliveryError(
        f"Slack webhook failed after {attempts} attempt(s): {last}", status=status, attempts=attempts
    ) from None


def message_for(sns: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The Slack payload for one SNS notification, and the parsed alert body (None when the
    message is not AI Warden's JSON)."""
    subject = str(sns.get("Subject") or "")
    raw = sns.get("Message")
    try:
        body = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        return block_kit_message(body, subject), body
    return plain_message(subject, "" if raw is None else str(raw)), None


def _sns_records(event: Any) -> list[Any]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return records if isinstance(records, list) else []


def handle_sns_event(event: Any, secrets_client: Any, secret_id: str) -> dict[str, int]:
    """One Slack post per SNS record. Raises when a post fails for good, so the invocation
    fails and Lambda's retries and on-failure destination keep the alert (an earlier record of
    the same batch may then be posted twice; SNS delivers one record per invocation)."""
    counts = {"records": 0, "posted": 0, "skipped": 0}
    for record in _sns_records(event):
        counts["records"] += 1
        sns = record.get("Sns") if isinstance(record, Mapping) else None
        if (
            not isinstance(record, Mapping)
            or record.get("EventSource") != "aws:sns"
            or not isinstance(sns, Mapping)
        ):
            counts["skipped"] += 1
            logger.warning("skipped a record that is not an SNS notification")
            continue
        payload, body = message_for(sns)
        url = webhook_url(secrets_client, secret_id)
        try:
            status = post(url, payload)
        except SlackDeliveryError as exc:
            if exc.status in REVOKED:
                forget_webhook(secret_id)
            logger.error(
                "alert not delivered to Slack",
                extra={"error": str(exc), "status": exc.status, "sns_message_id": sns.get("MessageId")},
            )
            raise
        counts["posted"] += 1
        logger.info(
            "alert posted to Slack",
            extra={
                "status": status,
                "sns_message_id": sns.get("MessageId"),
                "check_id": (body or {}).get("check_id"),
                "severity": (body or {}).get("severity"),
                "resource_id": (body or {}).get("resource_id"),
            },
        )
    return counts


def forward_to_chatbot(event: Any, sns_client: Any, topic_arn: str) -> dict[str, int]:
    """The Chatbot alternative: republish each alert of an SNS event, in the custom-notification
    schema, to the topic an AWS Chatbot / Amazon Q Developer channel is subscribed to."""
    counts = {"records": 0, "published": 0, "skipped": 0}
    for record in _sns_records(event):
        counts["records"] += 1
        sns = record.get("Sns") if isinstance(record, Mapping) else None
        _, body = message_for(sns) if isinstance(sns, Mapping) else ({}, None)
        if body is None:
            counts["skipped"] += 1
            logger.warning("skipped a record that holds no AI Warden alert")
            continue
        sns_client.publish(TopicArn=topic_arn, Message=json.dumps(chatbot_notification(body)))
        counts["published"] += 1
    return counts
