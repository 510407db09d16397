"""AWS Config's recorded configuration as a bulk read in sweeps (aiwarden.resources.recorded): it
spares the per-bucket aspect reads it can answer, but never changes a verdict or what a fix does,
however stale the recorded item (moto, with items shaped as AWS sends them)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from aiwarden import engine
from aiwarden.clients import Clients
from aiwarden.model import SCAN_TRIGGER, Finding, ResourceRef, Status
from aiwarden.registry import all_checks, select
from aiwarden.remediation import Policy, Remediator
from aiwarden.resources import recorded
from aiwarden.resources import s3 as s3_resource
from aiwarden.resources.s3 import BUCKET, PUBLIC_ACCESS_FIELDS, recorded_aspects
from aiwarden.store import BATCH_RETRIES, StateStore, StoreError, resource_key
from aiwarden_dev import moto_config
from tests.unit.helpers import ACCOUNT, REGION, STATE_TABLE, Calls, operations

TABLE = STATE_TABLE
S3_TYPE = "AWS::S3::Bucket"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_CHECK = "s3_bucket_default_encryption_kms"
TLS_CHECK = "s3_bucket_tls_only"
VERSIONING_CHECK = "s3_bucket_versioning_enabled"
LOGGING_CHECK = "s3_bucket_access_logging_enabled"
ASPECT_READS = (
    "GetBucketEncryption",
    "GetBucketVersioning",
    "GetBucketLogging",
    "GetBucketPolicy",
    "GetPublicAccessBlock",
)
BUCKETS = ("bucket-1", "bucket-2", "bucket-3")
ALL_ON = dict.fromkeys(PUBLIC_ACCESS_FIELDS, True)
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
SSE_KMS = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}}]
}
# Supplementary configuration values as BatchGetResourceConfig sends them (after json.loads of the
# outer JSON string, which the stale-item patch applies with json.dumps).
RECORDED_KMS = {
    "rules": [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyID": KMS_KEY},
            "bucketKeyEnabled": True,
        }
    ]
}
RECORDED_SSE_S3 = {
    "rules": [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256", "kmsMasterKeyID": None},
            "bucketKeyEnabled": False,
        }
    ]
}


def tls_policy(bucket: str) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def public_read_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        recorded.ENV,
        "AIWARDEN_DISABLED_CHECKS",
        "AIWARDEN_CLASSIFICATION_TAG",
        "AIWARDEN_SENSITIVE_CLASSIFICATIONS",
        "AIWARDEN_REMEDIATION_KMS_KEY_ARN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def shaped() -> Iterator[None]:
    """moto's bucket items as AWS sends them (encryption and versioning included, JSON strings)."""
    with moto_config.aws_shaped_bucket_items():
        yield


def state_clients(store: StateStore) -> Clients:
    """What a sweep worker in Lambda has: clients with the state table."""
    return Clients(REGION, account_id=ACCOUNT, state=store)


def ref(bucket: str) -> ResourceRef:
    return ResourceRef(BUCKET, bucket, REGION, ACCOUNT)


def bucket_checks() -> list[Any]:
    return [c for c in all_checks() if c.resource is BUCKET]


def judged(clients: Clients, bucket: str) -> bool:
    """Some verdict on the bucket still rests on its recorded configuration (not re-read live)."""
    return any(clients.judged_from_record(c.id, ref(bucket)) for c in bucket_checks())


def recorder(
    clients: Clients, group: dict[str, Any] | None = None, start: bool = True, name: str = "default"
) -> None:
    config = clients.client("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": name,
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-config",
            "recordingGroup": group or {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-delivery"})
    if start:
        config.start_configuration_recorder(ConfigurationRecorderName=name)


def estate(clients: Clients) -> None:
    """bucket-1 does everything right; bucket-2 has SSE-S3, suspended versioning and a public
    policy; bucket-3 (bucket-1's log target) has no default encryption, versioning or policy."""
    s3 = clients.client("s3")
    for name in BUCKETS:
        s3.create_bucket(Bucket=name)
    s3.put_bucket_acl(Bucket="bucket-3", ACL="log-delivery-write")
    s3.put_bucket_encryption(
        Bucket="bucket-1",
        ServerSideEncryptionConfiguration={
            "Rules": [{**SSE_KMS["Rules"][0], "BucketKeyEnabled": True}],
        },
    )
    s3.put_bucket_versioning(Bucket="bucket-1", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(
        Bucket="bucket-1",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "bucket-3", "TargetPrefix": "bucket-1/"}},
    )
    s3.put_public_access_block(Bucket="bucket-1", PublicAccessBlockConfiguration=ALL_ON)
    s3.put_bucket_policy(Bucket="bucket-1", Policy=json.dumps(tls_policy("bucket-1")))
    s3.put_bucket_encryption(Bucket="bucket-2", ServerSideEncryptionConfiguration=SSE_S3)
    s3.put_bucket_versioning(Bucket="bucket-2", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_policy(Bucket="bucket-2", Policy=json.dumps(public_read_policy("bucket-2")))


def verdicts(findings: list[Finding]) -> list[tuple[str, str, str, str]]:
    return sorted((f.check_id, f.ref.resource_id, f.status.value, f.reason) for f in findings)


def verdict(findings: list[Finding], check_id: str, bucket: str) -> Finding:
    [found] = [f for f in findings if f.check_id == check_id and f.ref.resource_id == bucket]
    return found


def aspect_reads(made: list[tuple[str, dict[str, Any]]]) -> set[tuple[str, str]]:
    """(operation, bucket) of every per-bucket aspect read (not the account's Block Public Access)."""
    return {(name, params["Bucket"]) for name, params in made if name in ASPECT_READS and "Bucket" in params}


def every_aspect_read(buckets: tuple[str, ...] = BUCKETS) -> set[tuple[str, str]]:
    return {(name, bucket) for name in ASPECT_READS for bucket in buckets}


def stale_items(monkeypatch: pytest.MonkeyPatch, bucket: str, **values: Any) -> None:
    """Make ``bucket``'s configuration item say ``values`` (supplementary configuration, sent as
    JSON strings) whatever the bucket is now: an item that lags the resource."""
    current = moto_config.aws_shaped

    def lagging(item: dict[str, Any], fake: Any) -> dict[str, Any]:
        item = current(item, fake)
        if fake.name == bucket:
            item["supplementaryConfiguration"].update({k: json.dumps(v) for k, v in values.items()})
        return item

    monkeypatch.setattr(moto_config, "aws_shaped", lagging)


def change_items(monkeypatch: pytest.MonkeyPatch, bucket: str, **fields: Any) -> None:
    """Set top-level fields (configurationItemStatus, recordingFrequency) of ``bucket``'s item."""
    current = moto_config.aws_shaped

    def changed(item: dict[str, Any], fake: Any) -> dict[str, Any]:
        item = current(item, fake)
        if fake.name == bucket:
            item.update(fields)
        return item

    monkeypatch.setattr(moto_config, "aws_shaped", changed)


def recorded_view(store: StateStore, bucket: str) -> dict[str, Any]:
    """What the recorded configuration says of ``bucket`` now (proves a stale patch took effect)."""
    items = recorded.supplementary(state_clients(store), [ref(bucket)])
    return recorded_aspects(items[ref(bucket)])


def rewrite(clients: Clients, operation: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit moto's parsed answer to a Config describe call (what moto does not model, such as
    recording modes): the Clients share the process-wide client, so every Clients sees it."""

    def hook(parsed: dict[str, Any], **_: Any) -> None:
        change(parsed)

    clients.client("config").meta.events.register(f"after-call.config-service.{operation}", hook)


def recording_mode(clients: Clients, mode: dict[str, Any]) -> None:
    def change(parsed: dict[str, Any]) -> None:
        for found in parsed["ConfigurationRecorders"]:
            found["recordingMode"] = mode

    rewrite(clients, "DescribeConfigurationRecorders", change)


# --- 1. the steady state: same findings, far fewer reads ---------------------------------------


def test_steady_state_sweep_gives_the_live_findings_without_the_aspect_reads(aws, calls, store, shaped):
    estate(aws)
    recorder(aws)
    checks = bucket_checks()
    calls.take()
    live = engine.scan(aws, checks)
    live_made = calls.take()
    assert operations(live_made)["BatchGetResourceConfig"] == 0
    assert aspect_reads(live_made) == every_aspect_read()
    assert {f.status for f in live} == {Status.PASS, Status.FAIL}

    store.record_many(engine.scan(state_clients(store), checks))  # the first sweep's verdicts
    calls.take()
    clients = state_clients(store)
    second = engine.scan(clients, checks)
    made = calls.take()

    assert verdicts(second) == verdicts(live)
    assert operations(made)["BatchGetResourceConfig"] == 1
    # The items answer encryption (where a bucket has one), versioning, logging, policy and Block
    # Public Access (where set); nothing was news, so nothing was read again live.
    assert aspect_reads(made) == {
        ("GetBucketEncryption", "bucket-3"),
        ("GetPublicAccessBlock", "bucket-2"),
        ("GetPublicAccessBlock", "bucket-3"),
    }
    assert clients.recorded_refs() == {ref(b) for b in BUCKETS}


def test_batch_get_resource_config_answers_100_buckets_per_call(aws, calls, store, shaped):
    names = [f"bucket-{i:03d}" for i in range(101)]
    s3 = aws.client("s3")
    for name in names:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    recorder(aws)
    calls.take()
    findings = engine.scan(state_clients(store), select([VERSIONING_CHECK]))
    made = calls.take()

    assert sorted(f.ref.resource_id for f in findings if f.status is Status.PASS) == names
    batches = [params["resourceKeys"] for name, params in made if name == "BatchGetResourceConfig"]
    assert [len(keys) for keys in batches] == [100, 1]
    assert sorted(k["resourceId"] for keys in batches for k in keys) == names
    assert {k["resourceType"] for keys in batches for k in keys} == {S3_TYPE}
    assert operations(made)["GetBucketVersioning"] == 0


# --- 2, 3. a stale item can neither resolve nor accuse ----------------------------------------


def test_a_stale_item_cannot_resolve_a_stored_failure(aws, calls, store, shaped, monkeypatch):
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket="bucket-1", ServerSideEncryptionConfiguration=SSE_S3)
    s3.put_bucket_encryption(Bucket="bucket-2", ServerSideEncryptionConfiguration=SSE_KMS)
    recorder(aws)
    checks = select([KMS_CHECK])
    live = engine.scan(aws, checks)
    assert verdict(live, KMS_CHECK, "bucket-1").status is Status.FAIL
    store.record_many(live)
    stale_items(monkeypatch, "bucket-1", ServerSideEncryptionConfiguration=RECORDED_KMS)
    assert s3_resource.kms_algorithm(recorded_view(store, "bucket-1")["encryption"]) == "aws:kms"

    calls.take()
    clients = state_clients(store)
    found = engine.scan(clients, checks)
    made = calls.take()

    assert verdicts(found) == verdicts(live)
    failing = verdict(found, KMS_CHECK, "bucket-1")
    assert failing.status is Status.FAIL
    assert failing.reason == "bucket bucket-1 has default encryption AES256, not SSE-KMS"
    assert ("GetBucketEncryption", "bucket-1") in aspect_reads(made)
    # bucket-2's current item confirmed its stored verdict (nothing stored for a PASS): no re-read.
    assert ("GetBucketEncryption", "bucket-2") not in aspect_reads(made)
    # Judged again live, so it no longer counts as resting on the record.
    assert not clients.judged_from_record(KMS_CHECK, ref("bucket-1"))
    assert ref("bucket-1") not in clients.recorded_refs()


@pytest.mark.parametrize("stored", [None, Status.PASS], ids=["nothing-stored", "stored-pass"])
def test_a_stale_item_cannot_accuse(aws, calls, store, shaped, monkeypatch, stored):
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket="bucket-1", Policy=json.dumps(tls_policy("bucket-1")))
    recorder(aws)
    checks = select([TLS_CHECK])
    live = engine.scan(aws, checks)
    passing = verdict(live, TLS_CHECK, "bucket-1")
    assert passing.status is Status.PASS
    assert verdict(live, TLS_CHECK, "bucket-2").status is Status.FAIL
    store.record_many(live)  # bucket-2's FAIL; bucket-1's PASS stores nothing
    if stored is Status.PASS:
        store.record(replace(passing, status=Status.FAIL, reason="it failed once"))
        store.record(passing)
    assert store.statuses([(TLS_CHECK, ref("bucket-1"))]) == (
        {} if stored is None else {(TLS_CHECK, resource_key(ref("bucket-1"))): Status.PASS}
    )
    stale_items(monkeypatch, "bucket-1", BucketPolicy={"policyText": None})
    assert recorded_view(store, "bucket-1")["policy"] is None

    calls.take()
    found = engine.scan(state_clients(store), checks)
    made = calls.take()

    assert verdicts(found) == verdicts(live)
    assert verdict(found, TLS_CHECK, "bucket-1").reason == passing.reason
    assert ("GetBucketPolicy", "bucket-1") in aspect_reads(made)
    # bucket-2's FAIL is what the table remembers: confirmed by its item, not read again.
    assert ("GetBucketPolicy", "bucket-2") not in aspect_reads(made)


def test_an_error_on_a_recorded_resource_is_judged_again_live(aws, calls, store, shaped, monkeypatch):
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    recorder(aws)
    checks = select([VERSIONING_CHECK])
    live = engine.scan(aws, checks)
    read = s3_resource.bucket_versioning
    failed: list[str] = []

    def once_broken(clients: Clients, bucket: str) -> str:
        status = read(clients, bucket)  # the recorded answer, read: the ERROR rests on the record
        if bucket == "bucket-1" and not failed:
            failed.append(bucket)
            raise RuntimeError("a transient fault")
        return status

    monkeypatch.setattr(s3_resource, "bucket_versioning", once_broken)
    calls.take()
    found = engine.scan(state_clients(store), checks)
    made = calls.take()

    assert failed == ["bucket-1"]
    assert verdicts(found) == verdicts(live)
    assert {f.status for f in found} == {Status.PASS}
    assert aspect_reads(made) == {("GetBucketVersioning", "bucket-1")}


# --- 4. gating: where the recorded configuration is not used ----------------------------------

EXCLUDING_S3 = {
    "allSupported": False,
    "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
    "exclusionByResourceTypes": {"resourceTypes": [S3_TYPE]},
}
EXCLUDING_EC2 = {**EXCLUDING_S3, "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Instance"]}}
INCLUDING_EC2 = {
    "allSupported": False,
    "includeGlobalResourceTypes": False,
    "resourceTypes": ["AWS::EC2::Instance"],
    "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
}
INCLUDING_S3 = {**INCLUDING_EC2, "resourceTypes": ["AWS::EC2::Instance", S3_TYPE]}


def _override(resource_type: str, frequency: str, default: str = "CONTINUOUS") -> dict[str, Any]:
    return {
        "recordingFrequency": default,
        "recordingModeOverrides": [
            {"description": "override", "resourceTypes": [resource_type], "recordingFrequency": frequency}
        ],
    }


def _stopped(aws: Clients) -> None:
    recorder(aws)
    aws.client("config").stop_configuration_recorder(ConfigurationRecorderName="default")


def _last_status_failure(aws: Clients) -> None:
    recorder(aws)

    def change(parsed: dict[str, Any]) -> None:
        for status in parsed["ConfigurationRecordersStatus"]:
            status["lastStatus"] = "Failure"

    rewrite(aws, "DescribeConfigurationRecorderStatus", change)


def _service_linked_only(aws: Clients) -> None:
    recorder(aws)

    def change(parsed: dict[str, Any]) -> None:
        for found in parsed["ConfigurationRecorders"]:
            found["servicePrincipal"] = "config-conforms.amazonaws.com"

    rewrite(aws, "DescribeConfigurationRecorders", change)


def _recording(
    group: dict[str, Any] | None = None, mode: dict[str, Any] | None = None
) -> Callable[[Clients], None]:
    def setup(aws: Clients) -> None:
        recorder(aws, group)
        if mode is not None:
            recording_mode(aws, mode)

    return setup


NOT_USED: dict[str, Callable[[Clients], None]] = {
    "no-recorder": lambda aws: None,
    "recorder-never-started": lambda aws: recorder(aws, start=False),
    "recorder-stopped": _stopped,
    "last-status-failure": _last_status_failure,
    "only-a-service-linked-recorder": _service_linked_only,
    "s3-recorded-daily-by-override": _recording(mode=_override(S3_TYPE, "DAILY")),
    "everything-recorded-daily": _recording(mode={"recordingFrequency": "DAILY"}),
    "s3-excluded": _recording(EXCLUDING_S3),
    "s3-not-included": _recording(INCLUDING_EC2),
}
USED: dict[str, Callable[[Clients], None]] = {
    "default-recorder-without-recording-mode": _recording(),
    "continuous": _recording(mode={"recordingFrequency": "CONTINUOUS"}),
    "another-type-recorded-daily": _recording(mode=_override("AWS::EC2::Instance", "DAILY")),
    "daily-except-s3": _recording(mode=_override(S3_TYPE, "CONTINUOUS", default="DAILY")),
    "s3-included": _recording(INCLUDING_S3),
    "another-type-excluded": _recording(EXCLUDING_EC2),
}


def _sweep_against_live(aws: Clients, calls: Calls, clients: Clients) -> list[tuple[str, dict[str, Any]]]:
    checks = bucket_checks()
    calls.take()
    live = engine.scan(aws, checks)
    calls.take()
    found = engine.scan(clients, checks)
    made = calls.take()
    assert verdicts(found) == verdicts(live)
    return made


@pytest.mark.parametrize("setup", NOT_USED.values(), ids=NOT_USED.keys())
def test_recorder_not_recording_s3_continuously_means_live_reads(aws, calls, store, shaped, setup):
    estate(aws)
    setup(aws)
    clients = state_clients(store)
    made = _sweep_against_live(aws, calls, clients)
    assert operations(made)["BatchGetResourceConfig"] == 0
    assert aspect_reads(made) == every_aspect_read()
    assert not any(judged(clients, b) for b in BUCKETS)


@pytest.mark.parametrize("setup", USED.values(), ids=USED.keys())
def test_recorder_recording_s3_continuously_is_used(aws, calls, store, shaped, setup):
    """The counterpart of the test above: the same sweep does read the recorded configuration."""
    estate(aws)
    setup(aws)
    clients = state_clients(store)
    made = _sweep_against_live(aws, calls, clients)
    assert operations(made)["BatchGetResourceConfig"] == 1
    # Nothing is stored, so only the passing verdicts were no news and still rest on the record.
    assert any(judged(clients, b) for b in BUCKETS)


def test_without_a_state_table_everything_is_read_live(aws, calls, shaped):
    estate(aws)
    recorder(aws)
    assert not recorded.enabled(aws)
    made = _sweep_against_live(aws, calls, Clients(REGION, account_id=ACCOUNT))
    assert operations(made)["BatchGetResourceConfig"] == 0
    assert operations(made)["DescribeConfigurationRecorders"] == 0
    assert aspect_reads(made) == every_aspect_read()


@pytest.mark.parametrize("value", ["off", " Off "])
def test_config_reads_can_be_turned_off(aws, calls, store, shaped, monkeypatch, value):
    estate(aws)
    recorder(aws)
    monkeypatch.setenv(recorded.ENV, value)
    clients = state_clients(store)
    assert not recorded.enabled(clients)
    made = _sweep_against_live(aws, calls, clients)
    assert operations(made)["BatchGetResourceConfig"] == 0
    assert aspect_reads(made) == every_aspect_read()


@pytest.mark.parametrize(
    "fields",
    [
        {"configurationItemStatus": "ResourceDeleted"},
        {"configurationItemStatus": "ResourceDeletedNotRecorded"},
        {"configurationItemStatus": "ResourceNotRecorded"},
        {"recordingFrequency": "DAILY"},
    ],
    ids=lambda fields: next(iter(fields.values())),
)
def test_items_not_current_or_not_continuous_are_not_used(aws, store, shaped, monkeypatch, fields):
    estate(aws)
    recorder(aws)
    change_items(monkeypatch, "bucket-2", **fields)
    items = recorded.supplementary(state_clients(store), [ref(b) for b in BUCKETS])
    assert set(items) == {ref("bucket-1"), ref("bucket-3")}


def test_items_with_recording_frequency_absent_are_used(aws, store, shaped, monkeypatch):
    estate(aws)
    recorder(aws)
    monkeypatch.setattr(
        moto_config,
        "aws_shaped",
        lambda item, fake, shaped=moto_config.aws_shaped: {
            k: v for k, v in shaped(item, fake).items() if k != "recordingFrequency"
        },
    )
    items = recorded.supplementary(state_clients(store), [ref(b) for b in BUCKETS])
    assert set(items) == {ref(b) for b in BUCKETS}


# --- 5. a refused read -------------------------------------------------------------------------


def test_a_refused_batch_get_falls_back_to_live_reads(aws, calls, store, shaped, monkeypatch, caplog):
    estate(aws)
    recorder(aws)
    refused: list[dict[str, Any]] = []

    def refuse(**kwargs: Any) -> Any:
        refused.append(kwargs)
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "not authorized to perform: config:BatchGetResourceConfig",
                }
            },
            "BatchGetResourceConfig",
        )

    monkeypatch.setattr(aws.client("config"), "batch_get_resource_config", refuse)
    clients = state_clients(store)
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        made = _sweep_against_live(aws, calls, clients)

    assert len(refused) == 1
    assert aspect_reads(made) == every_aspect_read()
    assert not clients.recorded_refs()
    warnings = [r for r in caplog.records if r.name == recorded.__name__ and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()
    assert "AccessDeniedException" in warnings[0].getMessage()


# --- 6. the translation of AWS's items into the live reads' shapes ------------------------------

NOW = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
RECORDER = {
    "name": "default",
    "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-config",
    "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": False, "resourceTypes": []},
    "recordingMode": {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []},
}
RECORDER_STATUS = {
    "name": "default",
    "lastStartTime": NOW,
    "recording": True,
    "lastStatus": "SUCCESS",
    "lastStatusChangeTime": NOW,
}
# Exactly what BatchGetResourceConfig sends: every supplementary value a JSON string (the ACL twice).
KMS_BUCKET_ITEMS = {
    "ServerSideEncryptionConfiguration": (
        '{"rules":[{"applyServerSideEncryptionByDefault":{"sseAlgorithm":"aws:kms",'
        f'"kmsMasterKeyID":"{KMS_KEY}"}},"bucketKeyEnabled":true}}]}}'
    ),
    "BucketVersioningConfiguration": '{"status":"Enabled","isMfaDeleteEnabled":null}',
    "BucketLoggingConfiguration": '{"destinationBucketName":"plain-bucket","logFilePrefix":"kms-bucket/"}',
    "BucketPolicy": json.dumps({"policyText": json.dumps(tls_policy("kms-bucket"))}),
    "PublicAccessBlockConfiguration": (
        '{"blockPublicAcls":true,"ignorePublicAcls":true,"blockPublicPolicy":true,"restrictPublicBuckets":true}'
    ),
    "AccessControlList": json.dumps(json.dumps({"grantList": [], "owner": {"id": "abc"}})),
    "IsRequesterPaysEnabled": "false",
    "BucketAccelerateConfiguration": '{"status":null}',
}
PLAIN_BUCKET_ITEMS = {
    "ServerSideEncryptionConfiguration": (
        '{"rules":[{"applyServerSideEncryptionByDefault":{"sseAlgorithm":"AES256","kmsMasterKeyID":null},'
        '"bucketKeyEnabled":false}]}'
    ),
    "BucketVersioningConfiguration": '{"status":"Off","isMfaDeleteEnabled":null}',
    "BucketLoggingConfiguration": '{"destinationBucketName":null,"logFilePrefix":null}',
    "BucketPolicy": '{"policyText":null}',
}
SUSPENDED_BUCKET_ITEMS = {
    "BucketVersioningConfiguration": '{"status":"Suspended","isMfaDeleteEnabled":false}',
    "PublicAccessBlockConfiguration": (
        '{"blockPublicAcls":true,"ignorePublicAcls":false,"blockPublicPolicy":true,"restrictPublicBuckets":false}'
    ),
}
MALFORMED_BUCKET_ITEMS = {
    "ServerSideEncryptionConfiguration": '{"rules":{"applyServerSideEncryptionByDefault":{}}}',
    "BucketVersioningConfiguration": '{"status":"Sometimes"}',
    "BucketLoggingConfiguration": "{not json",
    "BucketPolicy": '{"policyText":"{not json"}',
    "PublicAccessBlockConfiguration": (  # no restrictPublicBuckets
        '{"blockPublicAcls":true,"ignorePublicAcls":true,"blockPublicPolicy":true}'
    ),
}


def config_item(
    bucket: str,
    supplementary: dict[str, str],
    status: str = "OK",
    frequency: str = "CONTINUOUS",
    resource_type: str = S3_TYPE,
) -> dict[str, Any]:
    return {
        "version": "1.3",
        "accountId": ACCOUNT,
        "configurationItemCaptureTime": NOW,
        "configurationItemStatus": status,
        "configurationStateId": "1764061200000",
        "arn": f"arn:aws:s3:::{bucket}",
        "resourceType": resource_type,
        "resourceId": bucket,
        "resourceName": bucket,
        "awsRegion": REGION,
        "availabilityZone": "Regional",
        "resourceCreationTime": NOW,
        "configuration": json.dumps(
            {"name": bucket, "owner": {"id": "abc"}, "creationDate": NOW.isoformat()}
        ),
        "supplementaryConfiguration": supplementary,
        "recordingFrequency": frequency,
        "configurationItemDeliveryTime": NOW,
    }


def live_aspects(bucket: str) -> dict[str, Any]:
    """What the live reads return for ``bucket``, on clients with nothing cached."""
    live = Clients(REGION, account_id=ACCOUNT)
    out = {
        "encryption": s3_resource.default_encryption(live, bucket),
        "versioning": s3_resource.bucket_versioning(live, bucket),
        "logging": s3_resource.bucket_logging(live, bucket),
        "policy": s3_resource.bucket_policy(live, bucket),
    }
    block = s3_resource.bucket_public_access_block(live, bucket)
    return {**out, "pab": block} if block else out


def test_supplementary_parses_aws_json_strings_into_the_live_reads_shapes(aws):
    s3 = aws.client("s3")
    for name in ("kms-bucket", "plain-bucket", "suspended-bucket"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_acl(Bucket="plain-bucket", ACL="log-delivery-write")
    s3.put_bucket_encryption(
        Bucket="kms-bucket",
        ServerSideEncryptionConfiguration={"Rules": [{**SSE_KMS["Rules"][0], "BucketKeyEnabled": True}]},
    )
    s3.put_bucket_versioning(Bucket="kms-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(
        Bucket="kms-bucket",
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "plain-bucket", "TargetPrefix": "kms-bucket/"}
        },
    )
    s3.put_bucket_policy(Bucket="kms-bucket", Policy=json.dumps(tls_policy("kms-bucket")))
    s3.put_public_access_block(Bucket="kms-bucket", PublicAccessBlockConfiguration=ALL_ON)
    s3.put_bucket_encryption(Bucket="plain-bucket", ServerSideEncryptionConfiguration=SSE_S3)
    s3.put_bucket_versioning(Bucket="suspended-bucket", VersioningConfiguration={"Status": "Suspended"})
    s3.put_public_access_block(
        Bucket="suspended-bucket",
        PublicAccessBlockConfiguration={**ALL_ON, "IgnorePublicAcls": False, "RestrictPublicBuckets": False},
    )
    names = [
        "daily-bucket",
        "deleted-bucket",
        "kms-bucket",
        "malformed-bucket",
        "missing-bucket",
        "plain-bucket",
        "suspended-bucket",
    ]
    items = [
        config_item("kms-bucket", KMS_BUCKET_ITEMS),
        config_item("plain-bucket", PLAIN_BUCKET_ITEMS, status="ResourceDiscovered"),
        config_item("suspended-bucket", SUSPENDED_BUCKET_ITEMS),
        config_item("malformed-bucket", MALFORMED_BUCKET_ITEMS),
        config_item("deleted-bucket", PLAIN_BUCKET_ITEMS, status="ResourceDeleted"),
        config_item("daily-bucket", PLAIN_BUCKET_ITEMS, frequency="DAILY"),
    ]
    config = aws.client("config")
    with Stubber(config) as stub:
        stub.add_response("describe_configuration_recorders", {"ConfigurationRecorders": [RECORDER]}, {})
        stub.add_response(
            "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": [RECORDER_STATUS]}, {}
        )
        stub.add_response(
            "batch_get_resource_config",
            {"baseConfigurationItems": items},
            {"resourceKeys": [{"resourceType": S3_TYPE, "resourceId": name} for name in names]},
        )
        got = recorded.supplementary(aws, [ref(name) for name in reversed(names)])
        stub.assert_no_pending_responses()

    assert set(got) == {
        ref(n) for n in ("kms-bucket", "plain-bucket", "suspended-bucket", "malformed-bucket")
    }
    kms = got[ref("kms-bucket")]
    assert kms["AccessControlList"] == {"grantList": [], "owner": {"id": "abc"}}  # encoded twice
    assert kms["IsRequesterPaysEnabled"] is False
    assert kms["BucketPolicy"] == {"policyText": json.dumps(tls_policy("kms-bucket"))}

    assert recorded_aspects(kms) == {
        "encryption": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY},
                "BucketKeyEnabled": True,
            }
        ],
        "versioning": "Enabled",
        "logging": {"TargetBucket": "plain-bucket", "TargetPrefix": "kms-bucket/"},
        "policy": tls_policy("kms-bucket"),
        "pab": ALL_ON,
    }
    assert recorded_aspects(got[ref("plain-bucket")]) == {
        "encryption": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
        ],
        "versioning": "never enabled",
        "logging": None,
        "policy": None,
    }
    assert recorded_aspects(got[ref("suspended-bucket")]) == {
        "versioning": "Suspended",
        "pab": {**ALL_ON, "IgnorePublicAcls": False, "RestrictPublicBuckets": False},
    }
    # Exactly what the live reads of the same buckets return (what an absent item leaves out aside).
    for name in ("kms-bucket", "plain-bucket", "suspended-bucket"):
        recorded_now = recorded_aspects(got[ref(name)])
        live = live_aspects(name)
        assert recorded_now == {aspect: live[aspect] for aspect in recorded_now}, name
    assert recorded_aspects(got[ref("malformed-bucket")]) == {}


@pytest.mark.parametrize(
    "items",
    [
        {"ServerSideEncryptionConfiguration": {"rules": {"applyServerSideEncryptionByDefault": {}}}},
        {"ServerSideEncryptionConfiguration": {"rules": [{"bucketKeyEnabled": True}]}},
        {"ServerSideEncryptionConfiguration": {"rules": [{"applyServerSideEncryptionByDefault": {}}]}},
        {"ServerSideEncryptionConfiguration": {}},
        {"ServerSideEncryptionConfiguration": None},
        {"BucketVersioningConfiguration": {"status": "Sometimes"}},
        {"BucketVersioningConfiguration": {"status": None}},
        {"BucketVersioningConfiguration": {}},
        {"BucketLoggingConfiguration": {"logFilePrefix": "x/"}},
        {"BucketLoggingConfiguration": None},
        {"BucketPolicy": {"policyText": "{not json"}},
        {"BucketPolicy": {"policyText": '["a list"]'}},
        {"BucketPolicy": {"policyText": 42}},
        {"BucketPolicy": {}},
        {"BucketPolicy": None},
        {"PublicAccessBlockConfiguration": {"blockPublicAcls": True, "ignorePublicAcls": True}},
        {
            "PublicAccessBlockConfiguration": dict.fromkeys(
                ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"), "true"
            )
        },
        {"PublicAccessBlockConfiguration": None},
        {"SomethingElse": {"status": "Enabled"}},
    ],
    ids=lambda items: f"{next(iter(items))}={next(iter(items.values()))!r}"[:60],
)
def test_recorded_aspects_leave_out_what_they_cannot_read(items):
    assert recorded_aspects(items) == {}


def test_recorded_aspects_keep_the_readable_aspects_of_a_partly_malformed_item():
    items = {
        "BucketVersioningConfiguration": {"status": "Enabled"},
        "BucketPolicy": {"policyText": "{not json"},
        "PublicAccessBlockConfiguration": {"blockPublicAcls": True},
    }
    assert recorded_aspects(items) == {"versioning": "Enabled"}


# --- 7. StateStore.statuses ---------------------------------------------------------------------


def failure(bucket_ref: ResourceRef) -> Finding:
    check = select([TLS_CHECK])[0]
    return Finding(
        check_id=check.id,
        title=check.title,
        severity=check.severity,
        status=Status.FAIL,
        ref=bucket_ref,
        reason=f"bucket {bucket_ref.resource_id} accepts plain HTTP",
    )


def test_statuses_read_100_keys_per_call_and_leave_out_missing_items(aws, calls, store):
    refs = [ref(f"bucket-{i:03d}") for i in range(250)]
    expected: dict[tuple[str, str], Status] = {}
    base = failure(refs[0])
    stored: list[Finding] = []
    for i, r in enumerate(refs):
        if i % 5 == 0:
            stored.append(replace(base, ref=r))
            expected[(TLS_CHECK, resource_key(r))] = Status.FAIL
        elif i % 5 == 1:
            stored += [replace(base, ref=r), replace(base, ref=r, status=Status.PASS)]
            expected[(TLS_CHECK, resource_key(r))] = Status.PASS
        elif i % 5 == 2:
            stored += [replace(base, ref=r), replace(base, ref=r, status=Status.EXEMPT)]
            expected[(TLS_CHECK, resource_key(r))] = Status.EXEMPT
    store.record_many(stored)
    calls.take()

    keys = [(TLS_CHECK, r) for r in refs]
    got = store.statuses([*keys, *keys[:10]])  # a key asked twice is read once
    made = calls.take()

    assert got == expected
    assert len(got) == 150
    requests = [params["RequestItems"][TABLE] for name, params in made if name == "BatchGetItem"]
    assert operations(made) == {"BatchGetItem": 3}
    assert sorted(len(r["Keys"]) for r in requests) == [50, 100, 100]
    assert all(r["ConsistentRead"] for r in requests)
    assert store.statuses([]) == {}
    assert operations(calls.take()) == {}


class Throttled:
    """The DynamoDB client, but BatchGetItem leaves half the keys unprocessed on its first
    ``rounds`` calls (every key, on every call, when ``rounds`` is None), as a throttled table does."""

    def __init__(self, client: Any, rounds: int | None) -> None:
        self._client = client
        self.rounds = rounds
        self.sent: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, request)] = RequestItems.items()
        keys = request["Keys"]
        self.sent.append(len(keys))
        if self.rounds is not None and len(self.sent) > self.rounds:
            return dict(self._client.batch_get_item(RequestItems=RequestItems))
        keep = keys[: len(keys) // 2] if self.rounds is not None else []
        leave = keys[len(keep) :]
        response: dict[str, Any] = {"Responses": {table: []}}
        if keep:
            response = dict(self._client.batch_get_item(RequestItems={table: {**request, "Keys": keep}}))
        response["UnprocessedKeys"] = {table: {**request, "Keys": leave}}
        return response


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The store's backoff, recorded instead of slept."""
    import aiwarden.store as store_module

    slept: list[float] = []
    monkeypatch.setattr(store_module, "time", SimpleNamespace(sleep=slept.append))
    return slept


def test_statuses_retry_unprocessed_keys(aws, store, sleeps):
    refs = [ref(f"bucket-{i}") for i in range(10)]
    store.record_many(failure(r) for r in refs)
    throttled = Throttled(aws.client("dynamodb"), rounds=1)
    got = StateStore(throttled, TABLE).statuses((TLS_CHECK, r) for r in refs)
    assert got == {(TLS_CHECK, resource_key(r)): Status.FAIL for r in refs}
    assert throttled.sent == [10, 5]
    assert sleeps == [0.05]


def test_statuses_raise_store_error_when_keys_stay_unprocessed(aws, store, sleeps):
    throttled = Throttled(aws.client("dynamodb"), rounds=None)
    with pytest.raises(StoreError, match="3 state key"):
        StateStore(throttled, TABLE).statuses((TLS_CHECK, ref(f"bucket-{i}")) for i in range(3))
    assert throttled.sent == [3] * (BATCH_RETRIES + 1)
    assert sleeps == [0.05 * 2**attempt for attempt in range(BATCH_RETRIES)]


def test_statuses_raise_store_error_when_dynamodb_refuses(aws, calls):
    with pytest.raises(StoreError, match="batch_get_item: ResourceNotFoundException"):
        StateStore(aws.client("dynamodb"), "no-such-table").statuses([(TLS_CHECK, ref("bucket-1"))])


# --- 8. unreadable stored verdicts ---------------------------------------------------------------


def test_unreadable_stored_verdicts_mean_every_recorded_verdict_is_judged_live(
    aws, calls, store, shaped, monkeypatch, caplog
):
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket="bucket-1", ServerSideEncryptionConfiguration=SSE_S3)
    s3.put_bucket_encryption(Bucket="bucket-2", ServerSideEncryptionConfiguration=SSE_KMS)
    s3.put_bucket_versioning(Bucket="bucket-2", VersioningConfiguration={"Status": "Enabled"})
    recorder(aws)
    checks = select([KMS_CHECK, VERSIONING_CHECK, LOGGING_CHECK, TLS_CHECK])
    live = engine.scan(aws, checks)
    store.record_many(live)
    # The one item that could change a verdict if it were trusted: bucket-1 "SSE-KMS".
    stale_items(monkeypatch, "bucket-1", ServerSideEncryptionConfiguration=RECORDED_KMS)

    def unreadable(keys: Any) -> Any:
        raise StoreError("batch_get_item: ProvisionedThroughputExceededException: slow down")

    monkeypatch.setattr(store, "statuses", unreadable)
    calls.take()
    with caplog.at_level(logging.WARNING, logger="aiwarden"):
        found = engine.scan(state_clients(store), checks)
    made = calls.take()

    assert verdicts(found) == verdicts(live)
    assert verdict(found, KMS_CHECK, "bucket-1").status is Status.FAIL
    assert operations(made)["BatchGetResourceConfig"] == 1
    assert aspect_reads(made) == every_aspect_read(("bucket-1", "bucket-2")) - {
        ("GetPublicAccessBlock", "bucket-1"),
        ("GetPublicAccessBlock", "bucket-2"),
    }
    assert "stored verdicts unreadable" in caplog.text


# --- 9. remediation acts only on what a live read still finds failing -----------------------------


def _enforce(clients: Clients, findings: list[Finding]) -> list[Finding]:
    remediator = Remediator(
        policy=Policy(mode="enforce", allowed=frozenset({KMS_CHECK})),
        read_clients=clients,
        act_clients=lambda: clients,
        attempts=lambda *_: 0,
    )
    return engine.remediate(findings, remediator, SCAN_TRIGGER)


def _encryption_rules(aws: Clients, bucket: str) -> list[dict[str, Any]]:
    response = aws.client("s3").get_bucket_encryption(Bucket=bucket)
    return list(response["ServerSideEncryptionConfiguration"]["Rules"])


def test_a_fix_is_not_applied_when_the_failure_comes_from_a_stale_item(
    aws, calls, store, shaped, monkeypatch
):
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=SSE_KMS)
    before = _encryption_rules(aws, "bucket-1")
    recorder(aws)
    checks = select([KMS_CHECK])
    passing = verdict(engine.scan(aws, checks), KMS_CHECK, "bucket-1")
    assert passing.status is Status.PASS
    # The table remembers a failure (fixed since, by someone else); the item has not caught up.
    store.record(replace(passing, status=Status.FAIL, reason="bucket bucket-1 has default encryption AES256"))
    stale_items(monkeypatch, "bucket-1", ServerSideEncryptionConfiguration=RECORDED_SSE_S3)

    clients = state_clients(store)
    calls.take()
    findings = engine.scan(clients, checks)
    scanned = calls.take()
    failing = verdict(findings, KMS_CHECK, "bucket-1")
    # Not news to the table, so the engine kept the recorded verdict without a live read.
    assert failing.status is Status.FAIL
    assert "AES256" in failing.reason
    assert ("GetBucketEncryption", "bucket-1") not in aspect_reads(scanned)

    remediated = verdict(_enforce(clients, findings), KMS_CHECK, "bucket-1")
    made = calls.take()

    assert remediated.remediation is not None
    assert remediated.remediation.outcome == "skipped-stale"
    assert "live read finds PASS" in remediated.remediation.detail
    assert operations(made)["PutBucketEncryption"] == 0
    assert ("GetBucketEncryption", "bucket-1") in aspect_reads(made)
    assert _encryption_rules(aws, "bucket-1") == before
    # The state table then remembers the live PASS, not the stale FAIL (no reminder for it later).
    assert remediated.remediation.compliant_after is True
    assert engine._as_recorded(remediated).status is Status.PASS


def test_a_fix_is_applied_when_the_live_state_still_fails(aws, calls, store, shaped):
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket="bucket-1", ServerSideEncryptionConfiguration=SSE_S3)
    s3.put_bucket_encryption(Bucket="bucket-2", ServerSideEncryptionConfiguration=SSE_KMS)
    recorder(aws)
    checks = select([KMS_CHECK])
    store.record_many(engine.scan(aws, checks))  # bucket-1's FAIL

    clients = state_clients(store)
    calls.take()
    findings = engine.scan(clients, checks)
    assert ("GetBucketEncryption", "bucket-1") not in aspect_reads(calls.take())
    assert clients.judged_from_record(KMS_CHECK, ref("bucket-1"))

    remediated = verdict(_enforce(clients, findings), KMS_CHECK, "bucket-1")
    made = calls.take()

    assert remediated.remediation is not None
    assert (remediated.remediation.outcome, remediated.remediation.compliant_after) == ("remediated", True)
    assert [p["Bucket"] for name, p in made if name == "PutBucketEncryption"] == ["bucket-1"]
    [rule] = _encryption_rules(aws, "bucket-1")
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


# --- verdicts on other resources that read a bucket's recorded configuration ---------------------

MODEL_CHECK = "sagemaker_model_artifacts_encrypted"


def test_a_stale_bucket_item_cannot_resolve_a_model_that_reads_it(aws, calls, store, shaped, monkeypatch):
    """A model's verdict reads its artifact bucket's encryption: when the bucket's item was cached
    by the bucket prefetch of the same scan, the model's verdict rests on it too, and is judged
    again live like the bucket's own when it would be news."""
    s3 = aws.client("s3")
    for name in ("models-1", "models-2"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=SSE_S3)
    aws.client("sagemaker").create_model(
        ModelName="m1",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
        PrimaryContainer={
            "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/x:1",
            "ModelDataUrl": "s3://models-1/m1/model.tar.gz",
        },
    )
    recorder(aws)
    checks = select([MODEL_CHECK, KMS_CHECK])
    live = engine.scan(aws, checks)
    assert {f.check_id: f.status for f in live if f.ref.resource_id in ("m1", "models-1")} == {
        MODEL_CHECK: Status.FAIL,
        KMS_CHECK: Status.FAIL,
    }
    store.record_many(live)
    stale_items(monkeypatch, "models-1", ServerSideEncryptionConfiguration=RECORDED_KMS)

    calls.take()
    found = engine.scan(state_clients(store), checks)

    assert [(f.check_id, f.ref.resource_id, f.status) for f in found] == [
        (f.check_id, f.ref.resource_id, f.status) for f in live
    ]
    assert ("GetBucketEncryption", "models-1") in aspect_reads(calls.take())


def test_a_failure_that_goes_on_rests_on_the_record_even_when_its_reminder_is_due(aws, calls, store, shaped):
    """Deliberate: only a change of status is news. A failure that goes on keeps its saving when
    its reminder is due (a daily sweep with daily reminders would otherwise read every failing
    bucket live every day); the reminder quotes the recorded item, minutes old at most."""
    s3 = aws.client("s3")
    for name in ("bucket-1", "bucket-2"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=SSE_S3)
    recorder(aws)
    checks = select([KMS_CHECK])
    long_ago = datetime.now(UTC) - store.repeat_window * 2
    store.record_many(engine.scan(aws, checks), now=long_ago)  # alerted two windows ago

    clients = state_clients(store)
    calls.take()
    found = engine.scan(clients, checks)
    assert {f.status for f in found} == {Status.FAIL}
    assert not {("GetBucketEncryption", "bucket-1"), ("GetBucketEncryption", "bucket-2")} & aspect_reads(
        calls.take()
    )
    assert clients.judged_from_record(KMS_CHECK, ref("bucket-1"))
    # ... and recording it sends the reminder, as a live verdict would.
    assert [t.change.value for t in store.record_many(found)] == ["REMINDER", "REMINDER"]


def _models_on(aws: Clients, buckets: dict[str, dict[str, Any]]) -> None:
    s3 = aws.client("s3")
    for index, (bucket, encryption) in enumerate(buckets.items()):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption)
        aws.client("sagemaker").create_model(
            ModelName=f"m{index}",
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
            PrimaryContainer={
                "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/x:1",
                "ModelDataUrl": f"s3://{bucket}/m{index}/model.tar.gz",
            },
        )


def test_a_model_work_item_reads_its_artifact_buckets_recorded_configuration_in_bulk(
    aws, calls, store, shaped, monkeypatch
):
    """A sweep work item of models only (no bucket prefetch): the model prefetch takes the
    artifact buckets' recorded items in one call; a stale one whose verdict would be news is
    judged again live."""
    _models_on(aws, {"models-1": SSE_S3, "models-2": SSE_KMS, "models-3": SSE_S3})
    recorder(aws)
    checks = select([MODEL_CHECK])
    live = engine.scan(aws, checks)
    store.record_many(live)

    calls.take()
    steady = engine.scan(state_clients(store), checks)
    made = calls.take()
    assert verdicts(steady) == verdicts(live)
    assert operations(made)["BatchGetResourceConfig"] == 1
    assert not {name for name, _ in aspect_reads(made)} & {"GetBucketEncryption"}

    # models-2's item lags: it still says SSE-S3, so m1's PASS would turn FAIL: news, read live.
    stale_items(monkeypatch, "models-2", ServerSideEncryptionConfiguration=RECORDED_SSE_S3)
    again = engine.scan(state_clients(store), checks)
    assert verdicts(again) == verdicts(live)
    assert aspect_reads(calls.take()) == {("GetBucketEncryption", "models-2")}
