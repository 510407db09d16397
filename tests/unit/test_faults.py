"""Fault injection: AI Warden under AWS throttling, refusals, outages, timeouts and races.

Faults are injected into the real botocore clients the engine uses, at the HTTP layer
(``before-send``): botocore parses and retries them exactly as it would AWS's own answers
(standard mode, bounded attempts: aiwarden.clients.BOTO_CONFIG). Whatever is not injected is served by
moto. Every attempt's ``amz-sdk-request`` header ("attempt=N; max=M") is recorded, so the tests
count what botocore really sent.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

from aiwarden import cli, clients, engine
from aiwarden.engine import EvaluationFailed, Runtime
from aiwarden.events import Target
from aiwarden.model import Finding, ResourceRef, Status
from aiwarden.registry import REGISTRY, all_checks
from aiwarden.resources.iam import USER
from aiwarden.resources.s3 import BUCKET
from tests.conftest import ACCOUNT, REGION, load_event

KMS = "s3_bucket_default_encryption_kms"
PUBLIC = "s3_bucket_public_access_blocked"
MFA = "iam_user_console_mfa_enabled"
KMS_BUCKET, PLAIN_BUCKET = "aiw-models-kms", "aiw-datasets-plain"


# --- Injecting faults ------------------------------------------------------------------------


class _Raw:
    """The raw body botocore reads an AWSResponse from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclasses.dataclass
class Fault:
    """Answers one operation with ``responses`` (one per attempt, then ``then`` for every later
    attempt; ``then=None`` lets moto answer). Thread-safe: a scan calls from several threads."""

    responses: list[tuple[int, bytes]]
    then: tuple[int, bytes] | None = None
    attempts: list[str] = dataclasses.field(default_factory=list)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        header = request.headers.get("amz-sdk-request", b"")
        with self._lock:
            self.attempts.append(header.decode() if isinstance(header, bytes) else str(header))
            answer = self.responses.pop(0) if self.responses else self.then
        if answer is None:
            return None
        status, body = answer
        url = request.url
        # botocore calls every before-send handler and keeps the first response, so moto's
        # catch-all stub would still carry the request out (publish the message, ...). Point it at
        # an address moto does not serve: a refused call has no effect, in moto as in AWS.
        request.url = "http://fault.invalid/"
        return AWSResponse(url, status, {"Content-Type": "text/xml"}, _Raw(body))


def inject(client: Any, operation: str, *responses: tuple[int, bytes], then: Any = None) -> Fault:
    fault = Fault(list(responses), then)
    service = client.meta.service_model.service_id.hyphenize()
    # More specific event names run first, so this answers before moto's catch-all stub.
    client.meta.events.register(f"before-send.{service}.{operation}", fault)
    return fault


def s3_error(status: int, code: str) -> tuple[int, bytes]:
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected {code}</Message>"
    )
    return status, (body + "<RequestId>FAULT</RequestId></Error>").encode()


def query_error(status: int, code: str, kind: str = "Sender") -> tuple[int, bytes]:
    """An error in the query protocol's shape (IAM, SNS)."""
    body = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected {code}</Message>"
        "</Error><RequestId>FAULT</RequestId></ErrorResponse>"
    )
    return status, body.encode()


def _total_attempts() -> int:
    """Attempts per call that BOTO_CONFIG gives, initial one included. botocore's ``max_attempts``
    counts *retries* (it adds one); ``total_max_attempts`` counts every attempt."""
    retries = clients.BOTO_CONFIG.retries or {}
    return int(retries.get("total_max_attempts") or retries["max_attempts"] + 1)


MAX_ATTEMPTS = _total_attempts()


def attempts(n: int) -> list[str]:
    return [f"attempt={i}; max={MAX_ATTEMPTS}" for i in range(1, n + 1)]


@pytest.fixture(autouse=True)
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Keep botocore's backoff decisions (one per retry) but do not sleep them."""
    decided: list[float] = []
    original = ExponentialBackoff.delay_amount

    def no_sleep(self: ExponentialBackoff, context: Any) -> float:
        decided.append(original(self, context))
        return 0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", no_sleep)
    return decided


@pytest.fixture
def estate(aws: Any) -> Any:
    s3 = aws.client("s3")
    for name in (KMS_BUCKET, PLAIN_BUCKET):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=KMS_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    return aws


def bucket_target(bucket: str, *check_ids: str) -> Target:
    return Target(BUCKET, frozenset(check_ids), ResourceRef(BUCKET, bucket, REGION, ACCOUNT))


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    assert len({f.check_id for f in findings}) == len(findings), findings
    return {f.check_id: f for f in findings}


# --- Throttling, refusals, outages, timeouts --------------------------------------------------


@pytest.mark.parametrize(("bucket", "verdict"), [(KMS_BUCKET, Status.PASS), (PLAIN_BUCKET, Status.FAIL)])
def test_s3_slowdown_is_retried_and_the_verdict_is_unchanged(estate, backoffs, bucket, verdict):
    fault = inject(
        estate.client("s3"), "GetBucketEncryption", s3_error(503, "SlowDown"), s3_error(503, "SlowDown")
    )

    (finding,) = engine.evaluate([bucket_target(bucket, KMS)], estate)

    assert fault.attempts == attempts(3)  # two throttled, the third answered by moto
    assert len(backoffs) == 2
    assert finding.status is verdict
    assert "could not evaluate" not in finding.reason


def test_iam_throttling_is_retried_and_the_user_still_fails(aws, backoffs):
    iam = aws.client("iam")
    iam.create_user(UserName="carol")
    iam.create_login_profile(UserName="carol", Password="Correct-Horse-9-Battery")
    fault = inject(iam, "ListMFADevices", query_error(400, "Throttling"), query_error(400, "Throttling"))
    target = Target(USER, frozenset({MFA}), ResourceRef(USER, "carol", "global", ACCOUNT))

    (finding,) = engine.evaluate([target], aws)

    assert fault.attempts == attempts(3)
    assert len(backoffs) == 2
    assert finding.status is Status.FAIL
    assert finding.reason == "user carol can sign in to the console without MFA"


def test_access_denied_on_one_api_errors_that_check_alone_and_is_not_retried(estate, backoffs):
    fault = inject(estate.client("s3"), "GetPublicAccessBlock", then=s3_error(403, "AccessDenied"))

    findings = by_check(engine.evaluate([bucket_target(PLAIN_BUCKET, KMS, PUBLIC)], estate))

    assert fault.attempts == attempts(1)  # a refusal is final: no retry, no backoff
    assert backoffs == []
    assert findings[PUBLIC].status is Status.ERROR
    assert findings[PUBLIC].reason == "could not evaluate: AccessDenied: injected AccessDenied"
    assert findings[KMS].status is Status.FAIL
    assert findings[KMS].reason.startswith(f"bucket {PLAIN_BUCKET} has no default encryption")


def test_boto_config_allows_four_attempts_in_all():
    assert MAX_ATTEMPTS == 4


def test_persistent_5xx_gives_up_after_the_configured_attempts(estate, backoffs):
    fault = inject(estate.client("s3"), "GetBucketEncryption", then=s3_error(500, "InternalError"))

    findings = by_check(engine.evaluate([bucket_target(KMS_BUCKET, KMS, PUBLIC)], estate))

    assert fault.attempts == attempts(MAX_ATTEMPTS)
    assert len(backoffs) == MAX_ATTEMPTS - 1
    assert findings[KMS].status is Status.ERROR
    assert "InternalError" in findings[KMS].reason
    # The other check on the same bucket still reports.
    assert findings[PUBLIC].status is Status.FAIL


def test_read_timeout_is_an_error_not_a_hang(aws, monkeypatch):
    """A server that accepts and never answers: bounded attempts with a short read timeout."""
    import socket
    import time

    from botocore.config import Config

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setattr(
        clients, "BOTO_CONFIG", clients.BOTO_CONFIG.merge(Config(read_timeout=0.3, connect_timeout=0.3))
    )
    clients.reset_client_cache()
    slow = clients.Clients(REGION, endpoint_url=endpoint, account_id=ACCOUNT)
    started = time.monotonic()
    try:
        (finding,) = engine.evaluate([bucket_target(PLAIN_BUCKET, KMS)], slow)
    finally:
        listener.close()
        clients.reset_client_cache()
    assert finding.status is Status.ERROR
    assert "timeout" in finding.reason.lower() or "Read" in finding.reason
    assert time.monotonic() - started < 10


def test_bucket_deleted_mid_evaluation_is_not_applicable(estate):
    s3 = estate.client("s3")
    described: list[str] = []
    s3.meta.events.register("after-call.s3.GetBucketTagging", lambda **_: described.append("tags"))

    def delete_first(params: dict[str, Any], **_: Any) -> None:
        # The bucket disappears after describe() found it and before the check reads its encryption.
        if not described:
            raise AssertionError("the bucket was deleted before describe() ran")
        s3.delete_bucket(Bucket=params["Bucket"])

    s3.meta.events.register("before-parameter-build.s3.GetBucketEncryption", delete_first)

    (finding,) = engine.evaluate([bucket_target(PLAIN_BUCKET, KMS)], estate)

    # Preconditions fail the test outright (pytest.fail is not an AssertionError, so no xfail).
    if not described or PLAIN_BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        pytest.fail(f"scenario not set up: described={described}, finding={finding.reason}")
    # What happens today: Status.ERROR, "could not evaluate: NoSuchBucket: ...". The resource is
    # gone, which the engine reports everywhere else as NOT_APPLICABLE.
    assert finding.status is Status.NOT_APPLICABLE, finding.reason


# --- engine.handle: fail the invocation only when nothing could be evaluated ------------------


@pytest.fixture
def two_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the registry to two S3 checks, so the catalog's growth does not change the counts."""
    all_checks()
    monkeypatch.setattr("aiwarden.registry.REGISTRY", {k: REGISTRY[k] for k in (KMS, PUBLIC)})


@pytest.fixture
def alerts_inbox(aws: Any) -> tuple[str, Any]:
    """An SNS topic with an SQS subscriber: (topic ARN, a function returning delivered alerts)."""
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="aiwarden-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def delivered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    return topic, delivered


CREATE_PLAIN_BUCKET = "cloudtrail/s3_create_bucket.json"  # names aiw-datasets-plain


def test_handle_raises_when_every_evaluation_failed(estate, two_checks, backoffs):
    fault = inject(estate.client("s3"), "GetBucketTagging", then=s3_error(503, "ServiceUnavailable"))

    with pytest.raises(
        EvaluationFailed, match="every evaluation failed: could not evaluate: ServiceUnavailable"
    ):
        engine.handle(load_event(CREATE_PLAIN_BUCKET), Runtime(alert_topic_arn=None, region=REGION))

    # Two checks, one describe: the failure is remembered, so the bucket cost one retried call.
    assert fault.attempts == attempts(MAX_ATTEMPTS)


def test_handle_succeeds_and_alerts_when_only_some_checks_failed_to_evaluate(
    estate, two_checks, alerts_inbox
):
    topic, delivered = alerts_inbox
    inject(estate.client("s3"), "GetPublicAccessBlock", then=s3_error(403, "AccessDenied"))

    summary = engine.handle(load_event(CREATE_PLAIN_BUCKET), Runtime(alert_topic_arn=topic, region=REGION))

    assert summary["statuses"] == {"FAIL": 1, "ERROR": 1}
    assert summary["alerts_sent"] == 1
    (alert,) = delivered()
    assert alert["check_id"] == KMS
    assert alert["resource_id"] == PLAIN_BUCKET


def test_handle_does_not_fail_when_nothing_errored(aws, two_checks):
    # The bucket the event names is gone: NOT_APPLICABLE for both checks, which is an answer.
    summary = engine.handle(load_event(CREATE_PLAIN_BUCKET), Runtime(alert_topic_arn=None, region=REGION))

    assert summary["statuses"] == {"NOT_APPLICABLE": 2}


def test_handle_raises_when_sns_will_not_take_the_alert(estate, two_checks, alerts_inbox, backoffs):
    topic, delivered = alerts_inbox
    fault = inject(estate.client("sns"), "PublishBatch", then=query_error(500, "InternalError", "Receiver"))

    with pytest.raises(ClientError, match="InternalError"):
        engine.handle(load_event(CREATE_PLAIN_BUCKET), Runtime(alert_topic_arn=topic, region=REGION))

    assert fault.attempts == attempts(MAX_ATTEMPTS)
    assert delivered() == []


class LambdaTimeout(BaseException):
    """Lambda's timeout (or an out-of-memory kill): the process stops, no ``except`` runs."""


def test_an_attempt_killed_mid_run_does_not_swallow_the_retry(estate, two_checks, monkeypatch):
    from aiwarden.store import TABLE_ENV, StateStore, create_table

    create_table(estate.client("dynamodb"), "aiwarden-state")
    monkeypatch.setenv(TABLE_ENV, "aiwarden-state")
    event, runtime = load_event(CREATE_PLAIN_BUCKET), Runtime(alert_topic_arn=None, region=REGION)

    def killed(*_: Any, **__: Any) -> Any:
        raise LambdaTimeout

    with monkeypatch.context() as patched:
        patched.setattr(engine, "run", killed)
        with pytest.raises(LambdaTimeout):
            engine.handle(event, runtime)

    # Lambda's automatic retry of the same event, after the 300 s function timeout and Lambda's
    # retry delay: well inside the claim's 48 h TTL.
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(
        Runtime,
        "store",
        lambda self, c: dataclasses.replace(StateStore.from_env(c.client("dynamodb")), clock=lambda: later),
    )
    retry = engine.handle(event, runtime)

    assert not retry.get("duplicate"), retry
    assert retry["evaluated"] == 2


# --- aiwarden scan: partial results and exit 2 ------------------------------------------------


def test_scan_prints_partial_json_and_exits_2_when_a_check_errors(estate, capsys):
    inject(estate.client("s3"), "GetPublicAccessBlock", then=s3_error(403, "AccessDenied"))

    code = cli.main(["scan", "--format", "json", "--checks", f"{KMS},{PUBLIC}"])

    out, err = capsys.readouterr()
    rows = {(r["check_id"], r["resource_id"]): r for r in json.loads(out)}
    assert code == cli.EXIT_ERROR
    assert set(rows) == {(c, b) for c in (KMS, PUBLIC) for b in (KMS_BUCKET, PLAIN_BUCKET)}
    assert rows[(KMS, KMS_BUCKET)]["status"] == "PASS"
    assert rows[(KMS, PLAIN_BUCKET)]["status"] == "FAIL"
    for bucket in (KMS_BUCKET, PLAIN_BUCKET):
        assert rows[(PUBLIC, bucket)]["status"] == "ERROR"
        assert "AccessDenied" in rows[(PUBLIC, bucket)]["reason"]
    assert "Traceback" not in err
