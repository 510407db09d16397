"""aiwarden.events.normalise: every EventBridge envelope AI Warden receives, good and bad."""

from __future__ import annotations

import copy
import json

import pytest

from aiwarden.events import (
    GuardDutyAlert,
    IgnoredEvent,
    UnsupportedEvent,
    actor,
    guardduty_severity,
    normalise,
)
from aiwarden.model import Severity
from tests.conftest import ACCOUNT, EVENTS, REGION, load_event

BUCKET = "AWS::S3::Bucket"
USER = "AWS::IAM::User"
MODEL = "AWS::SageMaker::Model"
NOTEBOOK = "AWS::SageMaker::NotebookInstance"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"

# Every sample under cloudtrail/, config/ and guardduty/ -> the (type, id, region) it must target.
EXPECTED_TARGETS: dict[str, set[tuple[str, str, str]]] = {
    "cloudtrail/iam_create_login_profile.json": {(USER, "bob", "global")},
    "cloudtrail/iam_deactivate_mfa_device.json": {(USER, "alice", "global")},
    "cloudtrail/iam_enable_mfa_device.json": {(USER, "bob", "global")},
    "cloudtrail/s3_create_bucket.json": {(BUCKET, "aiw-datasets-plain", REGION)},
    "cloudtrail/s3_delete_bucket_encryption.json": {(BUCKET, "aiw-models-kms", REGION)},
    "cloudtrail/s3_delete_bucket_public_access_block.json": {(BUCKET, "aiw-public-share", REGION)},
    "cloudtrail/s3_put_bucket_acl_public_read.json": {(BUCKET, "aiw-public-share", REGION)},
    "cloudtrail/s3_put_bucket_encryption_sse_s3.json": {(BUCKET, "aiw-models-kms", REGION)},
    "cloudtrail/s3_put_bucket_policy_public.json": {(BUCKET, "aiw-public-share", REGION)},
    "cloudtrail/s3_put_bucket_tagging.json": {(BUCKET, "aiw-datasets-plain", REGION)},
    "cloudtrail/sagemaker_create_endpoint_config.json": {(ENDPOINT_CONFIG, "churn-v1-config", REGION)},
    "cloudtrail/sagemaker_create_model.json": {(MODEL, "churn-v1", REGION)},
    "cloudtrail/sagemaker_create_notebook_instance.json": {(NOTEBOOK, "research-open", REGION)},
    "config/configuration_item_change_notebook.json": {(NOTEBOOK, "research-open", REGION)},
    "config/configuration_item_change_s3_bucket.json": {(BUCKET, "aiw-datasets-plain", REGION)},
    "config/configuration_item_deleted_bucket.json": {(BUCKET, "aiw-public-share", REGION)},
    "config/oversized_configuration_item_change.json": {(BUCKET, "aiw-datasets-plain", REGION)},
    "guardduty/ec2_instance_finding.json": set(),
    "guardduty/iam_user_tor_caller.json": {(USER, "bob", "global")},
    "guardduty/s3_bucket_anonymous_access_granted.json": {(BUCKET, "aiw-public-share", REGION)},
}
FAILED_CALL = "cloudtrail/s3_delete_bucket_encryption_access_denied.json"
SAMPLES = sorted(
    str(path.relative_to(EVENTS))
    for folder in ("cloudtrail", "config", "guardduty")
    for path in (EVENTS / folder).glob("*.json")
)


def cloudtrail(event_name: str, **request_parameters: object) -> dict:
    """A real CloudTrail envelope with another eventName and requestParameters."""
    event = copy.deepcopy(load_event("cloudtrail/s3_delete_bucket_public_access_block.json"))
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = request_parameters
    return event


def targets_of(event: dict) -> set[tuple[str, str, str]]:
    return {
        (t.scope.cfn_type, t.ref.resource_id, t.ref.region)
        for t in normalise(event).targets
        if t.ref is not None
    }


def test_every_sample_has_an_expectation():
    assert set(SAMPLES) == set(EXPECTED_TARGETS) | {FAILED_CALL}


@pytest.mark.parametrize("sample", sorted(EXPECTED_TARGETS))
def test_sample_normalises_to_its_resource(sample):
    invocation = normalise(load_event(sample))
    assert (invocation.account, invocation.region) == (ACCOUNT, REGION)
    assert targets_of(load_event(sample)) == EXPECTED_TARGETS[sample]
    for target in invocation.targets:
        assert target.check_ids, f"{sample}: target {target.ref} names no check"
        # ref None: an account-wide re-evaluation (e.g. root MFA on any MFA device change).
        assert target.ref is None or target.ref.account == ACCOUNT


def test_failed_api_call_is_ignored_with_its_error_code():
    with pytest.raises(IgnoredEvent, match="AccessDenied") as caught:
        normalise(load_event(FAILED_CALL))
    assert caught.value.event_id == "76895f17-8551-4bb7-951f-ed731eef15d1"


def test_deleted_bucket_config_item_still_targets_the_bucket():
    (target,) = normalise(load_event("config/configuration_item_deleted_bucket.json")).targets
    assert target.ref.resource_id == "aiw-public-share"
    assert "s3_bucket_public_access_blocked" in target.check_ids


@pytest.mark.parametrize(
    "sample",
    ["cloudtrail/s3_delete_bucket_encryption.json", "cloudtrail/s3_put_bucket_encryption_sse_s3.json"],
)
def test_bucket_encryption_change_also_names_the_model_check_through_lineage(sample):
    (target,) = normalise(load_event(sample)).targets
    assert target.scope.cfn_type == BUCKET
    assert {"s3_bucket_default_encryption_kms", "sagemaker_model_artifacts_encrypted"} <= target.check_ids


def test_bucket_policy_change_does_not_name_the_model_check():
    (target,) = normalise(load_event("cloudtrail/s3_put_bucket_policy_public.json")).targets
    assert "s3_bucket_public_access_blocked" in target.check_ids
    assert "sagemaker_model_artifacts_encrypted" not in target.check_ids


def test_config_item_arn_is_kept_as_the_resource_arn():
    (target,) = normalise(load_event("config/configuration_item_change_notebook.json")).targets
    assert target.ref.arn == "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/research-open"


def test_cloudtrail_trigger_comes_from_the_record():
    event = load_event("cloudtrail/s3_put_bucket_policy_public.json")
    trigger = normalise(event).trigger
    assert trigger.kind == "cloudtrail"
    assert trigger.actor == "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"
    assert trigger.event_name == "PutBucketPolicy"
    assert trigger.event_id == event["detail"]["eventID"] != event["id"]
    assert trigger.event_time == event["detail"]["eventTime"]
    assert trigger.source_ip == "198.51.100.23"


def test_iam_trigger_actor_is_the_calling_user():
    trigger = normalise(load_event("cloudtrail/iam_create_login_profile.json")).trigger
    assert trigger.actor == "arn:aws:iam::123456789012:user/admin-jane"
    assert trigger.event_name == "CreateLoginProfile"


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (
            {"type": "Role", "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/R"}}},
            "arn:aws:iam::1:role/R",
        ),
        ({"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}, "sagemaker.amazonaws.com"),
        ({"type": "Root"}, "Root"),
        ("not-a-mapping", None),
    ],
)
def test_actor_falls_back_from_arn_to_issuer_to_service_to_type(identity, expected):
    assert actor({"userIdentity": identity}) == expected


def test_null_session_context_does_not_hide_a_valid_record():
    event = load_event("cloudtrail/s3_create_bucket.json")
    event["detail"]["userIdentity"]["sessionContext"] = None
    invocation = normalise(event)
    assert invocation.trigger.actor == "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"
    assert targets_of(event) == {(BUCKET, "aiw-datasets-plain", REGION)}


@pytest.mark.parametrize("sample", ["invalid/unknown_source.json", "invalid/truncated_cloudtrail.json"])
def test_invalid_samples_are_unsupported_with_a_reason(sample):
    event = load_event(sample)
    with pytest.raises(UnsupportedEvent) as caught:
        normalise(event)
    assert caught.value.reason
    assert caught.value.event_id in {event["id"], event["detail"].get("eventID")}


def test_unknown_source_reason_names_the_detail_type():
    with pytest.raises(UnsupportedEvent, match="AWS Health Event"):
        normalise(load_event("invalid/unknown_source.json"))


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [load_event("cloudtrail/s3_create_bucket.json")],
        "{}",
        None,
        42,
        {},
        {"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": "{}"},
        {"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": None},
        {"detail-type": ["GuardDuty Finding"], "detail": {}},
        {"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "detail": {"type": "X"}},
        {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        {"detail-type": "Config Configuration Item Change", "detail": {"messageType": "Other"}},
    ],
    ids=lambda raw: type(raw).__name__ if not isinstance(raw, dict) else json.dumps(raw)[:60],
)
def test_malformed_input_is_unsupported_never_another_exception(raw):
    with pytest.raises(UnsupportedEvent) as caught:
        normalise(raw)
    assert caught.value.reason


def test_cloudtrail_event_no_check_uses_is_unsupported():
    with pytest.raises(UnsupportedEvent, match="GetObject"):
        normalise(cloudtrail("GetObject", bucketName="aiw-public-share", key="a.csv"))


def test_cloudtrail_event_without_its_resource_name_is_unsupported():
    with pytest.raises(UnsupportedEvent, match="names no resource"):
        normalise(cloudtrail("PutBucketPolicy"))


def test_cloudtrail_event_without_account_or_region_is_unsupported():
    event = load_event("cloudtrail/s3_create_bucket.json")
    for key in ("account", "region"):
        event.pop(key, None)
    event["detail"].pop("recipientAccountId", None)
    event["detail"].pop("awsRegion", None)
    with pytest.raises(UnsupportedEvent, match="account or region"):
        normalise(event)


def test_config_item_of_a_type_no_check_covers_is_ignored():
    event = load_event("config/configuration_item_change_s3_bucket.json")
    event["detail"]["configurationItem"]["resourceType"] = "AWS::EFS::FileSystem"
    with pytest.raises(IgnoredEvent, match="AWS::EFS::FileSystem"):
        normalise(event)


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (1.0, Severity.LOW),
        (3.9, Severity.LOW),
        (4.0, Severity.MEDIUM),
        (6.9, Severity.MEDIUM),
        (7.0, Severity.HIGH),
        (8.9, Severity.HIGH),
        (9.0, Severity.CRITICAL),
        (10.0, Severity.CRITICAL),
    ],
)
def test_guardduty_severity_follows_the_documented_bands(score, severity):
    assert guardduty_severity(score) is severity


def test_guardduty_s3_finding_targets_every_named_bucket():
    event = load_event("guardduty/s3_bucket_anonymous_access_granted.json")
    details = event["detail"]["resource"]["s3BucketDetails"]
    details.append({**details[0], "name": "aiw-datasets-plain"})
    invocation = normalise(event)
    assert targets_of(event) == {(BUCKET, "aiw-public-share", REGION), (BUCKET, "aiw-datasets-plain", REGION)}
    assert invocation.guardduty.resource_names == ("aiw-public-share", "aiw-datasets-plain")


def test_guardduty_s3_finding_does_not_target_the_assumed_role_caller():
    targets = targets_of(load_event("guardduty/s3_bucket_anonymous_access_granted.json"))
    assert {t[0] for t in targets} == {BUCKET}


def test_guardduty_tor_caller_targets_user_bob_with_a_medium_alert():
    invocation = normalise(load_event("guardduty/iam_user_tor_caller.json"))
    (target,) = invocation.targets
    assert (target.scope.cfn_type, target.ref.resource_id, target.ref.region) == (USER, "bob", "global")
    assert "iam_user_console_mfa_enabled" in target.check_ids
    assert invocation.guardduty.severity is Severity.MEDIUM
    assert invocation.trigger.event_name == "UnauthorizedAccess:IAMUser/TorIPCaller"


def test_guardduty_ec2_finding_alerts_without_targets():
    invocation = normalise(load_event("guardduty/ec2_instance_finding.json"))
    assert invocation.targets == []
    alert = invocation.guardduty
    assert isinstance(alert, GuardDutyAlert)
    assert alert.severity is Severity.HIGH
    assert alert.severity_score == 8.0
    assert alert.resource_names == ("i-0a1b2c3d4e5f60718",)
    assert alert.finding_id == "e03c0818d1585f5410699c0dc48e46a8"
    assert "fId=e03c0818d1585f5410699c0dc48e46a8" in alert.console_url
    assert alert.sample is False


def test_guardduty_sample_finding_is_marked_sample():
    event = load_event("guardduty/ec2_instance_finding.json")
    event["detail"]["service"]["additionalInfo"]["sample"] = True
    assert normalise(event).guardduty.sample is True


def test_scheduled_event_is_a_sweep():
    event = {
        "version": "0",
        "id": "5c9e7e2f-0000-4000-8000-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-03-14T00:00:00Z",
        "region": REGION,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/aiwarden-sweep"],
        "detail": {},
    }
    invocation = normalise(event)
    assert invocation.sweep is True
    assert invocation.targets == []
    assert (invocation.account, invocation.region) == (ACCOUNT, REGION)
    assert invocation.trigger.kind == "scan"


def test_account_public_access_block_change_targets_every_bucket():
    event = cloudtrail("PutAccountPublicAccessBlock", publicAccessBlock="")
    targets = normalise(event).targets
    assert [(t.scope.cfn_type, t.ref) for t in targets] == [(BUCKET, None)]
    assert "s3_bucket_public_access_blocked" in targets[0].check_ids
    assert "s3_bucket_default_encryption_kms" not in targets[0].check_ids


def test_sagemaker_add_tags_on_a_notebook_targets_only_that_notebook():
    event = load_event("cloudtrail/sagemaker_create_notebook_instance.json")
    event["detail"]["eventName"] = "AddTags"
    event["detail"]["requestParameters"] = {
        "resourceArn": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/research-open",
        "tags": [{"key": "aiwarden:exempt", "value": "true"}],
    }
    (target,) = normalise(event).targets
    assert (target.scope.cfn_type, target.ref.resource_id) == (NOTEBOOK, "research-open")
    assert "sagemaker_notebook_direct_internet_access_disabled" in target.check_ids
    assert all(check.startswith("sagemaker_notebook_") for check in target.check_ids)


def test_config_item_for_a_type_named_by_id_uses_the_resource_id():
    event = load_event("config/configuration_item_change_notebook.json")
    item = event["detail"]["configurationItem"]
    item.update(
        resourceType="AWS::SageMaker::Domain",
        resourceId="d-abc123xyz",
        resourceName="research-studio",
        ARN="arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc123xyz",
    )
    (target,) = normalise(event).targets
    assert target.ref.resource_id == "d-abc123xyz"
