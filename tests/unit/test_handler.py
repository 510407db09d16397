"""functions/evaluate/app.py: the Lambda handler end to end against moto (SNS -> SQS inbox)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import sys
import types
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aiwarden.clients import reset_client_cache
from aiwarden.engine import EvaluationFailed
from aiwarden.registry import REGISTRY, all_checks
from aiwarden.resources.s3 import BUCKET
from tests.conftest import REPO, load_event

APP = REPO / "functions" / "evaluate" / "app.py"
KMS = "s3_bucket_default_encryption_kms"
PUBLIC = "s3_bucket_public_access_blocked"
LINEAGE = "sagemaker_model_artifacts_encrypted"


@pytest.fixture(autouse=True)
def three_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the handler's mechanics, not the catalog: pin the registry to three
    checks so a growing catalog does not change what they count."""
    all_checks()
    monkeypatch.setattr("aiwarden.registry.REGISTRY", {k: REGISTRY[k] for k in (KMS, PUBLIC, LINEAGE)})


ACTOR = "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"
CONTEXT = types.SimpleNamespace(
    function_name="aiwarden-evaluate",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:aiwarden-evaluate",
    aws_request_id="6f1c8a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
    function_version="$LATEST",
    get_remaining_time_in_millis=lambda: 60_000,
)


@dataclasses.dataclass
class Lambda:
    module: types.ModuleType
    sqs: Any
    queue: str
    capsys: pytest.CaptureFixture[str]

    def __call__(self, event: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.module.handler(event, CONTEXT)
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Every SNS notification the topic delivered to the SQS subscriber."""
        received = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages"):
            received += [json.loads(m["Body"]) for m in batch]
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return received

    def logs(self) -> list[dict[str, Any]]:
        lines = self.capsys.readouterr().out.splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


class CurrentStdout:
    """A stream that is always the current sys.stdout, so capsys sees what Powertools prints."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def load_app(monkeypatch: pytest.MonkeyPatch, topic_arn: str | None) -> types.ModuleType:
    if topic_arn:
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "aiwarden-evaluate")
    spec = importlib.util.spec_from_file_location("aiwarden_evaluate_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Powertools keeps one handler per service name, bound to the sys.stdout of the first import
    # (an earlier capture's, since closed): make it write to whatever sys.stdout is now.
    module.logger.registered_handler.stream = CurrentStdout()
    reset_client_cache()
    return module


@pytest.fixture
def keep_aiwarden_logger():
    """app.py reconfigures the "aiwarden" logger (handler, level, propagate): undo it afterwards."""
    package_logger = logging.getLogger("aiwarden")
    saved = (package_logger.handlers[:], package_logger.level, package_logger.propagate)
    yield
    package_logger.handlers, package_logger.level, package_logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def app(aws, monkeypatch, capsys, keep_aiwarden_logger) -> Lambda:
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="aiwarden-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    module = load_app(monkeypatch, topic)
    capsys.readouterr()
    return Lambda(module, aws.client("sqs"), queue, capsys)


def test_bucket_losing_encryption_sends_one_medium_alert(aws, app):
    aws.client("s3").create_bucket(Bucket="aiw-models-kms")

    result = app(load_event("cloudtrail/s3_delete_bucket_encryption.json"))

    assert result["statuses"] == {"FAIL": 1}
    assert result["alerts_sent"] == 1
    (alert,) = app.alerts()
    assert alert["MessageAttributes"]["severity"]["Value"] == "MEDIUM"
    assert alert["MessageAttributes"]["check_id"]["Value"] == KMS
    body = json.loads(alert["Message"])
    assert (body["check_id"], body["resource_id"], body["status"]) == (KMS, "aiw-models-kms", "FAIL")
    assert body["trigger"]["actor"] == ACTOR
    assert body["trigger"]["event_name"] == "DeleteBucketEncryption"
    assert alert["Subject"].startswith("[MEDIUM]")


def test_findings_are_logged_with_the_event_id_as_correlation_id(aws, app):
    aws.client("s3").create_bucket(Bucket="aiw-models-kms")
    event = load_event("cloudtrail/s3_delete_bucket_encryption.json")

    app(event)

    (logged,) = [line for line in app.logs() if "finding" in line]
    assert logged["finding"]["resource_id"] == "aiw-models-kms"
    assert logged["correlation_id"] == event["id"]
    assert logged["level"] == "INFO"


def test_passing_resource_sends_no_alert(aws, app):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="aiw-models-kms")
    s3.put_bucket_encryption(
        Bucket="aiw-models-kms",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    result = app(load_event("cloudtrail/s3_put_bucket_encryption_sse_s3.json"))
    assert result["statuses"] == {"PASS": 1}
    assert app.alerts() == []


@pytest.mark.parametrize(
    ("event", "skipped"),
    [
        (load_event("invalid/unknown_source.json"), "UnsupportedEvent"),
        (load_event("invalid/truncated_cloudtrail.json"), "UnsupportedEvent"),
        (load_event("cloudtrail/s3_delete_bucket_encryption_access_denied.json"), "IgnoredEvent"),
        ({}, "UnsupportedEvent"),
        ([], "UnsupportedEvent"),
        ("not json", "UnsupportedEvent"),
        (None, "UnsupportedEvent"),
        ({"detail-type": "AWS API Call via CloudTrail", "detail": "{}"}, "UnsupportedEvent"),
    ],
    ids=["unknown-source", "truncated", "failed-call", "empty", "list", "string", "none", "detail-string"],
)
def test_event_not_evaluable_is_skipped_and_logged_once(app, event, skipped):
    result = app(event)

    assert result["skipped"] == skipped
    assert result["evaluated"] == 0
    assert result["reason"]
    (logged,) = [line for line in app.logs() if "reason" in line]
    assert logged["reason"] == result["reason"]
    assert logged["level"] == ("INFO" if skipped == "IgnoredEvent" else "WARNING")
    assert app.alerts() == []


@pytest.mark.parametrize(
    "sample", ["guardduty/ec2_instance_finding.json", "guardduty/s3_bucket_anonymous_access_granted.json"]
)
def test_guardduty_finding_is_alerted_even_when_no_resource_exists(app, sample):
    event = load_event(sample)

    result = app(event)

    assert result["alerts_sent"] == 1
    (alert,) = app.alerts()
    assert alert["MessageAttributes"]["check_id"]["Value"] == "guardduty_finding"
    assert alert["MessageAttributes"]["severity"]["Value"] == "HIGH"
    body = json.loads(alert["Message"])
    assert body["finding_type"] == event["detail"]["type"]
    assert body["finding_id"] == event["detail"]["id"]


def test_guardduty_finding_on_a_failing_bucket_alerts_for_both(aws, app):
    aws.client("s3").create_bucket(Bucket="aiw-public-share")

    app(load_event("guardduty/s3_bucket_anonymous_access_granted.json"))

    kinds = sorted(a["MessageAttributes"]["check_id"]["Value"] for a in app.alerts())
    assert kinds == sorted(["guardduty_finding", KMS, PUBLIC])


def test_every_evaluation_erroring_raises_so_lambda_retries(aws, app, monkeypatch):
    aws.client("s3").create_bucket(Bucket="aiw-models-kms")

    def denied(clients, ref):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetBucketTagging")

    monkeypatch.setattr(BUCKET, "describe", denied)

    with pytest.raises(EvaluationFailed, match="AccessDenied"):
        app(load_event("cloudtrail/s3_delete_bucket_encryption.json"))
    assert app.alerts() == []
    errors = [line for line in app.logs() if "finding" in line]
    assert [line["level"] for line in errors] == ["ERROR"]


def test_one_check_erroring_does_not_raise_and_the_other_still_alerts(aws, app, monkeypatch):
    aws.client("s3").create_bucket(Bucket="aiw-datasets-plain")
    all_checks()

    def boom(resource, clients):
        raise RuntimeError("boom")

    import aiwarden.registry

    registry = aiwarden.registry.REGISTRY
    monkeypatch.setitem(registry, PUBLIC, dataclasses.replace(registry[PUBLIC], evaluate=boom))

    result = app(load_event("cloudtrail/s3_create_bucket.json"))

    assert result["statuses"] == {"FAIL": 1, "ERROR": 1}
    (alert,) = app.alerts()
    assert alert["MessageAttributes"]["check_id"]["Value"] == KMS


def test_without_an_alert_topic_findings_are_evaluated_but_not_sent(aws, monkeypatch, keep_aiwarden_logger):
    monkeypatch.delenv("ALERT_TOPIC_ARN", raising=False)
    module = load_app(monkeypatch, None)
    aws.client("s3").create_bucket(Bucket="aiw-models-kms")
    published = []
    aws.client("sns").meta.events.register("before-call.sns.PublishBatch", lambda **kw: published.append(kw))

    result = module.handler(load_event("cloudtrail/s3_delete_bucket_encryption.json"), CONTEXT)

    assert result["statuses"] == {"FAIL": 1}
    assert result["alerts_sent"] == 0
    assert published == []


def test_security_hub_export_imports_every_verdict_and_updates_in_place(
    aws, monkeypatch, keep_aiwarden_logger
):
    monkeypatch.setenv("AIWARDEN_SECURITY_HUB", "true")
    module = load_app(monkeypatch, None)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="aiw-models-kms")
    event = load_event("cloudtrail/s3_delete_bucket_encryption.json")

    module.handler(event, CONTEXT)
    hub = aws.client("securityhub")
    failed = [f for f in hub.get_findings()["Findings"] if f["GeneratorId"] == KMS]
    assert [f["Compliance"]["Status"] for f in failed] == ["FAILED"]

    s3.put_bucket_encryption(
        Bucket="aiw-models-kms",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    event["detail"]["eventID"] = "another-delivery"
    module.handler(event, CONTEXT)
    fixed = [f for f in hub.get_findings()["Findings"] if f["GeneratorId"] == KMS]
    assert [(f["Id"], f["Compliance"]["Status"]) for f in fixed] == [(failed[0]["Id"], "PASSED")]


def test_state_table_makes_alerts_news_not_noise(aws, app, monkeypatch):
    from aiwarden.store import create_table

    create_table(aws.client("dynamodb"), "aiwarden-state")
    monkeypatch.setenv("AIWARDEN_STATE_TABLE", "aiwarden-state")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="aiw-models-kms")
    event = load_event("cloudtrail/s3_delete_bucket_encryption.json")

    first = app(event)
    duplicate = app(event)  # EventBridge delivers at least once
    assert first["alerts_sent"] == 1
    assert duplicate["duplicate"] is True
    [alert] = app.alerts()
    assert alert["MessageAttributes"]["change"]["Value"] == "NEW_FAILURE"

    again = dict(event, id="second-event", detail=dict(event["detail"], eventID="second-event"))
    assert app(again)["alerts_sent"] == 0  # still failing, within the repeat window: quiet

    s3.put_bucket_encryption(
        Bucket="aiw-models-kms",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    fixed = dict(event, id="third-event", detail=dict(event["detail"], eventID="third-event"))
    assert app(fixed)["alerts_sent"] == 1
    [resolved] = app.alerts()
    assert resolved["MessageAttributes"]["change"]["Value"] == "RESOLVED"
    assert resolved["Subject"].startswith("[MEDIUM] s3_bucket_default_encryption_kms RESOLVED")


def test_with_a_state_table_a_bucket_event_reads_the_ai_usage_index_not_every_model(aws, app, monkeypatch):
    from collections import Counter

    from aiwarden import clients as clients_module
    from aiwarden.store import create_table

    calls: Counter[str] = Counter()
    clients_module._session(None).events.register(
        "before-call", lambda model, **_: calls.update([model.name])
    )
    create_table(aws.client("dynamodb"), "aiwarden-state")
    monkeypatch.setenv("AIWARDEN_STATE_TABLE", "aiwarden-state")
    aws.client("s3").create_bucket(Bucket="aiw-models-kms")
    sagemaker = aws.client("sagemaker")
    for name, bucket in [("fraud-v3", "aiw-models-kms"), *((f"other-{i}", "aiw-other") for i in range(5))]:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/aiw-sagemaker",
            PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://{bucket}/{name}/model.tar.gz"},
        )
    event = load_event("cloudtrail/s3_delete_bucket_encryption.json")

    first = app(event)  # no index yet: every model is listed and described, and the index built
    assert calls["ListModels"] == 1 and calls["DescribeModel"] == 6 and calls["BatchWriteItem"] == 1
    calls.clear()
    second = app(dict(event, id="second-event", detail=dict(event["detail"], eventID="second-event")))

    assert (calls["ListModels"], calls["DescribeModel"], calls["BatchWriteItem"]) == (0, 1, 0)
    assert first["statuses"] == second["statuses"] == {"FAIL": 2}  # the bucket and its model
