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
import importlib.util
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

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


def load_handler(topic_arn: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Import functions/evaluate/app.py as Lambda would, with the template's environment."""
    os.environ.update(
        ALERT_TOPIC_ARN=topic_arn,
        POWERTOOLS_LOG_LEVEL="WARNING",
        AIWARDEN_REMEDIATION_MODE="dry-run",
    )
    spec = importlib.util.spec_from_file_location("aiwarden_evaluate_app", HANDLER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the handler at {HANDLER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


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
    service: str
    method: str
    params: dict[str, Any]


def timeline(kms_key_arn: str, role_arn: str) -> list[Step]:
    jdoe = ("AssumedRole", "DataScientist/jdoe")
    jane = ("IAMUser", "admin-jane")
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
            },
        ),
        Step(
            jane,
            "gives ci-bot a console password (no MFA device)",
            "iam",
            "create_login_profile",
            {
                "UserName": "ci-bot",
                "Password": "Temporary-Passw0rd!",
                "PasswordResetRequired": True,
            },
        ),
        Step(
            jdoe,
            "turns off Block Public Access on the datasets bucket",
            "s3",
            "delete_public_access_block",
            {"Bucket": "aiw-datasets-plain"},
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
            {
                "Bucket": "aiw-models-kms",
                "ServerSideEncryptionConfiguration": {
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": kms_key_arn,
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
            },
        ),
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
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools logs go to stdout in Lambda
            handler = load_handler(stack.topic_arn)
        out(
            "\n== Drift timeline: API call -> CloudTrail event -> template's EventBridge rules -> "
            "evaluate handler -> SNS -> subscriber =="
        )
        for number, step in enumerate(timeline(estate.kms_key_arn, estate.role_arn), start=1):
            identity = cloudtrail.identity(step.actor[0], DEMO_ACCOUNT, step.actor[1])
            t0 = time.perf_counter()
            trail, _ = cloudtrail.record(
                aws(step.service), step.method, step.params, identity, DEMO_ACCOUNT, DEMO_REGION
            )
            events.put_events(Entries=[cloudtrail.envelope(trail)])
            who = step.actor[1].rsplit("/", 1)[-1]
            out(f"\n[{number}] {who} {step.story}")
            failed = f" -> failed: {trail['errorCode']}" if trail.get("errorCode") else ""
            out(f"    CloudTrail: {trail['eventSource']} {trail['eventName']}{failed}")
            entry = _deliver(stack, sqs, handler, t0, out)
            entry.update(step=number, actor=identity["arn"], story=step.story, event_name=trail["eventName"])
            report["timeline"].append(entry)
            for alert in entry["alerts"]:
                alert["step"] = number

        guardduty_file = EVENTS / "guardduty" / "s3_bucket_anonymous_access_granted.json"
        if guardduty_file.exists():
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
            out(
                f"\n[{len(report['timeline']) + 1}] GuardDuty reports {finding['detail']['type']} "
                f"({guardduty_file.relative_to(REPO)})"
            )
            entry = _deliver(stack, sqs, handler, t0, out)
            number = len(report["timeline"]) + 1
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
    stack: Stack, sqs: Any, handler: Callable[..., dict[str, Any]], t0: float, out: Printer
) -> dict[str, Any]:
    """Hand every event the rules routed to the handler; collect the alerts it caused."""
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
        out(
            f"    EventBridge rule {rule} -> evaluate: {result.get('evaluated')} evaluations "
            f"{result.get('statuses', {})}, {result.get('alerts_sent', 0)} alert(s) published"
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
    return entry
