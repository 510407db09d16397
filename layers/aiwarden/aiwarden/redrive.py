"""Re-deliver what AI Warden's dead-letter queue holds, once the cause is fixed.

One SQS queue (template.yaml ``DeadLetterQueue``) receives two kinds of message, and both carry
the original event:

- **EventBridge rule dead letters** (each rule's ``DeadLetterConfig``): EventBridge could not
  deliver the event to the function (no permission, throttled, function missing). The body *is*
  the event; the message attributes ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE`` and
  ``ERROR_MESSAGE`` (and ``EXHAUSTED_RETRY_CONDITION``, ``RETRY_ATTEMPTS``) say which rule and
  target failed and why. The function never saw the event.
- **Lambda asynchronous-invocation failure records** (each function's ``EventInvokeConfig``
  ``OnFailure``): the function ran and failed every attempt, or the event aged out. The body is
  ``{"version": "1.0", "timestamp": ..., "requestContext": {"requestId", "functionArn" (qualified,
  e.g. ``...:function:NAME:$LATEST``), "condition": "RetriesExhausted" | "EventAgeExceeded",
  "approximateInvokeCount"}, "requestPayload": <the event>, "responseContext": {"statusCode",
  "executedVersion", "functionError"}, "responsePayload": {"errorType", "errorMessage", ...}}``.
  Config rule invocations reach the queue this way too (their function is the config_rule one).

Each event goes back to the function that should have handled it, asynchronously (Invoke with
InvocationType ``Event``), exactly as EventBridge or Config would have delivered it, so the
function's own retries and on-failure destination apply again. A message is deleted only after
Lambda accepted its event (HTTP 202); anything that cannot be re-delivered (not JSON, no event,
no function, Lambda refused) stays in the queue with the reason in the report. Nothing is ever
deleted silently. Delivery is at least once: a message whose deletion fails is delivered again
by the next run, and the evaluator's event-id claim (state table) drops the duplicate.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import argparse

logger = logging.getLogger(__name__)

EVENTBRIDGE_RULE = "eventbridge-rule"
LAMBDA_FAILURE = "lambda-async-failure"
BARE_EVENT = "event"

REDELIVERED = "redelivered"
WOULD_REDELIVER = "would-redeliver"
LEFT = "left"
NOT_DELETED = "redelivered-not-deleted"

SQS_BATCH = 10  # ReceiveMessage and ChangeMessageVisibilityBatch take at most 10
DETAIL_LIMIT = 300
_LAMBDA_ARN = re.compile(r"arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?")


class NotRedrivable(Exception):
    """This message cannot be re-delivered; ``reason`` says why (it stays in the queue)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DeadLetter:
    """The original event of one dead-letter message, and what the message says about it."""

    message_id: str
    receipt_handle: str
    kind: str  # EVENTBRIDGE_RULE | LAMBDA_FAILURE | BARE_EVENT
    event: dict[str, Any]
    function: str | None  # the function (name or ARN) the event was meant for, when named
    cause: str  # why it was dead-lettered, for the operator
    receive_count: int = 0

    @property
    def event_id(self) -> str | None:
        value = self.event.get("id") or self.event.get("resultToken")
        return str(value)[:64] if value else None


def _attribute(message: Mapping[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    text = value.get("StringValue")
    return str(text) if text is not None else None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def parse(message: Mapping[str, Any]) -> DeadLetter:
    """The dead letter in an SQS message (as ReceiveMessage returns it), or NotRedrivable."""
    message_id = str(message.get("MessageId", "?"))
    receipt = str(message.get("ReceiptHandle", ""))
    count = int((message.get("Attributes") or {}).get("ApproximateReceiveCount") or 0)
    try:
        body = json.loads(message.get("Body") or "")
    except (TypeError, ValueError) as exc:
        raise NotRedrivable(f"body is not JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise NotRedrivable(f"body is JSON {type(body).__name__}, not an event or invocation record")

    rule, target = _attribute(message, "RULE_ARN"), _attribute(message, "TARGET_ARN")
    if rule or target:
        code = _attribute(message, "ERROR_CODE") or "unknown error"
        text = _attribute(message, "ERROR_MESSAGE") or ""
        function = target if target and _LAMBDA_ARN.fullmatch(target) else None
        return DeadLetter(
            message_id,
            receipt,
            EVENTBRIDGE_RULE,
            body,
            function,
            _short(f"{code}: {text}".rstrip(": ")),
            count,
        )

    context = body.get("requestContext")
    if isinstance(context, dict) and "requestPayload" in body:
        condition = str(context.get("condition") or "unknown condition")
        if condition == "Success":
            raise NotRedrivable("an on-success invocation record: the event was processed")
        payload = body.get("requestPayload")
        if not isinstance(payload, dict) or not payload:
            raise NotRedrivable(f"invocation record ({condition}) carries no event in requestPayload")
        response = body.get("responsePayload")
        error = ""
        if isinstance(response, dict):
            error = ": ".join(str(response[k]) for k in ("errorType", "errorMessage") if response.get(k))
        elif response:
            error = str(response)
        # ":$LATEST" is what an unqualified invoke runs anyway; dropping it keeps the IAM grant
        # to the plain function ARN. Versions and aliases are kept.
        function = str(context.get("functionArn") or "").removesuffix(":$LATEST")
        return DeadLetter(
            message_id,
            receipt,
            LAMBDA_FAILURE,
            payload,
            function or None,
            _short(f"{condition} after {context.get('approximateInvokeCount', '?')} attempt(s): {error}"),
            count,
        )

    if "detail-type" in body and "source" in body:
        # An EventBridge event without EventBridge's attributes (sent by hand, or by a function
        # dead-letter queue): redrivable, but only to a function the caller names.
        return DeadLetter(message_id, receipt, BARE_EVENT, body, None, "no dead-letter attributes", count)
    raise NotRedrivable("neither an EventBridge dead letter nor a Lambda invocation record")


class Redeliverer(Protocol):
    """Where a dead letter goes, and the act of sending it there."""

    def destination(self, letter: DeadLetter) -> str:
        """Where ``letter`` would go; NotRedrivable when nowhere (a dry run asks this too)."""
        ...

    def deliver(self, letter: DeadLetter) -> str:
        """Re-deliver ``letter`` and say where it went; raise when it was not accepted."""
        ...


class LambdaInvoker:
    """Re-deliver by invoking the function asynchronously (what EventBridge and Config do).

    The function is the one the message names (the rule's target, the record's functionArn), else
    ``default_function``; ``override`` sends every event to ``default_function`` instead (the
    stack was redeployed and the function has a new name)."""

    def __init__(self, lambda_client: Any, default_function: str | None = None, *, override: bool = False):
        if override and not default_function:
            raise ValueError("override needs a default function")
        self.lambda_client = lambda_client
        self.default_function = default_function
        self.override = override

    def destination(self, letter: DeadLetter) -> str:
        function = self.default_function if self.override else (letter.function or self.default_function)
        if not function:
            raise NotRedrivable("the message names no function: pass one (--function)")
        return function

    def deliver(self, letter: DeadLetter) -> str:
        function = self.destination(letter)
        response = self.lambda_client.invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(letter.event).encode()
        )
        status = response.get("StatusCode")
        if status != 202:
            raise NotRedrivable(f"Lambda answered {status}, not 202 (accepted)")
        return function


class LocalHandler:
    """Re-deliver by calling ``handler(event)`` in this process (tests, a laptop against a test
    account). Raising means not delivered, as a failed invocation would."""

    def __init__(self, handler: Callable[[dict[str, Any]], Any], label: str = "local handler") -> None:
        self.handler = handler
        self.label = label

    def destination(self, letter: DeadLetter) -> str:
        return self.label

    def deliver(self, letter: DeadLetter) -> str:
        self.handler(letter.event)
        return self.label


@dataclass(frozen=True)
class Outcome:
    message_id: str
    action: str  # REDELIVERED | WOULD_REDELIVER | LEFT | NOT_DELETED
    kind: str | None
    event_id: str | None
    destination: str | None
    detail: str  # the dead-letter cause, or why the message was left

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "action": self.action,
            "kind": self.kind,
            "event_id": self.event_id,
            "destination": self.destination,
            "detail": self.detail,
        }


@dataclass
class RedriveReport:
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def received(self) -> int:
        return len(self.outcomes)

    @property
    def complete(self) -> bool:
        """Every message received was re-delivered and deleted (or would be, in a dry run)."""
        return all(o.action in {REDELIVERED, WOULD_REDELIVER} for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "received": self.received,
            "redelivered": self.count(REDELIVERED) + self.count(NOT_DELETED),
            "would_redeliver": self.count(WOULD_REDELIVER),
            "left": self.count(LEFT),
            "not_deleted": self.count(NOT_DELETED),
            "messages": [o.to_dict() for o in self.outcomes],
        }


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotRedrivable):
        return exc.reason
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return _short(f"{error.get('Code')}: {error.get('Message')}")
    return _short(f"{type(exc).__name__}: {exc}")


def redrive(
    sqs: Any,
    queue_url: str,
    redeliverer: Redeliverer,
    *,
    max_messages: int = 100,
    dry_run: bool = False,
    wait_seconds: int = 1,
    visibility_timeout: int = 300,
) -> RedriveReport:
    """Re-deliver up to ``max_messages`` dead letters and delete each one Lambda accepted.

    Messages are received with ``visibility_timeout`` so that none comes back within this run;
    those left (and all of them in a dry run) are made visible again at the end, for the next
    run or another operator. A dry run parses and reports, but neither delivers nor deletes.
    """
    if max_messages < 1:
        raise ValueError("max_messages must be at least 1")
    report = RedriveReport(dry_run=dry_run)
    seen: set[str] = set()
    keep: list[dict[str, Any]] = []
    while report.received < max_messages:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(SQS_BATCH, max_messages - report.received),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        fresh = [m for m in batch if m.get("MessageId") not in seen]
        if not fresh:
            break  # empty, or only messages whose visibility ran out during this run
        for message in fresh:
            seen.add(message["MessageId"])
            outcome = _one(sqs, queue_url, message, redeliverer, dry_run)
            report.outcomes.append(outcome)
            if outcome.action in {LEFT, WOULD_REDELIVER}:
                keep.append({"Id": str(len(keep)), "ReceiptHandle": message["ReceiptHandle"]})
    _release(sqs, queue_url, keep)
    logger.info(
        "redrive done",
        extra={"queue_url": queue_url, **{k: v for k, v in report.to_dict().items() if k != "messages"}},
    )
    return report


def _one(sqs: Any, queue_url: str, message: Mapping[str, Any], to: Redeliverer, dry_run: bool) -> Outcome:
    message_id = str(message.get("MessageId"))
    try:
        letter = parse(message)
    except NotRedrivable as exc:
        logger.info("dead letter %s left: %s", message_id, exc.reason, extra={"message_id": message_id})
        return Outcome(message_id, LEFT, None, None, None, exc.reason)
    try:
        destination = to.destination(letter) if dry_run else to.deliver(letter)
    except Exception as exc:
        reason = _reason(exc)
        logger.info(
            "dead letter %s left: %s",
            message_id,
            reason,
            extra={"message_id": message_id, "event_id": letter.event_id, "kind": letter.kind},
        )
        return Outcome(message_id, LEFT, letter.kind, letter.event_id, letter.function, reason)
    if dry_run:
        return Outcome(message_id, WOULD_REDELIVER, letter.kind, letter.event_id, destination, letter.cause)
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle)
    except Exception as exc:
        # Delivered but still queued: the next run delivers it again; the evaluator's event-id
        # claim drops the duplicate.
        reason = f"re-delivered, but not deleted: {_reason(exc)}"
        logger.warning("dead letter %s %s", message_id, reason, extra={"message_id": message_id})
        return Outcome(message_id, NOT_DELETED, letter.kind, letter.event_id, destination, reason)
    logger.info(
        "dead letter %s re-delivered to %s",
        message_id,
        destination,
        extra={"message_id": message_id, "event_id": letter.event_id, "kind": letter.kind},
    )
    return Outcome(message_id, REDELIVERED, letter.kind, letter.event_id, destination, letter.cause)


def _release(sqs: Any, queue_url: str, entries: list[dict[str, Any]]) -> None:
    """Make the messages left in the queue visible again now rather than after the timeout."""
    for start in range(0, len(entries), SQS_BATCH):
        batch = [{**e, "VisibilityTimeout": 0} for e in entries[start : start + SQS_BATCH]]
        try:
            failed = (
                sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=batch).get("Failed") or []
            )
        except Exception as exc:
            failed = [{"Message": _reason(exc)}]
        if failed:
            # Harmless: they reappear once the visibility timeout passes.
            logger.warning("could not release %d message(s): %s", len(failed), failed[0].get("Message"))


# --- The `aiwarden redrive` command ----------------------------------------------------------


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``aiwarden redrive`` (cli.py registers the subcommand with these)."""
    parser.add_argument(
        "--queue-url", required=True, help="the dead-letter queue (stack output DeadLetterQueueUrl)"
    )
    parser.add_argument(
        "--function",
        help="function for messages that name none (name or ARN; stack outputs EvaluateFunctionName, ...)",
    )
    parser.add_argument(
        "--override-function",
        action="store_true",
        help="send every message to --function, whatever function it names (after a redeploy renamed it)",
    )
    parser.add_argument("--max", type=_positive, default=100, help="at most this many messages (default 100)")
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be re-delivered; change nothing"
    )
    parser.add_argument("--endpoint-url", help="AWS API endpoint (e.g. a moto server)")
    parser.add_argument("--region", help="AWS region (default: the queue URL's, then profile/environment)")
    parser.add_argument("--profile", help="named AWS profile from your shared config")
    parser.add_argument("--format", choices=["table", "json"], default="table")


_QUEUE_HOST = re.compile(r"^(?:sqs\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.(?:queue\.)?amazonaws\.com")


def region_of_queue(queue_url: str) -> str | None:
    """us-east-1 from https://sqs.us-east-1.amazonaws.com/123456789012/name (also the legacy
    us-east-1.queue.amazonaws.com form); None for other hosts (a local endpoint)."""
    from urllib.parse import urlsplit

    match = _QUEUE_HOST.match(urlsplit(queue_url).hostname or "")
    return match.group("region") if match else None


def cmd_redrive(args: argparse.Namespace) -> int:
    """``aiwarden redrive``: 0 when every message received was re-delivered (or would be, with
    --dry-run), 2 when some were left in the queue (the table or JSON says why)."""
    import sys

    from aiwarden.cli import EXIT_ERROR, EXIT_OK, UsageError, _region
    from aiwarden.clients import client

    if args.override_function and not args.function:
        raise UsageError("--override-function needs --function")
    # The queue URL names its region; the functions live in the same one (one stack).
    region = args.region or region_of_queue(args.queue_url) or _region(args)
    sqs = client("sqs", region, args.endpoint_url, args.profile)
    invoker = LambdaInvoker(
        client("lambda", region, args.endpoint_url, args.profile),
        args.function,
        override=args.override_function,
    )
    report = redrive(sqs, args.queue_url, invoker, max_messages=args.max, dry_run=args.dry_run)
    if args.format == "json":
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif report.outcomes:
        from aiwarden.report import table

        rows = [
            [o.action, o.kind or "-", o.event_id or "-", o.destination or "-", o.detail]
            for o in report.outcomes
        ]
        sys.stdout.write(table(["ACTION", "KIND", "EVENT", "FUNCTION", "DETAIL"], rows) + "\n")
    summary = report.to_dict()
    verb = "would re-deliver" if args.dry_run else "re-delivered"
    done = summary["would_redeliver"] if args.dry_run else summary["redelivered"]
    line = f"aiwarden: {summary['received']} message(s) received, {done} {verb}, {summary['left']} left"
    if summary["not_deleted"]:
        line += f", {summary['not_deleted']} re-delivered but not deleted"
    print(line, file=sys.stderr)
    return EXIT_OK if report.complete else EXIT_ERROR
