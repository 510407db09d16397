"""Every fix, run through the remediation engine the way Lambda runs it: scan the one check, then
remediate with the policy. For each fix: enforce makes the resource compliant (the re-check and
the AWS state agree), dry-run changes nothing, and a refused call is reported as failed with the
resource left as it was. Disruptive fixes never run through "*". moto backs every case; Stubber
stands in where moto cannot answer (Inspector refusing an account)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from aiwarden.clients import Clients
from aiwarden.engine import remediate, scan
from aiwarden.fixes.bedrock import log_destination
from aiwarden.fixes.iam import strong_password_policy
from aiwarden.model import SCAN_TRIGGER, Finding
from aiwarden.registry import select
from aiwarden.remediation import Policy, Remediator, all_fixes
from tests.unit.helpers import ACCOUNT, REGION

LOG_BUCKET = "aiw-logs"
DATA_BUCKET = "aiw-datasets"
CONFIG_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


def run(aws: Any, policy: Policy, check: str, clients: Clients | None = None) -> dict[str, Finding]:
    """Scan one check and hand its findings to the remediation engine; findings by resource id."""
    clients = clients or aws
    findings = scan(clients, select([check]))
    remediator = Remediator(
        policy=policy, read_clients=clients, act_clients=lambda: clients, attempts=lambda *_: 0
    )
    return {f.ref.resource_id: f for f in remediate(findings, remediator, SCAN_TRIGGER)}


def enforce(check: str) -> Policy:
    return Policy(mode="enforce", allowed=frozenset({check}))


def deny(monkeypatch: pytest.MonkeyPatch, client: Any, method: str) -> None:
    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, method)

    monkeypatch.setattr(client, method, denied)


# --- what each case creates and reads -------------------------------------------------------


def log_bucket(aws: Any) -> None:
    aws.client("s3").create_bucket(Bucket=LOG_BUCKET)


def make_trail(
    aws: Any,
    *,
    multi_region: bool = True,
    logging: bool = True,
    validation: bool = True,
    global_events: bool = True,
) -> str:
    log_bucket(aws)
    cloudtrail = aws.client("cloudtrail")
    cloudtrail.create_trail(
        Name="aiw-trail",
        S3BucketName=LOG_BUCKET,
        IsMultiRegionTrail=multi_region,
        IncludeGlobalServiceEvents=global_events,
        EnableLogFileValidation=validation,
    )
    if logging:
        cloudtrail.start_logging(Name="aiw-trail")
    return "aiw-trail"


def trail(aws: Any) -> dict[str, Any]:
    return dict(aws.client("cloudtrail").describe_trails(trailNameList=["aiw-trail"])["trailList"][0])


def is_logging(aws: Any) -> bool:
    return bool(aws.client("cloudtrail").get_trail_status(Name="aiw-trail")["IsLogging"])


def key_state(aws: Any, key_id: str) -> str:
    return str(aws.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])


def pending_deletion_key(aws: Any, _: pytest.MonkeyPatch) -> str:
    kms = aws.client("kms")
    key_id = str(kms.create_key()["KeyMetadata"]["KeyId"])
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    return key_id


def repository(aws: Any, _: pytest.MonkeyPatch) -> str:
    aws.client("ecr").create_repository(repositoryName="aiw-inference")
    return "aiw-inference"


def repository_data(aws: Any) -> dict[str, Any]:
    return dict(aws.client("ecr").describe_repositories(repositoryNames=["aiw-inference"])["repositories"][0])


def detectors(aws: Any) -> list[tuple[str, str]]:
    guardduty = aws.client("guardduty")
    found = []
    for detector_id in guardduty.list_detectors()["DetectorIds"]:
        detector = guardduty.get_detector(DetectorId=detector_id)
        s3 = {f["Name"]: f["Status"] for f in detector.get("Features", [])}.get("S3_DATA_EVENTS", "?")
        found.append((detector["Status"], s3))
    return found


def password_policy(aws: Any) -> dict[str, Any] | None:
    try:
        return dict(aws.client("iam").get_account_password_policy()["PasswordPolicy"])
    except ClientError:
        return None


def strength(aws: Any) -> tuple[int, int, int] | None:
    policy = password_policy(aws)
    if policy is None:
        return None
    return (
        policy["MinimumPasswordLength"],
        policy.get("PasswordReusePrevention", 0),
        policy.get("MaxPasswordAge", 0),
    )


def bedrock_bucket(aws: Any) -> str | None:
    config = aws.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig") or {}
    return (config.get("s3Config") or {}).get("bucketName")


def data_bucket(aws: Any, _: pytest.MonkeyPatch) -> str:
    aws.client("s3").create_bucket(Bucket=DATA_BUCKET)
    return DATA_BUCKET


def bucket_policy(aws: Any) -> dict[str, Any] | None:
    try:
        return dict(json.loads(aws.client("s3").get_bucket_policy(Bucket=DATA_BUCKET)["Policy"]))
    except ClientError:
        return None


def sids(aws: Any) -> list[str]:
    return [st.get("Sid", "") for st in (bucket_policy(aws) or {}).get("Statement", [])]


def recorder(aws: Any, _: pytest.MonkeyPatch) -> str:
    aws.client("s3").create_bucket(Bucket="aiw-config-history")
    config = aws.client("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": CONFIG_ROLE,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "aiw-config-history"})
    return ACCOUNT


def recording(aws: Any) -> list[bool]:
    statuses = aws.client("config").describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    return [bool(s["recording"]) for s in statuses]


def inspector_ecr(aws: Any) -> str:
    accounts = aws.client("inspector2").batch_get_account_status(accountIds=[ACCOUNT])["accounts"]
    return str(accounts[0]["resourceState"]["ecr"]["status"]) if accounts else "DISABLED"


def access_logging(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A data bucket, and the operator's log bucket with the policy S3 log delivery needs (S3, and
    moto, refuse a target bucket that does not let logging.s3.amazonaws.com write)."""
    monkeypatch.setenv("AIWARDEN_ACCESS_LOG_BUCKET", LOG_BUCKET)
    log_bucket(aws)
    delivery = {
        "Sid": "S3ServerAccessLogsPolicy",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    aws.client("s3").put_bucket_policy(
        Bucket=LOG_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [delivery]})
    )
    return data_bucket(aws, monkeypatch)


def logging_target(aws: Any) -> dict[str, Any] | None:
    return aws.client("s3").get_bucket_logging(Bucket=DATA_BUCKET).get("LoggingEnabled")


@dataclass(frozen=True)
class Case:
    """A failing resource for ``check``, the AWS state its fix changes, and the call to refuse."""

    check: str
    setup: Callable[[Any, pytest.MonkeyPatch], str]  # returns the resource id
    state: Callable[[Any, str], Any]
    fixed: Any  # the state after a successful fix
    refuse: tuple[str, str]  # (service, method) whose AccessDenied must leave the state as it was


def _key(aws: Any, _: pytest.MonkeyPatch) -> str:
    return str(aws.client("kms").create_key()["KeyMetadata"]["KeyId"])


def _trail(**options: bool) -> Callable[[Any, pytest.MonkeyPatch], str]:
    return lambda aws, _: make_trail(aws, **options)


def _account(prepare: Callable[[Any], Any] | None = None) -> Callable[[Any, pytest.MonkeyPatch], str]:
    def setup(aws: Any, _: pytest.MonkeyPatch) -> str:
        if prepare is not None:
            prepare(aws)
        return ACCOUNT

    return setup


def _bedrock(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIWARDEN_BEDROCK_LOG_BUCKET", "aiw-bedrock-logs")
    aws.client("s3").create_bucket(Bucket="aiw-bedrock-logs")
    return ACCOUNT


def _suspended_detector(aws: Any) -> None:
    aws.client("guardduty").create_detector(
        Enable=False, Features=[{"Name": "S3_DATA_EVENTS", "Status": "DISABLED"}]
    )


CASES = {
    "kms-rotation": Case(
        "kms_key_rotation_enabled",
        _key,
        lambda aws, key: aws.client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"],
        True,
        ("kms", "enable_key_rotation"),
    ),
    "kms-deletion": Case(
        "kms_key_not_pending_deletion",
        pending_deletion_key,
        key_state,
        "Enabled",
        ("kms", "cancel_key_deletion"),
    ),
    "ecr-scan-on-push": Case(
        "ecr_repository_scan_on_push_enabled",
        repository,
        lambda aws, _: repository_data(aws)["imageScanningConfiguration"]["scanOnPush"],
        True,
        ("ecr", "put_image_scanning_configuration"),
    ),
    "ecr-tag-immutability": Case(
        "ecr_repository_tag_immutability_enabled",
        repository,
        lambda aws, _: repository_data(aws)["imageTagMutability"],
        "IMMUTABLE",
        ("ecr", "put_image_tag_mutability"),
    ),
    "cloudtrail-validation": Case(
        "cloudtrail_trail_log_file_validation_enabled",
        _trail(validation=False),
        lambda aws, _: trail(aws)["LogFileValidationEnabled"],
        True,
        ("cloudtrail", "update_trail"),
    ),
    "cloudtrail-start-stopped-trail": Case(
        "cloudtrail_multi_region_trail_logging",
        lambda aws, _: make_trail(aws, logging=False) and ACCOUNT,
        lambda aws, _: is_logging(aws),
        True,
        ("cloudtrail", "start_logging"),
    ),
    "cloudtrail-single-to-multi-region": Case(
        "cloudtrail_multi_region_trail_logging",
        # Multi-Region trails must include global service events: the fix turns them on too.
        lambda aws, _: make_trail(aws, multi_region=False, global_events=False) and ACCOUNT,
        lambda aws, _: (trail(aws)["IsMultiRegionTrail"], trail(aws)["IncludeGlobalServiceEvents"]),
        (True, True),
        ("cloudtrail", "update_trail"),
    ),
    "guardduty-create": Case(
        "guardduty_detector_enabled_with_s3_protection",
        _account(),
        lambda aws, _: detectors(aws),
        [("ENABLED", "ENABLED")],
        ("guardduty", "create_detector"),
    ),
    "guardduty-update": Case(
        "guardduty_detector_enabled_with_s3_protection",
        _account(_suspended_detector),
        lambda aws, _: detectors(aws),
        [("ENABLED", "ENABLED")],
        ("guardduty", "update_detector"),
    ),
    "iam-password-policy": Case(
        "iam_password_policy_strong",
        _account(),
        lambda aws, _: strength(aws),
        (14, 24, 90),
        ("iam", "update_account_password_policy"),
    ),
    "bedrock-logging": Case(
        "bedrock_model_invocation_logging_enabled",
        _bedrock,
        lambda aws, _: bedrock_bucket(aws),
        "aiw-bedrock-logs",
        ("bedrock", "put_model_invocation_logging_configuration"),
    ),
    "s3-tls-only": Case(
        "s3_bucket_tls_only",
        data_bucket,
        lambda aws, _: sids(aws),
        ["DenyInsecureTransport"],
        ("s3", "put_bucket_policy"),
    ),
    "s3-versioning": Case(
        "s3_bucket_versioning_enabled",
        data_bucket,
        lambda aws, _: aws.client("s3").get_bucket_versioning(Bucket=DATA_BUCKET).get("Status"),
        "Enabled",
        ("s3", "put_bucket_versioning"),
    ),
    "s3-access-logging": Case(
        "s3_bucket_access_logging_enabled",
        access_logging,
        lambda aws, _: logging_target(aws),
        {"TargetBucket": LOG_BUCKET, "TargetPrefix": f"{DATA_BUCKET}/"},
        ("s3", "put_bucket_logging"),
    ),
    "config-recorder": Case(
        "config_recorder_recording",
        recorder,
        lambda aws, _: recording(aws),
        [True],
        ("config", "start_configuration_recorder"),
    ),
    "inspector-ecr": Case(
        "inspector_ecr_scanning_enabled",
        _account(),
        lambda aws, _: inspector_ecr(aws),
        "ENABLED",
        ("inspector2", "enable"),
    ),
}

NEW_FIXES = {case.check for case in CASES.values()}


def test_every_new_fix_has_a_case_and_there_are_at_least_sixteen_fixes():
    fixes = all_fixes()
    assert set(fixes) >= NEW_FIXES
    assert len(fixes) >= 16
    # Every fix answers a registered check and names exact IAM actions (service:Action, no wildcard).
    checks = {c.id for c in select(None)}
    for check_id, fix_ in fixes.items():
        assert check_id in checks
        for action in (*fix_.permissions, *fix_.read_permissions):
            service, _, name = action.partition(":")
            assert service and name[:1].isupper() and "*" not in action, action


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_enforce_makes_the_resource_compliant(aws, monkeypatch, case):
    resource = case.setup(aws, monkeypatch)
    finding = run(aws, enforce(case.check), case.check)[resource]
    assert finding.remediation.outcome == "remediated", finding.remediation.detail
    assert finding.remediation.compliant_after is True
    assert finding.remediation.detail
    assert case.state(aws, resource) == case.fixed


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_dry_run_changes_nothing(aws, monkeypatch, case):
    resource = case.setup(aws, monkeypatch)
    before = case.state(aws, resource)
    finding = run(aws, Policy(mode="dry-run", allowed=frozenset({case.check})), case.check)[resource]
    assert finding.remediation.outcome == "would-remediate"
    assert finding.remediation.detail == f"dry-run: would {all_fixes()[case.check].action}"
    assert before != case.fixed
    assert case.state(aws, resource) == before


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_refused_call_is_reported_failed_and_leaves_the_resource(aws, monkeypatch, case):
    resource = case.setup(aws, monkeypatch)
    before = case.state(aws, resource)
    service, method = case.refuse
    deny(monkeypatch, aws.client(service, REGION), method)
    finding = run(aws, enforce(case.check), case.check)[resource]
    assert finding.remediation.outcome == "failed"
    assert finding.remediation.compliant_after is False
    assert "AccessDenied: not authorized" in finding.remediation.detail
    assert case.state(aws, resource) == before


DISRUPTIVE = {name: case for name, case in CASES.items() if all_fixes()[case.check].disruptive}


def test_the_disruptive_fixes_are_the_ones_that_change_what_people_can_do():
    assert {c.check for c in DISRUPTIVE.values()} == {
        "kms_key_not_pending_deletion",
        "ecr_repository_tag_immutability_enabled",
    }


@pytest.mark.parametrize("case", DISRUPTIVE.values(), ids=DISRUPTIVE.keys())
def test_disruptive_fix_does_not_run_through_the_wildcard(aws, monkeypatch, case):
    resource = case.setup(aws, monkeypatch)
    before = case.state(aws, resource)
    finding = run(aws, Policy(mode="enforce", allowed=frozenset({"*"})), case.check)[resource]
    assert finding.remediation.outcome == "skipped-not-allowed"
    assert "disruptive" in finding.remediation.detail
    assert case.state(aws, resource) == before


# --- KMS ------------------------------------------------------------------------------------


def test_cancelled_deletion_is_reported_even_when_enable_key_is_refused(aws, monkeypatch):
    key_id = pending_deletion_key(aws, monkeypatch)
    deny(monkeypatch, aws.client("kms"), "enable_key")
    finding = run(aws, enforce("kms_key_not_pending_deletion"), "kms_key_not_pending_deletion")[key_id]
    # Not pending deletion any more (compliant), but Disabled: the detail must not hide it.
    assert finding.remediation.outcome == "remediated"
    assert "still Disabled" in finding.remediation.detail
    assert "AccessDenied" in finding.remediation.detail
    assert key_state(aws, key_id) == "Disabled"


def test_enforce_detail_says_the_cancelled_key_was_enabled(aws, monkeypatch):
    key_id = pending_deletion_key(aws, monkeypatch)
    finding = run(aws, enforce("kms_key_not_pending_deletion"), "kms_key_not_pending_deletion")[key_id]
    assert "comes back Disabled" in finding.remediation.detail
    assert "enabled it" in finding.remediation.detail


def test_rotation_of_a_multi_region_replica_is_left_to_its_primary(aws, monkeypatch):
    kms = aws.client("kms")
    primary = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    replica = kms.replicate_key(KeyId=primary, ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]["KeyId"]
    west = Clients("us-west-2", account_id=ACCOUNT)
    finding = run(west, enforce("kms_key_rotation_enabled"), "kms_key_rotation_enabled")[replica]
    assert finding.remediation.outcome == "failed"
    assert "primary key" in finding.remediation.detail
    assert west.client("kms").get_key_rotation_status(KeyId=replica)["KeyRotationEnabled"] is False


# --- CloudTrail -----------------------------------------------------------------------------

MULTI_REGION = "cloudtrail_multi_region_trail_logging"


def test_no_trail_is_not_invented(aws):
    finding = run(aws, enforce(MULTI_REGION), MULTI_REGION)[ACCOUNT]
    assert finding.remediation.outcome == "failed"
    assert "does not create" in finding.remediation.detail
    assert "bucket" in finding.remediation.detail
    assert aws.client("cloudtrail").describe_trails()["trailList"] == []


def test_stopped_single_region_trail_needs_a_person(aws):
    make_trail(aws, multi_region=False, logging=False)
    finding = run(aws, enforce(MULTI_REGION), MULTI_REGION)[ACCOUNT]
    assert finding.remediation.outcome == "failed"
    assert "single-Region trail aiw-trail is not logging" in finding.remediation.detail
    assert (trail(aws)["IsMultiRegionTrail"], is_logging(aws)) == (False, False)


def test_event_selectors_are_never_rewritten(aws):
    make_trail(aws, logging=False)
    aws.client("cloudtrail").put_event_selectors(
        TrailName="aiw-trail",
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )
    finding = run(aws, enforce(MULTI_REGION), MULTI_REGION)[ACCOUNT]
    assert finding.remediation.outcome == "failed"
    assert "does not rewrite event selectors" in finding.remediation.detail
    assert is_logging(aws) is False


# --- IAM password policy --------------------------------------------------------------------


def test_password_policy_keeps_stricter_settings(aws):
    aws.client("iam").update_account_password_policy(
        MinimumPasswordLength=20,
        PasswordReusePrevention=5,
        MaxPasswordAge=30,
        RequireSymbols=False,
        RequireNumbers=True,
        HardExpiry=True,
        AllowUsersToChangePassword=False,
    )
    finding = run(aws, enforce("iam_password_policy_strong"), "iam_password_policy_strong")[ACCOUNT]
    assert finding.remediation.outcome == "remediated"
    policy = password_policy(aws)
    assert policy is not None
    assert (policy["MinimumPasswordLength"], policy["PasswordReusePrevention"], policy["MaxPasswordAge"]) == (
        20,
        24,
        30,
    )
    # Everything the check does not judge stays as the owner set it.
    assert (policy["RequireSymbols"], policy["RequireNumbers"], policy["HardExpiry"]) == (False, True, True)
    assert policy["AllowUsersToChangePassword"] is False


def test_new_password_policy_is_never_weaker_than_iams_default():
    policy = strong_password_policy(None)
    assert policy["MinimumPasswordLength"] == 14
    assert all(policy[flag] for flag in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters"))
    assert policy["RequireLowercaseCharacters"] and policy["AllowUsersToChangePassword"]
    assert policy["HardExpiry"] is False


# --- Bedrock --------------------------------------------------------------------------------

BEDROCK = "bedrock_model_invocation_logging_enabled"


def test_bedrock_logging_without_a_named_bucket_invents_none(aws, monkeypatch):
    monkeypatch.delenv("AIWARDEN_BEDROCK_LOG_BUCKET", raising=False)
    finding = run(aws, enforce(BEDROCK), BEDROCK)[ACCOUNT]
    assert finding.remediation.outcome == "failed"
    assert "AIWARDEN_BEDROCK_LOG_BUCKET is not set" in finding.remediation.detail
    assert bedrock_bucket(aws) is None


def test_bedrock_log_destination_takes_a_prefix_and_the_region(monkeypatch):
    monkeypatch.setenv("AIWARDEN_BEDROCK_LOG_BUCKET", "s3://aiw-logs-{region}/bedrock/")
    assert log_destination("eu-west-1") == ("aiw-logs-eu-west-1", "bedrock")
    monkeypatch.setenv("AIWARDEN_BEDROCK_LOG_BUCKET", "aiw-logs")
    assert log_destination(REGION) == ("aiw-logs", None)


def test_bedrock_logging_writes_the_prefix(aws, monkeypatch):
    monkeypatch.setenv("AIWARDEN_BEDROCK_LOG_BUCKET", "aiw-bedrock-logs/invocations")
    finding = run(aws, enforce(BEDROCK), BEDROCK)[ACCOUNT]
    assert finding.remediation.outcome == "remediated"
    config = aws.client("bedrock").get_model_invocation_logging_configuration()["loggingConfig"]
    assert config["s3Config"] == {"bucketName": "aiw-bedrock-logs", "keyPrefix": "invocations"}
    assert config["textDataDeliveryEnabled"] is True


# --- S3 -------------------------------------------------------------------------------------

TLS = "s3_bucket_tls_only"
READER = {
    "Sid": "ReadersRead",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/aiw-training"},
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{DATA_BUCKET}/*",
}
# Denies plain HTTP on the bucket but not its objects: not enough, and it owns the usual Sid.
PARTIAL = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:ListBucket",
    "Resource": f"arn:aws:s3:::{DATA_BUCKET}",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def test_tls_statement_is_merged_and_existing_statements_survive(aws, monkeypatch):
    data_bucket(aws, monkeypatch)
    original = {"Version": "2012-10-17", "Id": "aiw-datasets-policy", "Statement": [READER, PARTIAL]}
    aws.client("s3").put_bucket_policy(Bucket=DATA_BUCKET, Policy=json.dumps(original))
    finding = run(aws, enforce(TLS), TLS)[DATA_BUCKET]
    assert finding.remediation.outcome == "remediated"
    assert "2 existing statement(s) kept" in finding.remediation.detail
    policy = bucket_policy(aws)
    assert policy is not None
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "aiw-datasets-policy")
    assert policy["Statement"][:2] == [READER, PARTIAL]
    added = policy["Statement"][2]
    assert added["Sid"] == "DenyInsecureTransport2"
    assert added["Resource"] == [f"arn:aws:s3:::{DATA_BUCKET}", f"arn:aws:s3:::{DATA_BUCKET}/*"]
    assert added["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_tls_merge_reads_the_policy_now_not_what_the_scan_saw(aws, monkeypatch):
    data_bucket(aws, monkeypatch)
    findings = scan(aws, select([TLS]))  # caches "no policy" in aws's describe memo
    aws.client("s3").put_bucket_policy(
        Bucket=DATA_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [READER]})
    )
    remediator = Remediator(policy=enforce(TLS), read_clients=aws, act_clients=lambda: aws)
    [finding] = remediate(findings, remediator, SCAN_TRIGGER)
    assert finding.remediation.outcome == "remediated"
    assert sids(aws) == ["ReadersRead", "DenyInsecureTransport"]


ACCESS_LOGS = "s3_bucket_access_logging_enabled"


def test_access_logging_without_a_named_bucket_invents_none(aws, monkeypatch):
    monkeypatch.delenv("AIWARDEN_ACCESS_LOG_BUCKET", raising=False)
    data_bucket(aws, monkeypatch)
    finding = run(aws, enforce(ACCESS_LOGS), ACCESS_LOGS)[DATA_BUCKET]
    assert finding.remediation.outcome == "failed"
    assert "AIWARDEN_ACCESS_LOG_BUCKET is not set" in finding.remediation.detail
    assert logging_target(aws) is None


@pytest.mark.parametrize("mode", ["dry-run", "enforce"])
def test_the_log_bucket_never_logs_into_itself(aws, monkeypatch, mode):
    access_logging(aws, monkeypatch)
    findings = run(aws, Policy(mode=mode, allowed=frozenset({ACCESS_LOGS})), ACCESS_LOGS)
    assert findings[LOG_BUCKET].remediation.outcome == "skipped-guard"
    assert "never logs into itself" in findings[LOG_BUCKET].remediation.detail
    assert aws.client("s3").get_bucket_logging(Bucket=LOG_BUCKET).get("LoggingEnabled") is None


# --- AWS Config and Inspector ---------------------------------------------------------------


def test_missing_config_recorder_is_not_invented(aws):
    finding = run(aws, enforce("config_recorder_recording"), "config_recorder_recording")[ACCOUNT]
    assert finding.remediation.outcome == "failed"
    assert "does not create one" in finding.remediation.detail
    assert aws.client("config").describe_configuration_recorders()["ConfigurationRecorders"] == []


INSPECTOR = "inspector_ecr_scanning_enabled"


def test_inspector_refusing_the_account_is_a_failure_tested_with_stubber(aws):
    # moto never refuses an account; Enable reports refusals in failedAccounts (it does not raise).
    inspector = aws.client("inspector2")
    disabled = {"status": "DISABLED", "errorCode": "ALREADY_ENABLED", "errorMessage": "-"}
    status = {
        "accounts": [
            {"accountId": ACCOUNT, "state": disabled, "resourceState": {"ec2": disabled, "ecr": disabled}}
        ],
        "failedAccounts": [],
    }
    refused = {
        "accounts": [],
        "failedAccounts": [
            {
                "accountId": ACCOUNT,
                "errorCode": "ACCESS_DENIED",
                "errorMessage": "denied by an SCP",
            }
        ],
    }
    with Stubber(inspector) as stub:
        stub.add_response("batch_get_account_status", status, {"accountIds": [ACCOUNT]})
        stub.add_response("enable", refused, {"accountIds": [ACCOUNT], "resourceTypes": ["ECR"]})
        finding = run(aws, enforce("inspector_ecr_scanning_enabled"), "inspector_ecr_scanning_enabled")[
            ACCOUNT
        ]
        stub.assert_no_pending_responses()
    assert finding.remediation.outcome == "failed"
    assert "ACCESS_DENIED: denied by an SCP" in finding.remediation.detail
