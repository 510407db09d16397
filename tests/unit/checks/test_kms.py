"""KMS key checks: automatic rotation, scheduled deletion and public key policies, on customer
managed keys only."""

from __future__ import annotations

import copy
import json

import pytest
from botocore.stub import Stubber

from aiwarden.engine import evaluate
from aiwarden.events import normalise
from aiwarden.model import Status
from aiwarden.resources.kms import KEY
from tests.conftest import load_event
from tests.unit.helpers import ACCOUNT, REGION, check_finding

ROTATION = "kms_key_rotation_enabled"
DELETION = "kms_key_not_pending_deletion"
PUBLIC = "kms_key_policy_not_public"
MISSING_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = {
    "Sid": "EnableRootAccess",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


@pytest.fixture
def kms(aws):
    return aws.client("kms")


@pytest.fixture
def make_key(kms):
    def make(*, exempt: str | None = None, alias: str | None = None, **params: object) -> str:
        if exempt is not None:
            params["Tags"] = [{"TagKey": "aiwarden:exempt", "TagValue": exempt}]
        key_id = str(kms.create_key(**params)["KeyMetadata"]["KeyId"])
        if alias:
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        return key_id

    return make


def make_aws_managed(key_id: str) -> None:
    """moto creates every key customer managed; AWS managed keys (aws/s3, aws/ecr) report
    KeyManager AWS, so switch the backend's record the way AWS reports its own keys."""
    from moto.kms.models import kms_backends

    kms_backends[ACCOUNT][REGION].keys[key_id].key_manager = "AWS"


def key_policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [ROOT, *statements]})


def kms_event(event_name: str, **request_parameters: object) -> dict:
    """A real CloudTrail envelope re-pointed at KMS."""
    event = copy.deepcopy(load_event("cloudtrail/s3_delete_bucket_public_access_block.json"))
    event["source"] = "aws.kms"
    event["detail"]["eventSource"] = "kms.amazonaws.com"
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = request_parameters
    event["detail"]["responseElements"] = None
    return event


# --- the key resource type ---------------------------------------------------------------------


def test_listing_leaves_out_aws_managed_keys(make_key, aws):
    customer = make_key()
    managed = make_key(Description="Default key")
    make_aws_managed(managed)
    assert [ref.resource_id for ref in KEY.list_refs(aws)] == [customer]


def test_listing_keeps_a_key_whose_policy_denies_describe_tested_with_stubber(kms, aws):
    # A key policy without the account-root statement denies DescribeKey to IAM principals; real
    # ListKeys/DescribeKey shapes (botocore kms service-2.json).
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{MISSING_KEY}"
    with Stubber(kms) as stub:
        stub.add_response("list_keys", {"Keys": [{"KeyId": MISSING_KEY, "KeyArn": arn}], "Truncated": False})
        stub.add_client_error(
            "describe_key",
            "AccessDeniedException",
            "not authorized",
            400,
            expected_params={"KeyId": MISSING_KEY},
        )
        refs = list(KEY.list_refs(aws))
    assert [ref.resource_id for ref in refs] == [MISSING_KEY]


def test_aws_managed_key_is_out_of_scope(make_key, aws):
    managed = make_key()
    make_aws_managed(managed)
    assert check_finding(ROTATION, managed, aws).status is Status.NOT_APPLICABLE


def test_alias_names_resolve_to_the_key_id(make_key, aws):
    key_id = make_key(alias="alias/ml-artifacts")
    finding = check_finding(ROTATION, "alias/ml-artifacts", aws)
    assert finding.ref.resource_id == key_id
    assert (
        finding.reason
        == f"KMS key {key_id} (alias/ml-artifacts) does not rotate its key material automatically"
    )


@pytest.mark.parametrize(
    "key_id",
    [
        MISSING_KEY,
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{MISSING_KEY}",
    ],
    ids=["key-id", "key-arn"],
)
def test_schedule_key_deletion_event_targets_the_key(key_id):
    (target,) = normalise(kms_event("ScheduleKeyDeletion", keyId=key_id, pendingWindowInDays=7)).targets
    assert (target.scope, target.ref.resource_id) == (KEY, MISSING_KEY)
    assert target.check_ids == {DELETION}


def test_alias_arn_in_an_event_targets_the_alias():
    event = kms_event("TagResource", keyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ml-artifacts")
    (target,) = normalise(event).targets
    assert target.ref.resource_id == "alias/ml-artifacts"
    assert target.check_ids == {ROTATION, DELETION, PUBLIC}


def test_create_key_event_evaluates_the_new_key(make_key, aws):
    key_id = make_key()
    event = kms_event("CreateKey", keySpec="SYMMETRIC_DEFAULT")
    event["detail"]["responseElements"] = {"keyMetadata": {"keyId": key_id, "keyManager": "CUSTOMER"}}
    findings = {f.check_id: f for f in evaluate(normalise(event).targets, aws)}
    assert set(findings) == {ROTATION, PUBLIC}
    assert findings[ROTATION].status is Status.FAIL
    assert findings[PUBLIC].status is Status.PASS


# --- kms_key_rotation_enabled ------------------------------------------------------------------


def test_rotation_passes_when_enabled(kms, make_key, aws):
    key_id = make_key()
    kms.enable_key_rotation(KeyId=key_id)
    finding = check_finding(ROTATION, key_id, aws)
    assert finding.status is Status.PASS
    assert "rotates its key material automatically" in finding.reason


def test_rotation_fails_when_disabled(make_key, aws):
    key_id = make_key()
    finding = check_finding(ROTATION, key_id, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == f"KMS key {key_id} does not rotate its key material automatically"


@pytest.mark.parametrize(
    ("spec", "usage"),
    [("RSA_2048", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC"), ("ECC_NIST_P256", "SIGN_VERIFY")],
)
def test_rotation_passes_for_keys_that_cannot_rotate(make_key, aws, spec, usage):
    key_id = make_key(KeySpec=spec, KeyUsage=usage)
    finding = check_finding(ROTATION, key_id, aws)
    assert finding.status is Status.PASS
    assert f"automatic rotation not supported for {spec} {usage} keys" in finding.reason


def test_rotation_passes_for_imported_key_material(make_key, aws):
    key_id = make_key(Origin="EXTERNAL")
    finding = check_finding(ROTATION, key_id, aws)
    assert finding.status is Status.PASS
    assert "key material from EXTERNAL" in finding.reason


def test_rotation_exempt_key_is_reported_exempt(make_key, aws):
    key_id = make_key(exempt="true")
    finding = check_finding(ROTATION, key_id, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_rotation_missing_key_is_not_applicable(aws):
    assert check_finding(ROTATION, MISSING_KEY, aws).status is Status.NOT_APPLICABLE


# --- kms_key_not_pending_deletion --------------------------------------------------------------


def test_deletion_passes_for_an_enabled_key(make_key, aws):
    key_id = make_key()
    finding = check_finding(DELETION, key_id, aws)
    assert finding.status is Status.PASS
    assert finding.reason == f"KMS key {key_id} is not scheduled for deletion (state Enabled)"


def test_deletion_fails_and_gives_the_deletion_date(kms, make_key, aws):
    key_id = make_key(alias="alias/training-data")
    deletion_date = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)["DeletionDate"]
    finding = check_finding(DELETION, key_id, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"KMS key {key_id} (alias/training-data) is scheduled for deletion on "
        f"{deletion_date.date().isoformat()}; data encrypted under it will be lost"
    )


def test_deletion_passes_again_after_the_deletion_is_cancelled(kms, make_key, aws):
    key_id = make_key()
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key_id)
    finding = check_finding(DELETION, key_id, aws)
    assert finding.status is Status.PASS
    assert "state Disabled" in finding.reason


def test_deletion_exempt_key_is_reported_exempt(kms, make_key, aws):
    key_id = make_key(exempt="true")
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    finding = check_finding(DELETION, key_id, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_deletion_missing_key_is_not_applicable(aws):
    assert check_finding(DELETION, MISSING_KEY, aws).status is Status.NOT_APPLICABLE


def test_rotation_does_not_double_report_a_key_pending_deletion(kms, make_key, aws):
    key_id = make_key()
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    finding = check_finding(ROTATION, key_id, aws)
    assert finding.status is Status.PASS
    assert "pending deletion" in finding.reason


# --- kms_key_policy_not_public ------------------------------------------------------------------


def test_policy_passes_for_the_default_key_policy(make_key, aws):
    finding = check_finding(PUBLIC, make_key(), aws)
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": ["*"]}],
    ids=["star", "aws-star", "aws-list"],
)
def test_policy_fails_for_a_wildcard_principal(make_key, aws, principal):
    public = {
        "Sid": "Everyone",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    key_id = make_key(Policy=key_policy(public))
    finding = check_finding(PUBLIC, key_id, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"KMS key {key_id}'s key policy allows every principal without a restricting condition "
        "(statement Everyone)"
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    ],
    ids=["caller-account", "org"],
)
def test_policy_passes_when_a_condition_pins_the_caller(make_key, aws, condition):
    pinned = {
        "Sid": "ViaS3",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": condition,
    }
    assert check_finding(PUBLIC, make_key(Policy=key_policy(pinned)), aws).status is Status.PASS


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"kms:CallerAccount": "*"}},
        {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}},
        {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
    ],
    ids=["wildcard-value", "negated", "service-only"],
)
def test_policy_fails_when_the_condition_does_not_pin_the_caller(make_key, aws, condition):
    loose = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": condition,
    }
    finding = check_finding(PUBLIC, make_key(Policy=key_policy(loose)), aws)
    assert finding.status is Status.FAIL
    assert "(statement #1)" in finding.reason


def test_policy_exempt_key_is_reported_exempt(make_key, aws):
    public = {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    finding = check_finding(PUBLIC, make_key(exempt="true", Policy=key_policy(public)), aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_policy_missing_key_is_not_applicable(aws):
    assert check_finding(PUBLIC, MISSING_KEY, aws).status is Status.NOT_APPLICABLE
