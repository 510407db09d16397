"""``aiwarden demo``: AI Warden end to end on the embedded default (a moto server).

1. Starts moto on 127.0.0.1 (a free port) and deploys the stack's moving parts from template.yaml:
   the alert topic with an SQS subscriber, and the evaluator's EventBridge rules with exactly the
   template's patterns (an SQS queue stands in for the Lambda target, which moto cannot run).
2. Seeds a small AI estate with planted drift and runs a full sweep.
3. Plays a timeline of drift changes: each is a real API call against moto, turned into the
   CloudTrail record AWS would log, put on EventBridge, routed (or not) by the template's rules,
   handed to the real Lambda handler, and its alerts read back from the SNS subscriber queue.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import io
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

from aiwarden import engine
from aiwarden.clients import Clients, client, reset_client_cache
from aiwarden.model import Finding, Severity, Status
from aiwarden.patterns import template_rules
from aiwarden.registry import select
from aiwarden.report import findings_table, table
from aiwarden_dev import cloudtrail
from aiwarden_dev.estate import MOTO_BLIND_CHECKS, seed
from aiwarden_dev.moto_server import DEMO_ACCOUNT, DEMO_REGION, fake_aws_environment, moto_server

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
HANDLER = REPO / "functions" / "evaluate" / "app.py"
EVENTS = REPO / "events"


@dataclass
class Stack:
    topic_arn: str
    subscriber_url: str
    rule_queues: dict[str, str]  # rule name -> queue URL standing in for the Lambda target


def deploy(aws: Callable[[str], Any]) -> Stack:
    """The parts of template.yaml the demo exercises, created on moto."""
    sns, sqs, events = aws("sns"), aws("sqs"), aws("events")
    kms = aws("kms")
    kms_key = kms.create_key(Description="aiwarden alerts")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=kms_key)  # as template.yaml's WardenKey
    topic_arn = sns.create_topic(Name="aiwarden-alerts", Attributes={"KmsMasterKeyId": kms_key})["TopicArn"]

    def queue(name: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    subscriber_url, subscriber_arn = queue("alerts-subscriber")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=subscriber_arn)
    rule_queues = {}
    for name, pattern in template_rules(TEMPLATE).items():
        url, arn = queue(f"evaluator-{name}")
        events.put_rule(Name=f"aiwarden-{name}", EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"aiwarden-{name}", Targets=[{"Id": "evaluate", "Arn": arn}])
        rule_queues[name] = url
    return Stack(topic_arn=topic_arn, subscriber_url=subscriber_url, rule_queues=rule_queues)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def load_handler(topic_arn: str, mode: str, allowed: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Import functions/evaluate/app.py as Lambda would, with the template's environment (a new
    "deployment" each time the operator changes the remediation settings)."""
    os.environ.update(
        ALERT_TOPIC_ARN=topic_arn,
        # As an operator would with DisabledChecks: the checks moto cannot answer truthfully.
        AIWARDEN_DISABLED_CHECKS=",".join(sorted(MOTO_BLIND_CHECKS)),
        POWERTOOLS_LOG_LEVEL="WARNING",
        AIWARDEN_REMEDIATION_MODE=mode,
        AIWARDEN_REMEDIATE_CHECKS=allowed,
    )
    spec = importlib.util.spec_from_file_location("aiwarden_evaluate_app", HANDLER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the handler at {HANDLER}")
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):  # Powertools logs go to stdout in Lambda
        spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A local Slack incoming webhook: records what AI Warden posts."""

    posts: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).posts.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class RespondState:
    """What the demo adds for the respond features: the state table, the remediation role, and
    a local Slack webhook whose URL lives in Secrets Manager, as in the template."""

    table: str
    role_name: str
    secret_arn: str
    server: http.server.ThreadingHTTPServer
    aws: Callable[[str], Any]

    def audit_trail(self) -> list[dict[str, Any]]:
        from aiwarden.store import StateStore

        store = StateStore(self.aws("dynamodb"), self.table)
        items = self.aws("dynamodb").scan(TableName=self.table)["Items"]
        resources = sorted(
            {i["pk"]["S"].removeprefix("AUDIT#") for i in items if i["pk"]["S"].startswith("AUDIT#")}
        )
        return [entry for resource in resources for entry in store.audit_trail(resource)]

    def slack_posts(self) -> list[dict[str, Any]]:
        return list(_Receiver.posts)

    def post_to_slack(self, sns_message: dict[str, Any]) -> None:
        """What the NotifySlackFunction does with each message the topic delivers."""
        from aiwarden.slack import handle_sns_event

        event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns_message}]}
        handle_sns_event(event, self.aws("secretsmanager"), self.secret_arn)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def prepare_respond(aws: Callable[[str], Any], stack: Stack) -> RespondState:
    from aiwarden.store import create_table

    table = "aiwarden-state"
    create_table(aws("dynamodb"), table)
    role = aws("iam").create_role(
        RoleName="aiwarden-RemediationRole",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]
    _Receiver.posts = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/demo"
    secret_arn = aws("secretsmanager").create_secret(Name="aiwarden/slack-webhook", SecretString=url)["ARN"]
    os.environ.update(
        AIWARDEN_STATE_TABLE=table,
        AIWARDEN_REMEDIATION_ROLE_ARN=role["Arn"],
        AIWARDEN_ALLOW_LOCAL_WEBHOOK="1",  # the receiver is local; in AWS only hooks.slack.com is accepted
    )
    return RespondState(table, role["RoleName"], secret_arn, server, aws)


def slack_preview(payload: dict[str, Any]) -> str:
    """The posted Block Kit message as a person sees it, roughly."""
    lines = []
    for attachment in payload.get("attachments", []) or [payload]:
        colour = attachment.get("color", "")
        for block in attachment.get("blocks", payload.get("blocks", [])):
            text = block.get("text", {}).get("text") if isinstance(block.get("text"), dict) else None
            if block.get("type") == "header" and text:
                lines.append(f"    | {text}   (colour {colour})")
            elif text:
                lines.extend(f"    | {line}" for line in text.splitlines())
            for item in block.get("fields", []):
                lines.append("    | " + " ".join(item.get("text", "").split()))
            for element in block.get("elements", []):
                label = (
                    element.get("text", {}).get("text")
                    if isinstance(element.get("text"), dict)
                    else element.get("text")
                )
                if label:
                    lines.append(f"    | [{label}] {element.get('url', '')}")
    return "\n".join(lines)


def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="aiwarden-EvaluateFunction",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:{DEMO_REGION}:{DEMO_ACCOUNT}:function:aiwarden-EvaluateFunction",
        aws_request_id=str(uuid.uuid4()),
        log_group_name="/aws/lambda/aiwarden-EvaluateFunction",
        log_stream_name="demo",
        get_remaining_time_in_millis=lambda: 300_000,
    )


@dataclass
class Step:
    actor: tuple[str, str]  # (identity type, name)
    story: str
    service: str = ""
    method: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    switch_to_enforce: str = ""  # before this step the operator turns enforcement on for these checks
    redeliver: bool = False  # EventBridge delivers the previous event again


def timeline(kms_key_arn: str, role_arn: str, remediation_role: str) -> list[Step]:
    jdoe = ("AssumedRole", "DataScientist/jdoe")
    jane = ("IAMUser", "admin-jane")
    warden = ("AssumedRole", f"{remediation_role}/aiwarden-remediation")
    kms_default = {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": kms_key_arn,
                },
                "BucketKeyEnabled": True,
            }
        ]
    }
    block_all = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    return [
        Step(
            jdoe,
            "removes default encryption from the model bucket",
            "s3",
            "delete_bucket_encryption",
            {"Bucket": "aiw-models-kms"},
        ),
        Step(
            jdoe,
            "creates a notebook with direct internet access",
            "sagemaker",
            "create_notebook_instance",
            {
                "NotebookInstanceName": "llm-playground",
                "InstanceType": "ml.t3.medium",
                "RoleArn": role_arn,
                "DirectInternetAccess": "Enabled",
                "RootAccess": "Disabled",
                "KmsKeyId": kms_key_arn,
            },
        ),
        Step(
            jane,
            "gives ci-bot a console password (no MFA device)",
            "iam",
            "create_login_profile",
            {"UserName": "ci-bot", "Password": "Temporary-Passw0rd!", "PasswordResetRequired": True},
        ),
        Step(
            jdoe,
            "turns off Block Public Access on the datasets bucket",
            "s3",
            "delete_public_access_block",
            {"Bucket": "aiw-datasets-plain"},
            switch_to_enforce="s3_bucket_public_access_blocked",
        ),
        Step(
            warden,
            "(AI Warden's own fix, seen by CloudTrail: evaluated, never remediated again)",
            "s3",
            "put_public_access_block",
            {"Bucket": "aiw-datasets-plain", "PublicAccessBlockConfiguration": block_all},
        ),
        Step(
            jdoe,
            "tries to strip encryption from a bucket that does not exist (the call fails)",
            "s3",
            "delete_bucket_encryption",
            {"Bucket": "aiw-models-archive"},
        ),
        Step(
            jdoe,
            "restores SSE-KMS on the model bucket",
            "s3",
            "put_bucket_encryption",
            {"Bucket": "aiw-models-kms", "ServerSideEncryptionConfiguration": kms_default},
        ),
        Step(jdoe, "", redeliver=True),
    ]


class Printer:
    """Human-readable output to stdout (table mode), or nothing until the JSON dump."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str = "") -> None:
        if self.enabled:
            print(text, flush=True)


def _alert_lines(alert: dict[str, Any], latency_ms: float) -> list[str]:
    body = json.loads(alert["Message"])
    attributes = {k: v["Value"] for k, v in alert.get("MessageAttributes", {}).items()}
    trigger = body.get("trigger", {})
    lines = [
        f"    ALERT  {alert.get('Subject')}",
        f"           attributes: {json.dumps(attributes, sort_keys=True)}",
        f"           reason: {body.get('reason') or body.get('description', '')[:160]}",
    ]
    if trigger.get("actor"):
        lines.append(
            f"           who: {trigger['actor']} via {trigger.get('event_name')} ({trigger.get('event_id')})"
        )
    remediation = body.get("remediation")
    if remediation:
        lines.append(
            f"           remediation ({remediation['mode']}): {remediation['outcome']}: "
            f"{remediation['detail'][:160]}"
        )
    lines.append(f"           console: {body.get('console_url')}")
    advice = body.get("remediation_advice", "")
    lines.append(f"           fix: {advice[:220]}{'…' if len(advice) > 220 else ''}")
    lines.append(f"           event to alert: {latency_ms:.0f} ms")
    return lines


def _severity_counts(findings: list[Finding]) -> str:
    fails = [f for f in findings if f.status is Status.FAIL]
    parts = [
        f"{sum(1 for f in fails if f.severity is s)} {s.value}"
        for s in Severity
        if any(f.severity is s for f in fails)
    ]
    return f"{len(fails)} FAIL ({', '.join(parts) or 'none'}), " + ", ".join(
        f"{sum(1 for f in findings if f.status is st)} {st.value}"
        for st in (Status.PASS, Status.EXEMPT, Status.ERROR)
    )


REPORT_DIR = Path("demo-output")


def write_report(findings: list[Finding]) -> Path:
    """The compliance report a person would rather read than JSON, as the CLI's `report` writes it."""
    from aiwarden import compliance

    REPORT_DIR.mkdir(exist_ok=True)
    target = REPORT_DIR / "report.html"
    built = compliance.build(findings, DEMO_ACCOUNT, DEMO_REGION, framework="hipaa")
    target.write_text(compliance.render_html(built), encoding="utf-8")
    (REPORT_DIR / "report.md").write_text(compliance.render_markdown(built), encoding="utf-8")
    return target


def run(output_format: str = "table") -> int:
    out = Printer(output_format != "json")
    report: dict[str, Any] = {"timeline": []}
    with moto_server() as endpoint, fake_aws_environment(endpoint):
        reset_client_cache()

        def aws(service: str) -> Any:
            return client(service, DEMO_REGION, endpoint, None)

        stack = deploy(aws)
        out(f"AI Warden demo: moto server at {endpoint} (account {DEMO_ACCOUNT}, {DEMO_REGION})")
        out(
            f"Deployed from template.yaml: encrypted alert topic + SQS subscriber, "
            f"{len(stack.rule_queues)} EventBridge rules ({', '.join(stack.rule_queues)})"
        )

        estate = seed(aws, DEMO_ACCOUNT, DEMO_REGION)
        out("\n== Seeded AI estate ==")
        out(table(["RESOURCE", "PLANTED"], [[k, v] for k, v in estate.planted.items()]))

        started = time.perf_counter()
        checks = [c for c in select(None) if c.id not in MOTO_BLIND_CHECKS]
        findings = engine.scan(Clients(DEMO_REGION, endpoint, account_id=DEMO_ACCOUNT), checks)
        elapsed = time.perf_counter() - started
        shown = [f for f in findings if f.status is not Status.NOT_APPLICABLE]
        report["sweep"] = [f.to_dict() for f in shown]
        report["report"] = str(write_report(findings))
        out(
            f"\n== Full sweep, {len(checks)} checks: {len(shown)} evaluations in {elapsed:.2f} s: "
            f"{_severity_counts(shown)} =="
        )
        out(f"(left out: {', '.join(sorted(MOTO_BLIND_CHECKS))}: moto cannot answer them truthfully)")
        out(findings_table(shown))
        out(
            "Compliance report (by practice, HIPAA controls, each failing resource and its fix): "
            f"{report['report']}"
        )

        sqs, events = aws("sqs"), aws("events")
        state = prepare_respond(aws, stack)
        handler = load_handler(stack.topic_arn, mode="dry-run", allowed="")
        out(
            "\n== Drift timeline: API call -> CloudTrail event -> template's EventBridge rules -> "
            "evaluate handler -> SNS -> subscriber (and Slack) =="
        )
        out("Remediation mode: dry-run (the default): AI Warden says what it would fix and changes nothing.")
        previous: dict[str, Any] | None = None
        for step in timeline(estate.kms_key_arn, estate.role_arn, state.role_name):
            number = len(report["timeline"]) + 1
            if step.switch_to_enforce:
                handler = load_handler(stack.topic_arn, mode="enforce", allowed=step.switch_to_enforce)
                out(
                    "\n-- The operator sets RemediationMode=enforce, "
                    f"RemediateChecks={step.switch_to_enforce} --"
                )
            t0 = time.perf_counter()
            if step.redeliver and previous is not None:
                events.put_events(Entries=[cloudtrail.envelope(previous)])
                trail = previous
                out(f"\n[{number}] EventBridge delivers the previous event again (at-least-once delivery)")
            else:
                identity = cloudtrail.identity(step.actor[0], DEMO_ACCOUNT, step.actor[1])
                trail, _ = cloudtrail.record(
                    aws(step.service), step.method, step.params, identity, DEMO_ACCOUNT, DEMO_REGION
                )
                events.put_events(Entries=[cloudtrail.envelope(trail)])
                who = step.actor[1].rsplit("/", 1)[-1]
                out(f"\n[{number}] {who} {step.story}")
                failed = f" -> failed: {trail['errorCode']}" if trail.get("errorCode") else ""
                out(f"    CloudTrail: {trail['eventSource']} {trail['eventName']}{failed}")
            previous = trail
            entry = _deliver(stack, sqs, handler, t0, out, state)
            entry.update(
                step=number,
                actor=trail["userIdentity"].get("arn"),
                story=step.story,
                event_name=trail["eventName"],
            )
            report["timeline"].append(entry)
            for alert in entry["alerts"]:
                alert["step"] = number

        guardduty_file = EVENTS / "guardduty" / "s3_bucket_anonymous_access_granted.json"
        finding = json.loads(guardduty_file.read_text())
        t0 = time.perf_counter()
        events.put_events(
            Entries=[
                {
                    "Source": finding["source"],
                    "DetailType": finding["detail-type"],
                    "Detail": json.dumps(finding["detail"]),
                }
            ]
        )
        number = len(report["timeline"]) + 1
        out(
            f"\n[{number}] GuardDuty reports {finding['detail']['type']} ({guardduty_file.relative_to(REPO)})"
        )
        entry = _deliver(stack, sqs, handler, t0, out, state)
        entry.update(step=number, story="GuardDuty finding", event_name=finding["detail"]["type"])
        report["timeline"].append(entry)
        for alert in entry["alerts"]:
            alert["step"] = number

        malformed = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.s3",
            "account": DEMO_ACCOUNT,
            "region": DEMO_REGION,
            "detail": {"eventVersion": "1.10"},
        }
        with contextlib.redirect_stdout(io.StringIO()):
            result = handler(malformed, lambda_context())
        out(
            f"\n[{len(report['timeline']) + 1}] A truncated CloudTrail event handed straight to the handler "
            f"(as a DLQ redrive might): {result.get('skipped')}: {result.get('reason')}"
        )
        report["malformed"] = result
        report["audit"] = state.audit_trail()
        report["slack"] = state.slack_posts()
        out(f"\n== Remediation audit trail (DynamoDB {state.table}) ==")
        out(
            table(
                ["CHECK", "RESOURCE", "MODE", "OUTCOME", "ACTOR"],
                [
                    [a["check_id"], a["resource"], a["mode"], a["outcome"], str(a.get("actor"))]
                    for a in report["audit"]
                ],
            )
        )
        posts = report["slack"]
        out(f"\n== Slack: {len(posts)} messages posted to the local webhook receiver; the first one: ==")
        if posts:
            out(slack_preview(posts[0]))
        state.close()

    alerts = [a for step in report["timeline"] for a in step["alerts"]]
    report["alerts"] = alerts
    if output_format == "json":
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    out(f"\n== {len(alerts)} alerts delivered to the SNS subscriber ==")
    rows = [
        [
            str(a["step"]),
            a["attributes"].get("severity", ""),
            a["attributes"].get("check_id", ""),
            a["body"].get("resource_id") or ", ".join(a["body"].get("resource_names", [])),
            f"{a['latency_ms']:.0f} ms",
        ]
        for a in alerts
    ]
    out(table(["STEP", "SEVERITY", "CHECK", "RESOURCE", "EVENT->ALERT"], rows))
    if alerts:
        latencies = sorted(a["latency_ms"] for a in alerts)
        out(
            f"event-to-alert latency: median {latencies[len(latencies) // 2]:.0f} ms, "
            f"max {latencies[-1]:.0f} ms "
            "(moto in-process; on AWS add CloudTrail->EventBridge delivery, typically seconds)"
        )
    return 0


def _deliver(
    stack: Stack,
    sqs: Any,
    handler: Callable[..., dict[str, Any]],
    t0: float,
    out: Printer,
    state: RespondState,
) -> dict[str, Any]:
    """Hand every event the rules routed to the handler; collect the alerts it caused and post
    each to Slack as the notifier function would."""
    routed = [(rule, body) for rule, url in stack.rule_queues.items() for body in drain(sqs, url)]
    entry: dict[str, Any] = {"routed_by": [rule for rule, _ in routed], "results": [], "alerts": []}
    if not routed:
        out(
            "    EventBridge: no rule matched (the template's patterns drop failed calls: "
            "errorCode exists) -> nothing evaluated"
        )
        return entry
    for rule, delivered in routed:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                result = handler(delivered, lambda_context())
        except Exception as exc:  # what Lambda would retry, then send to the on-failure queue
            out(
                f"    EventBridge rule {rule} -> evaluate FAILED ({exc}): "
                "Lambda retries, then dead-letters it"
            )
            entry["results"].append({"error": str(exc)})
            continue
        entry["results"].append(result)
        if result.get("duplicate"):
            out(
                f"    EventBridge rule {rule} -> evaluate: duplicate delivery of "
                f"{result.get('event_id')}: ignored"
            )
            continue
        fixes = ", ".join(f"{n} {o}" for o, n in result.get("remediations", {}).items())
        out(
            f"    EventBridge rule {rule} -> evaluate: {result.get('evaluated')} evaluations "
            f"{result.get('statuses', {})}, {result.get('alerts_sent', 0)} alert(s)"
            + (f", remediation: {fixes}" if fixes else "")
        )
    for alert in drain(sqs, stack.subscriber_url):
        latency_ms = (time.perf_counter() - t0) * 1000
        body = json.loads(alert["Message"])
        attributes = {k: v["Value"] for k, v in alert.get("MessageAttributes", {}).items()}
        entry["alerts"].append(
            {
                "subject": alert.get("Subject"),
                "attributes": attributes,
                "body": body,
                "latency_ms": latency_ms,
                "step": None,
            }
        )
        for line in _alert_lines(alert, latency_ms):
            out(line)
        state.post_to_slack(alert)
    return entry
