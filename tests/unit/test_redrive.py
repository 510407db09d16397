"""aiwarden.redrive: re-delivering the dead-letter queue's events, against a real (moto) queue."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from aiwarden import engine, redrive
from aiwarden.engine import EvaluationFailed, Runtime
from aiwarden.redrive import (
    BARE_EVENT,
    EVENTBRIDGE_RULE,
    LAMBDA_FAILURE,
    LEFT,
    NOT_DELETED,
    REDELIVERED,
    WOULD_REDELIVER,
    LambdaInvoker,
    LocalHandler,
)
from aiwarden.registry import REGISTRY, all_checks
from tests.conftest import ACCOUNT, REGION, load_event

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:aiwarden-EvaluateFunction-Xk2LrPq9"
CONFIG_RULE_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:aiwarden-ConfigRuleFunction-Q7cVb2"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/aiwarden-EvaluateFunctionCloudTrailS3-1A2B3C"
CREATE_BUCKET = "cloudtrail/s3_create_bucket.json"
PUT_TAGGING = "cloudtrail/s3_put_bucket_tagging.json"
CONFIG_RULE = "config_rule/configuration_item_change_s3_bucket.json"


def eventbridge_dead_letter(event: dict[str, Any], target: str = FUNCTION_ARN) -> dict[str, Any]:
    """What EventBridge sends a rule's dead-letter queue: the event, and why, as attributes."""

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    return {
        "MessageBody": json.dumps(event),
        "MessageAttributes": {
            "RULE_ARN": text(RULE_ARN),
            "TARGET_ARN": text(target),
            "ERROR_CODE": text("NO_PERMISSIONS"),
            "ERROR_MESSAGE": text("Lambda function does not allow events.amazonaws.com to invoke it"),
            "EXHAUSTED_RETRY_CONDITION": text("MaximumRetryAttempts"),
            "RETRY_ATTEMPTS": text("0"),
        },
    }


def invocation_record(
    payload: Any, function_arn: str = FUNCTION_ARN, condition: str = "RetriesExhausted"
) -> dict[str, Any]:
    """What Lambda sends an OnFailure SQS destination (shape from the Lambda developer guide)."""
    record = {
        "version": "1.0",
        "timestamp": "2026-03-02T09:16:41.771Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4b2e-8880-a18cdf61200e",
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "every evaluation failed: could not evaluate: ServiceUnavailable: Please retry",
            "errorType": "EvaluationFailed",
            "requestId": "e4b46cbf-b738-4b2e-8880-a18cdf61200e",
            "stackTrace": ['  File "/var/task/app.py", line 27, in handler\n'],
        },
    }
    return {"MessageBody": json.dumps(record)}


@pytest.fixture
def dlq(aws: Any) -> tuple[Any, str]:
    sqs = aws.client("sqs")
    return sqs, sqs.create_queue(QueueName="aiwarden-DeadLetterQueue-9XyZ")["QueueUrl"]


def send(dlq: tuple[Any, str], *messages: dict[str, Any]) -> list[str]:
    sqs, url = dlq
    return [sqs.send_message(QueueUrl=url, **m)["MessageId"] for m in messages]


def queued(dlq: tuple[Any, str]) -> dict[str, str]:
    """Message id -> body of what the queue holds *and shows now* (visibility released)."""
    sqs, url = dlq
    found: dict[str, str] = {}
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
        "Messages"
    ):
        found.update({m["MessageId"]: m["Body"] for m in batch})
    return found


class Collector:
    """A local re-delivery target that records the events it is given (or refuses some)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.refuse = refuse or set()

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("id") in self.refuse:
            raise EvaluationFailed("every evaluation failed: could not evaluate: AccessDenied: Access Denied")
        self.events.append(event)


def run(dlq: tuple[Any, str], to: Any, **options: Any) -> redrive.RedriveReport:
    sqs, url = dlq
    return redrive.redrive(sqs, url, to, wait_seconds=0, **options)


def by_message(report: redrive.RedriveReport) -> dict[str, redrive.Outcome]:
    return {o.message_id: o for o in report.outcomes}


# --- Both shapes, and what is not redrivable --------------------------------------------------


def test_both_dead_letter_shapes_are_redelivered_with_their_original_event_and_deleted(dlq):
    created, tagged = load_event(CREATE_BUCKET), load_event(PUT_TAGGING)
    rule_id, record_id = send(dlq, eventbridge_dead_letter(created), invocation_record(tagged))
    collector = Collector()

    report = run(dlq, LocalHandler(collector))

    assert sorted(e["id"] for e in collector.events) == sorted([created["id"], tagged["id"]])
    assert collector.events[[e["id"] for e in collector.events].index(created["id"])] == created
    outcomes = by_message(report)
    assert outcomes[rule_id].action == REDELIVERED
    assert outcomes[rule_id].kind == EVENTBRIDGE_RULE
    assert outcomes[rule_id].detail.startswith("NO_PERMISSIONS: Lambda function does not allow")
    assert outcomes[record_id].kind == LAMBDA_FAILURE
    assert outcomes[record_id].event_id == tagged["id"]
    assert outcomes[record_id].detail == (
        "RetriesExhausted after 3 attempt(s): EvaluationFailed: every evaluation failed: could not "
        "evaluate: ServiceUnavailable: Please retry"
    )
    assert report.complete
    assert queued(dlq) == {}


def test_what_cannot_be_redelivered_stays_in_the_queue_with_a_reason(dlq):
    ok_id, *bad = send(
        dlq,
        invocation_record(load_event(CREATE_BUCKET)),
        {"MessageBody": "Lambda was unable to decode the event"},
        {"MessageBody": "[1, 2, 3]"},
        invocation_record(None),
        invocation_record(load_event(PUT_TAGGING), condition="Success"),
        {"MessageBody": json.dumps({"hello": "world"})},
    )
    collector = Collector()

    report = run(dlq, LocalHandler(collector))

    outcomes = by_message(report)
    assert outcomes[ok_id].action == REDELIVERED
    assert [outcomes[m].action for m in bad] == [LEFT] * 5
    details = [outcomes[m].detail for m in bad]
    assert details[0].startswith("body is not JSON (Expecting value")
    assert details[1:] == [
        "body is JSON list, not an event or invocation record",
        "invocation record (RetriesExhausted) carries no event in requestPayload",
        "an on-success invocation record: the event was processed",
        "neither an EventBridge dead letter nor a Lambda invocation record",
    ]
    assert len(collector.events) == 1
    assert not report.complete
    # Left messages are visible again at once, for the next run or a human, bodies untouched.
    assert set(queued(dlq)) == set(bad)
    assert report.to_dict()["left"] == 5


def test_a_refused_redelivery_leaves_that_message_only(dlq):
    created, tagged = load_event(CREATE_BUCKET), load_event(PUT_TAGGING)
    refused_id, ok_id = send(dlq, invocation_record(created), eventbridge_dead_letter(tagged))

    report = run(dlq, LocalHandler(Collector(refuse={created["id"]})))

    outcomes = by_message(report)
    assert outcomes[refused_id].action == LEFT
    assert outcomes[refused_id].detail == (
        "EvaluationFailed: every evaluation failed: could not evaluate: AccessDenied: Access Denied"
    )
    assert outcomes[ok_id].action == REDELIVERED
    assert set(queued(dlq)) == {refused_id}


def test_dry_run_delivers_and_deletes_nothing(dlq):
    ids = send(
        dlq, invocation_record(load_event(CREATE_BUCKET)), eventbridge_dead_letter(load_event(PUT_TAGGING))
    )
    collector = Collector()

    report = run(dlq, LocalHandler(collector), dry_run=True)

    assert [o.action for o in report.outcomes] == [WOULD_REDELIVER] * 2
    assert collector.events == []
    assert set(queued(dlq)) == set(ids)
    assert report.to_dict()["would_redeliver"] == 2


def test_max_messages_bounds_one_run(dlq):
    send(dlq, *(invocation_record({**load_event(CREATE_BUCKET), "id": f"event-{i:02d}"}) for i in range(13)))
    collector = Collector()

    report = run(dlq, LocalHandler(collector), max_messages=11)

    assert report.received == 11
    assert len(collector.events) == 11
    assert len(queued(dlq)) == 2


def test_a_message_whose_deletion_fails_is_reported_not_lost(dlq):
    sqs, _ = dlq
    (message_id,) = send(dlq, invocation_record(load_event(CREATE_BUCKET)))

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DeleteMessage")

    sqs.meta.events.register("before-call.sqs.DeleteMessage", refuse)

    report = run(dlq, LocalHandler(Collector()))

    (outcome,) = report.outcomes
    assert outcome.message_id == message_id
    assert outcome.action == NOT_DELETED
    assert outcome.detail == "re-delivered, but not deleted: AccessDenied: not allowed"
    assert not report.complete
    assert report.to_dict()["redelivered"] == 1


# --- The Lambda path --------------------------------------------------------------------------


def expect_invoke(stub: Stubber, function: str, event: dict[str, Any]) -> None:
    stub.add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": function, "InvocationType": "Event", "Payload": json.dumps(event).encode()},
    )


def test_each_event_goes_back_to_the_function_that_should_have_handled_it(aws, dlq):
    created, config = load_event(CREATE_BUCKET), load_event(CONFIG_RULE)
    lambda_client = aws.client("lambda")
    send(dlq, eventbridge_dead_letter(created), invocation_record(config, function_arn=CONFIG_RULE_ARN))

    with Stubber(lambda_client) as stub:
        expect_invoke(stub, FUNCTION_ARN, created)  # the rule's target
        expect_invoke(stub, CONFIG_RULE_ARN, config)  # the record's functionArn, less ":$LATEST"
        report = run(dlq, LambdaInvoker(lambda_client, "unused-default"))
        stub.assert_no_pending_responses()

    assert [o.action for o in report.outcomes] == [REDELIVERED] * 2
    assert queued(dlq) == {}


def test_a_bare_event_needs_a_function_and_override_sends_everything_there(aws, dlq):
    created = load_event(CREATE_BUCKET)
    lambda_client = aws.client("lambda")
    (bare,) = send(dlq, {"MessageBody": json.dumps(created)})

    (outcome,) = run(dlq, LambdaInvoker(lambda_client), dry_run=True).outcomes
    assert (outcome.action, outcome.kind) == (LEFT, BARE_EVENT)
    assert outcome.detail == "the message names no function: pass one (--function)"

    send(dlq, invocation_record(load_event(PUT_TAGGING)))
    with Stubber(lambda_client) as stub:
        expect_invoke(stub, "aiwarden-Evaluate-New", created)
        expect_invoke(stub, "aiwarden-Evaluate-New", load_event(PUT_TAGGING))
        report = run(dlq, LambdaInvoker(lambda_client, "aiwarden-Evaluate-New", override=True))
        stub.assert_no_pending_responses()

    assert {o.message_id for o in report.outcomes if o.action == REDELIVERED} >= {bare}
    assert report.complete


def test_lambda_refusing_the_event_leaves_the_message(aws, dlq):
    lambda_client = aws.client("lambda")
    (message_id,) = send(dlq, eventbridge_dead_letter(load_event(CREATE_BUCKET)))

    with Stubber(lambda_client) as stub:
        stub.add_client_error(
            "invoke", "ResourceNotFoundException", f"Function not found: {FUNCTION_ARN}", 404
        )
        report = run(dlq, LambdaInvoker(lambda_client))

    (outcome,) = report.outcomes
    assert outcome.action == LEFT
    assert outcome.detail == f"ResourceNotFoundException: Function not found: {FUNCTION_ARN}"
    assert set(queued(dlq)) == {message_id}


# --- Recovery, end to end ---------------------------------------------------------------------


def test_an_event_that_failed_while_s3_was_down_is_evaluated_on_redrive(aws, dlq, monkeypatch):
    all_checks()
    kms = "s3_bucket_default_encryption_kms"
    monkeypatch.setattr("aiwarden.registry.REGISTRY", {kms: REGISTRY[kms]})
    event = load_event(CREATE_BUCKET)
    aws.client("s3").create_bucket(Bucket="aiw-datasets-plain")
    runtime = Runtime(alert_topic_arn=None, region=REGION)
    outage = ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "GetBucketTagging")

    def s3_down(**_: Any) -> None:
        raise outage

    aws.client("s3").meta.events.register("before-call.s3.GetBucketTagging", s3_down)
    with pytest.raises(EvaluationFailed):
        engine.handle(event, runtime)
    send(dlq, invocation_record(event))  # what Lambda does after the last retry
    aws.client("s3").meta.events.unregister("before-call.s3.GetBucketTagging", s3_down)
    summaries: list[dict[str, Any]] = []

    report = run(dlq, LocalHandler(lambda e: summaries.append(engine.handle(e, runtime))))

    assert report.complete
    assert summaries[0]["statuses"] == {"FAIL": 1}
    assert summaries[0]["event_id"] == event["detail"]["eventID"]


# --- The command ------------------------------------------------------------------------------


def command(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiwarden redrive")
    redrive.add_arguments(parser)
    return parser.parse_args(argv)


def test_cmd_redrive_invokes_lambda_and_prints_a_json_report(aws, dlq, capsys):
    _, url = dlq
    created = load_event(CREATE_BUCKET)
    send(dlq, eventbridge_dead_letter(created), {"MessageBody": "not json"})

    with Stubber(aws.client("lambda")) as stub:  # the same cached client the command builds
        expect_invoke(stub, FUNCTION_ARN, created)
        code = redrive.cmd_redrive(command("--queue-url", url, "--format", "json"))
        stub.assert_no_pending_responses()

    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2
    assert (report["received"], report["redelivered"], report["left"]) == (2, 1, 1)
    assert err == "aiwarden: 2 message(s) received, 1 re-delivered, 1 left\n"


def test_cmd_redrive_dry_run_exits_0_and_prints_a_table(aws, dlq, capsys):
    _, url = dlq
    send(dlq, invocation_record(load_event(CREATE_BUCKET)))

    code = redrive.cmd_redrive(command("--queue-url", url, "--dry-run"))

    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0].split() == ["ACTION", "KIND", "EVENT", "FUNCTION", "DETAIL"]
    assert FUNCTION_ARN in out
    assert "$LATEST" not in out
    assert err == "aiwarden: 1 message(s) received, 1 would re-deliver, 0 left\n"
    assert len(queued(dlq)) == 1


def test_override_without_a_function_is_a_usage_error(dlq):
    from aiwarden.cli import UsageError

    with pytest.raises(UsageError, match="--override-function needs --function"):
        redrive.cmd_redrive(command("--queue-url", dlq[1], "--override-function"))


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/dlq", "eu-west-1"),
        ("https://sqs.us-gov-west-1.amazonaws.com/123456789012/dlq", "us-gov-west-1"),
        ("https://ap-southeast-2.queue.amazonaws.com/123456789012/dlq", "ap-southeast-2"),
        ("http://127.0.0.1:5000/123456789012/dlq", None),
    ],
)
def test_region_of_queue(url, region):
    assert redrive.region_of_queue(url) == region


# moto tries to run the function in Docker (the socket is refused here) and still answers 202.
@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_moto_lambda_accepts_the_redelivery_for_a_function_that_exists(aws, dlq):
    """The Invoke call as moto's Lambda (not a stub) validates it: the function must exist, and an
    async invoke answers 202."""
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    role = aws.client("iam").create_role(RoleName="aiwarden-evaluate", AssumeRolePolicyDocument="{}")
    function = aws.client("lambda").create_function(
        FunctionName="aiwarden-EvaluateFunction-Xk2LrPq9",
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    accepted, missing = send(
        dlq,
        invocation_record(load_event(CREATE_BUCKET), function_arn=function["FunctionArn"]),
        invocation_record(load_event(PUT_TAGGING), function_arn=CONFIG_RULE_ARN),
    )

    report = run(dlq, LambdaInvoker(aws.client("lambda")))

    outcomes = by_message(report)
    assert outcomes[accepted].action == REDELIVERED
    assert outcomes[accepted].destination == function["FunctionArn"]
    assert outcomes[missing].action == LEFT
    assert outcomes[missing].detail.startswith("ResourceNotFoundException: Function not found")
    assert set(queued(dlq)) == {missing}
