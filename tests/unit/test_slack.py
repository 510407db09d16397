"""aiwarden.slack and functions/notify_slack: Block Kit rendering, the Chatbot schema, the webhook
secret, delivery with retries against a real HTTP server on 127.0.0.1, and the handler end to end."""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import socket
import sys
import threading
import traceback
import types
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aiwarden import alerts, slack
from aiwarden.events import normalise
from aiwarden.model import Finding, RemediationResult, ResourceRef, Severity, Status, TriggerInfo
from aiwarden.resources.s3 import BUCKET
from tests.conftest import ACCOUNT, REGION, REPO, load_event

APP = REPO / "functions" / "notify_slack" / "app.py"
SECRET_PATH = "/services/T0AIWARDEN/B0SLACKHOOK/s3cr3tW3bh00kT0k3nXYZ"
ACTOR = "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"
TRIGGER = TriggerInfo(
    kind="cloudtrail",
    source="aws.s3",
    detail_type="AWS API Call via CloudTrail",
    event_name="PutBucketPolicy",
    event_id="080c4c0c-393d-49cd-aaec-ddf94250899c",
    actor=ACTOR,
    source_ip="198.51.100.23",
)
CONTEXT = types.SimpleNamespace(
    function_name="aiwarden-notify-slack",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:aiwarden-notify-slack",
    aws_request_id="0b7e3c2a-4d5f-4a6b-9c8d-7e6f5a4b3c2d",
    function_version="$LATEST",
    get_remaining_time_in_millis=lambda: 60_000,
)


# ---------------------------------------------------------------------------------------------
# A real webhook on 127.0.0.1 that records requests and answers from a script.


class Hook:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[Any, dict[str, str], str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    def answer(self, *responses: tuple[Any, dict[str, str], str]) -> None:
        """Queue answers; once the queue is empty every request gets 200 "ok" (Slack's)."""
        self.script.extend(responses)

    def next_answer(self) -> tuple[Any, dict[str, str], str]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {}, "ok")

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests]


class _Webhook(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:
        hook: Hook = self.server.hook
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        hook.requests.append(
            {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw.decode("utf-8"))}
        )
        status, headers, text = hook.next_answer()
        if status == "drop":  # hang up without answering: a connection error for the client
            self.close_connection = True
            return
        data = text.encode()
        self.send_response(status)
        for key, value in {"Content-Type": "text/html", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.daemon_threads = True
    server.hook = Hook(server)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.hook  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_cached_webhook() -> Iterator[None]:
    slack.forget_webhook()
    yield
    slack.forget_webhook()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# ---------------------------------------------------------------------------------------------
# Alert bodies


def finding(
    resource_id: str = "aiw-public-share",
    severity: Severity = Severity.CRITICAL,
    reason: str | None = None,
    remediation: RemediationResult | None = None,
    advice: str = "Turn on all four Block Public Access settings for the bucket.",
    check_id: str = "s3_bucket_public_access_blocked",
) -> Finding:
    return Finding(
        check_id=check_id,
        title="S3 buckets block public access and grant none through policy or ACL",
        severity=severity,
        status=Status.FAIL,
        ref=ResourceRef(BUCKET, resource_id, REGION, ACCOUNT),
        reason=reason or f"bucket {resource_id}: bucket policy allows Principal * in PublicReadGetObject",
        remediation_advice=advice,
        remediation=remediation,
    )


DRY_RUN = RemediationResult(
    action="turn on all four Block Public Access settings for the bucket",
    mode="dry-run",
    outcome="would-remediate",
    detail="dry-run: would turn on all four Block Public Access settings for the bucket",
)


def alert(f: Finding | None = None, trigger: TriggerInfo = TRIGGER) -> alerts.Alert:
    return alerts.finding_alert(f or finding(remediation=DRY_RUN), trigger, ACCOUNT)


def guardduty_alert() -> alerts.Alert:
    invocation = normalise(load_event("guardduty/s3_bucket_anonymous_access_granted.json"))
    return alerts.guardduty_alert(invocation.guardduty, invocation.trigger)


def blocks_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    (attachment,) = payload["attachments"]
    blocks: list[dict[str, Any]] = attachment["blocks"]
    return blocks


def block(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in blocks_of(payload) if b["type"] == kind]


def section_texts(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in block(payload, "section")]


def field_texts(payload: dict[str, Any]) -> list[str]:
    return [f["text"] for b in block(payload, "section") for f in b.get("fields", [])]


def sns_record(a: alerts.Alert, message_id: str = "6a1f8e3b-2c4d-5e6f-9a0b-1c2d3e4f5a6b") -> dict[str, Any]:
    record = json.loads(json.dumps(load_event("sns/alert_notification.json")["Records"][0]))
    record["Sns"].update(
        MessageId=message_id,
        Subject=a.subject,
        Message=a.message,
        MessageAttributes={k: {"Type": "String", "Value": v} for k, v in a.attributes.items()},
    )
    return record


# ---------------------------------------------------------------------------------------------
# The sample event

RENDERED_KEYS = (
    "kind",
    "check_id",
    "title",
    "severity",
    "status",
    "resource_type",
    "resource_id",
    "resource_arn",
    "region",
    "reason",
    "account",
    "resource_label",
    "console_url",
    "remediation_advice",
    "trigger",
    "detected_at",
)


def test_sample_sns_event_carries_a_real_alert_in_the_lambda_shape():
    event = load_event("sns/alert_notification.json")
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"].startswith(record["Sns"]["TopicArn"] + ":")
    sns = record["Sns"]
    assert sns["Type"] == "Notification"
    body = json.loads(sns["Message"])
    attributes = {k: v["Value"] for k, v in sns["MessageAttributes"].items()}
    assert all(v["Type"] == "String" for v in sns["MessageAttributes"].values())
    assert attributes["severity"] == body["severity"] == "CRITICAL"
    assert attributes["check_id"] == body["check_id"]
    assert attributes["resource_type"] == body["resource_type"]
    assert sns["Subject"].startswith("[CRITICAL] s3_bucket_public_access_blocked")
    # Built by alerts.finding_alert: every key the renderer reads is there (the contract only grows).
    assert set(RENDERED_KEYS) <= set(body) <= set(alert().body)
    assert body["remediation"]["outcome"] == "would-remediate"


# ---------------------------------------------------------------------------------------------
# Block Kit


def test_block_kit_message_tells_the_whole_story():
    a = alert()
    payload = slack.block_kit_message(a.body, a.subject)

    assert payload["text"] == a.subject
    assert payload["unfurl_links"] is False
    (attachment,) = payload["attachments"]
    assert attachment["color"] == slack.COLOURS["CRITICAL"]
    kinds = [b["type"] for b in attachment["blocks"]]
    assert kinds == ["header", "section", "section", "section", "section", "actions", "context"]
    header = attachment["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert "CRITICAL" in header["text"]
    assert "s3_bucket_public_access_blocked" in header["text"]

    fields = "\n".join(field_texts(payload))
    assert "S3 bucket\n`aiw-public-share`" in fields
    assert "`123456789012` / `us-east-1`" in fields
    assert "*Status*\nFAIL" in fields
    assert f"`{ACTOR}`\nvia `PutBucketPolicy`" in fields

    why, done, fix = section_texts(payload)[1:]
    assert why.startswith("*Why*\n") and "Principal * in PublicReadGetObject" in why
    assert done.startswith("*What was done*\n") and "Dry run" in done
    assert "turn on all four Block Public Access settings" in done
    assert fix == "*How to fix*\nTurn on all four Block Public Access settings for the bucket."
    (button,) = block(payload, "actions")[0]["elements"]
    assert button["url"] == a.body["console_url"]
    assert button["url"].startswith("https://s3.console.aws.amazon.com/")
    (context,) = block(payload, "context")
    assert "`aiwarden:exempt=true`" in context["elements"][0]["text"]


def test_finding_without_remediation_says_it_was_only_flagged():
    a = alert(finding())
    done = section_texts(slack.block_kit_message(a.body, a.subject))[2]
    assert done == "*What was done*\nFlagged only; remediation advice below."


def test_remediated_finding_says_it_was_fixed_and_verified():
    fixed = replace(
        DRY_RUN, mode="enforce", outcome="remediated", detail="turned on BPA", compliant_after=True
    )
    a = alert(finding(remediation=fixed))
    payload = slack.block_kit_message(a.body, a.subject)
    done = section_texts(payload)[2]
    assert "Fixed automatically" in done
    assert "Re-checked afterwards: compliant." in done
    assert "*Status*\nREMEDIATED" in field_texts(payload)
    assert blocks_of(payload)[0]["text"]["text"].startswith(":white_check_mark:")


def test_resolved_alert_is_green_and_asks_for_nothing():
    a = alerts.finding_alert(
        replace(finding(), status=Status.PASS, reason="bucket aiw-public-share blocks public access"),
        TRIGGER,
        ACCOUNT,
        "RESOLVED",
    )
    payload = slack.block_kit_message(a.body, a.subject)

    assert payload["attachments"][0]["color"] == slack.RESOLVED_COLOUR
    assert blocks_of(payload)[0]["text"]["text"].startswith(":white_check_mark: RESOLVED CRITICAL")
    assert "*Status*\nRESOLVED" in field_texts(payload)
    texts = section_texts(payload)
    assert texts[1] == "*Now*\nbucket aiw-public-share blocks public access"
    assert "passes this check again" in texts[2]
    assert not any(t.startswith("*How to fix*") for t in texts)
    note = slack.chatbot_notification(a.body)
    assert "RESOLVED" in note["content"]["title"]
    assert not any("Block Public Access" in step for step in note["content"]["nextSteps"])


def test_reminder_says_still_failing():
    a = alerts.finding_alert(finding(), TRIGGER, ACCOUNT, "REMINDER")
    payload = slack.block_kit_message(a.body, a.subject)
    assert "*Status*\nSTILL FAILING" in field_texts(payload)
    assert payload["attachments"][0]["color"] == slack.COLOURS["CRITICAL"]


@pytest.mark.parametrize(
    ("severity", "colour"),
    [
        (Severity.CRITICAL, "#8B0000"),
        (Severity.HIGH, "#E01E1E"),
        (Severity.MEDIUM, "#FF8C00"),
        (Severity.LOW, "#F2C744"),
        (Severity.INFORMATIONAL, "#9E9E9E"),
    ],
)
def test_colour_bar_follows_severity(severity, colour):
    a = alert(finding(severity=severity))
    payload = slack.block_kit_message(a.body, a.subject)
    assert payload["attachments"][0]["color"] == colour
    assert severity.value in blocks_of(payload)[0]["text"]["text"]


def test_aws_values_are_escaped_and_cannot_inject_markup():
    name = "<script>alert(1)</script> *bold* & co"
    trigger = replace(TRIGGER, actor="arn:aws:sts::1:assumed-role/R/<!channel>")
    a = alert(finding(resource_id=name, reason=f"bucket {name} is <https://evil.example|public>"), trigger)

    payload = slack.block_kit_message(a.body, a.subject)
    raw = json.dumps(payload)

    assert "<script>" not in raw
    assert "<!channel>" not in raw
    assert "<https://evil.example" not in raw
    fields = "\n".join(field_texts(payload))
    # The name is inline code: literal, so *bold* is shown with its asterisks, not as bold.
    assert "`&lt;script&gt;alert(1)&lt;/script&gt; *bold* &amp; co`" in fields
    assert "&lt;!channel&gt;" in fields
    assert "&lt;https://evil.example|public&gt;" in section_texts(payload)[1]
    assert "&lt;script&gt;" in payload["text"]
    # The console link (built from the name) is percent-encoded rather than dropped.
    (button,) = block(payload, "actions")[0]["elements"]
    assert "/buckets/%3Cscript%3Ealert(1)%3C/script%3E%20*bold*%20&%20co?region=" in button["url"]


def test_values_with_backticks_are_not_wrapped_in_a_broken_code_span():
    a = alert(finding(resource_id="weird`name"))
    fields = field_texts(slack.block_kit_message(a.body, a.subject))
    assert "S3 bucket\nweird`name" in fields[0]


def test_slack_limits_are_respected_by_truncating():
    a = alert(finding(resource_id="b" * 5000, reason="r" * 10_000, advice="a" * 10_000, check_id="c" * 400))
    payload = slack.block_kit_message(a.body, a.subject)
    blocks = blocks_of(payload)

    assert len(blocks) <= slack.MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    for text in section_texts(payload):
        assert len(text) <= 3000
    assert any(text.endswith("…") for text in section_texts(payload))
    fields = [f for b in block(payload, "section") for f in b.get("fields", [])]
    assert 0 < len(fields) <= 10
    assert all(len(f["text"]) <= 2000 for f in fields)


def test_truncation_never_cuts_an_entity_in_half():
    a = alert(finding(reason="&" * 4000))
    why = section_texts(slack.block_kit_message(a.body, a.subject))[1]
    assert len(why) <= 3000
    assert why.endswith("&amp;…")


def test_non_https_console_link_gets_no_button():
    a = alert()
    body = {**a.body, "console_url": "javascript:alert(1)"}
    assert block(slack.block_kit_message(body, a.subject), "actions") == []


def test_guardduty_alert_names_type_resources_and_description():
    a = guardduty_alert()
    payload = slack.block_kit_message(a.body, a.subject)

    header = blocks_of(payload)[0]["text"]["text"]
    assert "HIGH" in header and "GuardDuty Policy:S3/BucketAnonymousAccessGranted" in header
    assert payload["attachments"][0]["color"] == slack.COLOURS["HIGH"]
    fields = "\n".join(field_texts(payload))
    assert "`Policy:S3/BucketAnonymousAccessGranted`" in fields
    assert "`aiw-public-share`" in fields
    assert "GuardDuty 8.0" in fields
    why, done, fix = section_texts(payload)[1:]
    assert a.body["description"].split()[0] in why
    assert "does not act on GuardDuty findings" in done
    assert "Investigate in GuardDuty" in fix
    assert block(payload, "actions")[0]["elements"][0]["url"] == a.body["console_url"]
    assert "suppression rule" in block(payload, "context")[0]["elements"][0]["text"]


# ---------------------------------------------------------------------------------------------
# AWS Chatbot custom notification


def test_chatbot_notification_follows_the_custom_schema():
    a = alert()
    note = slack.chatbot_notification(a.body)

    assert note["version"] == "1.0"
    assert note["source"] == "custom"
    content, metadata = note["content"], note["metadata"]
    assert content["textType"] == "client-markdown"
    assert "[CRITICAL] s3_bucket_public_access_blocked FAIL: aiw-public-share" in content["title"]
    assert "Principal * in PublicReadGetObject" in content["description"]
    assert f"`{ACTOR}`" in content["description"]
    assert "Dry run" in content["description"]
    assert content["nextSteps"][0] == a.body["remediation_advice"]
    assert f"Open in the console: {a.body['console_url']}" in content["nextSteps"]
    assert any("aiwarden:exempt=true" in step for step in content["nextSteps"])
    assert content["keywords"][:2] == ["CRITICAL", "s3_bucket_public_access_blocked"]
    assert metadata["eventType"] == "AIWardenFinding"
    assert metadata["relatedResources"] == ["arn:aws:s3:::aiw-public-share"]
    assert metadata["additionalContext"]["remediation"] == "would-remediate"
    assert all(isinstance(v, str) for v in metadata["additionalContext"].values())
    assert json.loads(json.dumps(note)) == note


def test_chatbot_thread_is_stable_per_check_and_resource():
    one = slack.chatbot_notification(alert(finding(severity=Severity.HIGH)).body)
    again = slack.chatbot_notification(alert(finding(reason="it changed")).body)
    other = slack.chatbot_notification(alert(finding(resource_id="aiw-models-kms")).body)
    assert one["metadata"]["threadId"] == again["metadata"]["threadId"]
    assert one["metadata"]["threadId"] != other["metadata"]["threadId"]


def test_chatbot_notification_escapes_aws_values_in_what_is_rendered():
    a = alert(finding(resource_id="<!here>"))
    note = slack.chatbot_notification(a.body)
    rendered = json.dumps([note["content"], note["metadata"]["summary"]])
    assert "<!here>" not in rendered
    assert "&lt;!here&gt;" in note["content"]["title"]
    assert "&lt;!here&gt;" in note["content"]["description"]
    # Machine-read metadata keeps the real name (custom actions use it as a variable).
    assert note["metadata"]["additionalContext"]["resource"] == "<!here>"


def test_chatbot_notification_for_guardduty():
    note = slack.chatbot_notification(guardduty_alert().body)
    assert note["metadata"]["eventType"] == "AIWardenGuardDutyFinding"
    assert "GuardDuty Policy:S3/BucketAnonymousAccessGranted: aiw-public-share" in note["content"]["title"]
    assert note["metadata"]["relatedResources"] == ["aiw-public-share"]
    assert note["metadata"]["additionalContext"]["finding_id"] == "d42741e1fcf2bb80ce8dfa3388f385ec"


def test_forward_to_chatbot_publishes_the_custom_schema(aws):
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="aiwarden-chatbot")["TopicArn"]
    queue = sqs.create_queue(QueueName="chatbot-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    a = alert()
    event = {"Records": [sns_record(a), {"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]}

    assert slack.forward_to_chatbot(event, sns, topic) == {"records": 2, "published": 1, "skipped": 1}

    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(json.loads(message["Body"])["Message"]) == slack.chatbot_notification(a.body)


# ---------------------------------------------------------------------------------------------
# The webhook secret


def make_secret(aws, value: str, name: str = "aiwarden/slack-webhook") -> str:
    arn: str = aws.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    return arn


@pytest.mark.parametrize(
    "stored",
    [
        "https://hooks.slack.com/services/T0AIWARDEN/B0SLACKHOOK/s3cr3t",
        '{"webhook_url": "https://hooks.slack.com/services/T0AIWARDEN/B0SLACKHOOK/s3cr3t"}',
        '  {"webhook_url": " https://hooks.slack.com/services/T0AIWARDEN/B0SLACKHOOK/s3cr3t "}\n',
    ],
    ids=["bare", "json", "json-with-whitespace"],
)
def test_webhook_url_reads_either_secret_format(aws, stored):
    secret = make_secret(aws, stored)
    url = slack.webhook_url(aws.client("secretsmanager"), secret)
    assert url == "https://hooks.slack.com/services/T0AIWARDEN/B0SLACKHOOK/s3cr3t"


def test_webhook_url_is_read_once_per_container(aws):
    secrets = aws.client("secretsmanager")
    secret = make_secret(aws, "https://hooks.slack.com/services/T0/B0/x")
    calls: list[Any] = []
    secrets.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **kw: calls.append(kw))

    first = slack.webhook_url(secrets, secret)
    second = slack.webhook_url(secrets, secret)
    slack.forget_webhook(secret)
    third = slack.webhook_url(secrets, secret)

    assert first == second == third
    assert len(calls) == 2


@pytest.mark.parametrize(
    "stored",
    [
        "http://hooks.slack.com/services/T0/B0/s3cr3tvalue",
        "https://hooks.slack.com.evil.example/services/T0/B0/s3cr3tvalue",
        "https://evil.example/services/T0/B0/s3cr3tvalue",
        "https://user:pw@hooks.slack.com/services/T0/B0/s3cr3tvalue",
        "https://hooks.slack.com:8443/services/T0/B0/s3cr3tvalue",
        "https://hooks.slack.com/",
        "http://127.0.0.1:8080/services/T0/B0/s3cr3tvalue",  # local only with the test switch
        '{"url": "https://hooks.slack.com/services/T0/B0/s3cr3tvalue"}',
        '{"webhook_url": "https://hooks.slack.com/services/T0/B0/s3cr3tvalue"',
    ],
)
def test_anything_but_a_slack_webhook_is_refused_without_echoing_it(aws, stored):
    secret = make_secret(aws, stored)
    with pytest.raises(slack.WebhookConfigError) as raised:
        slack.webhook_url(aws.client("secretsmanager"), secret)
    assert "s3cr3tvalue" not in str(raised.value)
    assert secret in str(raised.value)
    assert raised.value.__cause__ is None


def test_local_webhook_is_allowed_only_with_the_test_switch(aws, monkeypatch):
    secret = make_secret(aws, "http://127.0.0.1:8080/services/T0/B0/x")
    monkeypatch.setenv("AIWARDEN_ALLOW_LOCAL_WEBHOOK", "1")
    assert slack.webhook_url(aws.client("secretsmanager"), secret) == "http://127.0.0.1:8080/services/T0/B0/x"


# ---------------------------------------------------------------------------------------------
# Delivery


def test_post_sends_the_payload_as_json(hook):
    a = alert()
    payload = slack.block_kit_message(a.body, a.subject)

    assert slack.post(hook.url, payload, sleep=Sleeps()) == 200

    (request,) = hook.requests
    assert request["path"] == SECRET_PATH
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["json"] == payload


def test_post_honours_retry_after_on_429_then_succeeds(hook):
    hook.answer((429, {"Retry-After": "3"}, "rate_limited"), (429, {"Retry-After": "999"}, "rate_limited"))
    sleeps = Sleeps()

    assert slack.post(hook.url, {"text": "hi"}, sleep=sleeps) == 200

    assert len(hook.requests) == 3
    assert sleeps == [3.0, slack.MAX_RETRY_AFTER]


def test_post_retries_5xx_and_dropped_connections_with_growing_backoff(hook):
    hook.answer((500, {}, "rollup_error"), ("drop", {}, ""), (503, {}, "unavailable"))
    sleeps = Sleeps()

    assert slack.post(hook.url, {"text": "hi"}, base_delay=1.0, sleep=sleeps) == 200

    assert len(hook.requests) == 4
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps, start=1):
        ceiling = min(slack.MAX_BACKOFF, 2 ** (attempt - 1))
        assert ceiling / 2 <= slept <= ceiling


def test_post_does_not_retry_other_4xx(hook):
    hook.answer((400, {}, "invalid_blocks"))
    sleeps = Sleeps()

    with pytest.raises(slack.SlackDeliveryError) as raised:
        slack.post(hook.url, {"text": "hi"}, sleep=sleeps)

    assert raised.value.status == 400
    assert "invalid_blocks" in str(raised.value)
    assert len(hook.requests) == 1
    assert sleeps == []


def test_post_does_not_follow_redirects(hook):
    hook.answer((302, {"Location": "http://127.0.0.1:9/elsewhere"}, ""))
    with pytest.raises(slack.SlackDeliveryError) as raised:
        slack.post(hook.url, {"text": "hi"}, sleep=Sleeps())
    assert raised.value.status == 302
    assert len(hook.requests) == 1


def assert_url_hidden(exc: BaseException, logs: str, url: str) -> None:
    shown = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + logs
    assert SECRET_PATH not in shown
    assert "s3cr3t" not in shown
    assert url not in shown


def test_post_gives_up_after_the_last_attempt_without_revealing_the_url(hook, caplog):
    caplog.set_level(logging.DEBUG)
    hook.answer(*[(500, {}, f"boom {SECRET_PATH}")] * 5)
    sleeps = Sleeps()

    with pytest.raises(slack.SlackDeliveryError) as raised:
        slack.post(hook.url, {"text": "hi"}, attempts=5, sleep=sleeps)

    assert len(hook.requests) == 5
    assert len(sleeps) == 4
    assert raised.value.status == 500
    assert raised.value.attempts == 5
    assert "after 5 attempt(s)" in str(raised.value)
    assert len([r for r in caplog.records if r.name == "aiwarden.slack"]) == 4
    assert_url_hidden(raised.value, caplog.text, hook.url)


def test_post_raises_when_nothing_listens(caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"
    sleeps = Sleeps()

    with pytest.raises(slack.SlackDeliveryError) as raised:
        slack.post(url, {"text": "hi"}, attempts=3, sleep=sleeps)

    assert raised.value.status is None
    assert len(sleeps) == 2
    assert "Connection" in str(raised.value) or "refused" in str(raised.value)
    assert_url_hidden(raised.value, caplog.text, url)


# ---------------------------------------------------------------------------------------------
# handle_sns_event


@pytest.fixture
def local_secret(aws, hook, monkeypatch) -> str:
    monkeypatch.setenv("AIWARDEN_ALLOW_LOCAL_WEBHOOK", "1")
    return make_secret(aws, json.dumps({"webhook_url": hook.url}))


def test_handle_posts_one_message_per_record_and_skips_others(aws, hook, local_secret):
    first, second = alert(), guardduty_alert()
    event = {
        "Records": [
            sns_record(first),
            {"EventSource": "aws:sqs", "body": "{}"},
            sns_record(second, message_id="7b2f9e4c-3d5e-4f70-8b1c-2d3e4f5a6b7c"),
        ]
    }

    result = slack.handle_sns_event(event, aws.client("secretsmanager"), local_secret)

    assert result == {"records": 3, "posted": 2, "skipped": 1}
    assert hook.payloads == [
        slack.block_kit_message(first.body, first.subject),
        slack.block_kit_message(second.body, second.subject),
    ]


def test_message_that_is_not_alert_json_is_still_delivered_as_text(aws, hook, local_secret):
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": "hand <b>", "Message": "x < y & z"}}]}

    slack.handle_sns_event(event, aws.client("secretsmanager"), local_secret)

    (payload,) = hook.payloads
    assert payload["text"] == "hand &lt;b&gt;\n```x &lt; y &amp; z```"


def test_revoked_webhook_fails_the_invocation_and_is_read_again_next_time(aws, hook, local_secret):
    secrets = aws.client("secretsmanager")
    calls: list[Any] = []
    secrets.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **kw: calls.append(kw))
    hook.answer((404, {}, "no_service"))
    event = {"Records": [sns_record(alert())]}

    with pytest.raises(slack.SlackDeliveryError):
        slack.handle_sns_event(event, secrets, local_secret)
    slack.handle_sns_event(event, secrets, local_secret)

    assert len(calls) == 2
    assert len(hook.requests) == 2


# ---------------------------------------------------------------------------------------------
# The Lambda handler end to end


class CurrentStdout:
    """A stream that is always the current sys.stdout, so capsys sees what Powertools prints."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def app(aws, monkeypatch, local_secret) -> Iterator[types.ModuleType]:
    package_logger = logging.getLogger("aiwarden")
    saved = (package_logger.handlers[:], package_logger.level, package_logger.propagate)
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", local_secret)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "aiwarden-notify-slack")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    spec = importlib.util.spec_from_file_location("aiwarden_notify_slack_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.logger.registered_handler.stream = CurrentStdout()
    yield module
    package_logger.handlers, package_logger.level, package_logger.propagate = saved


def test_handler_posts_the_sample_alert_to_the_webhook_in_the_secret(app, hook, capsys):
    event = load_event("sns/alert_notification.json")
    sns = event["Records"][0]["Sns"]

    result = app.handler(event, CONTEXT)

    assert result == {"records": 1, "posted": 1, "skipped": 0}
    (payload,) = hook.payloads
    assert payload == slack.block_kit_message(json.loads(sns["Message"]), sns["Subject"])
    assert payload["attachments"][0]["color"] == slack.COLOURS["CRITICAL"]
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (posted,) = [line for line in logs if line["message"] == "alert posted to Slack"]
    assert posted["correlation_id"] == sns["MessageId"]
    assert posted["check_id"] == "s3_bucket_public_access_blocked"
    assert SECRET_PATH not in json.dumps(logs)


def test_handler_fails_the_invocation_when_slack_keeps_failing(app, hook, capsys, monkeypatch):
    sleeps = Sleeps()
    monkeypatch.setattr(slack, "post", functools.partial(slack.post, sleep=sleeps))
    hook.answer(*[(503, {}, "unavailable")] * 5)

    with pytest.raises(slack.SlackDeliveryError) as raised:
        app.handler(load_event("sns/alert_notification.json"), CONTEXT)

    assert len(hook.requests) == 5
    assert len(sleeps) == 4
    assert_url_hidden(raised.value, capsys.readouterr().out, hook.url)
