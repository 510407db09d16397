"""S3 bucket checks: default KMS encryption and public access, run as the engine runs them."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from aiwarden.engine import evaluate
from aiwarden.events import Target
from aiwarden.model import ResourceRef, Status
from aiwarden.resources.s3 import BUCKET
from tests.unit.helpers import ACCOUNT, REGION, check_finding

ENCRYPTION = "s3_bucket_default_encryption_kms"
PUBLIC = "s3_bucket_public_access_blocked"
BUCKET_NAME = "aiw-datasets"
FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ALL_ON = dict.fromkeys(FIELDS, True)


@pytest.fixture
def s3(aws):
    return aws.client("s3")


@pytest.fixture
def make_bucket(s3):
    def make(name: str = BUCKET_NAME, *, exempt: str | None = None) -> str:
        s3.create_bucket(Bucket=name)
        if exempt is not None:
            s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": "aiwarden:exempt", "Value": exempt}]}
            )
        return name

    return make


@pytest.fixture
def encrypt(aws, s3):
    def apply(bucket: str, algorithm: str) -> None:
        default = {"SSEAlgorithm": algorithm}
        if algorithm.startswith("aws:kms"):
            default["KMSMasterKeyID"] = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )

    return apply


@pytest.fixture
def block(s3):
    def apply(bucket: str, **overrides: bool) -> None:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={**ALL_ON, **overrides})

    return apply


def put_policy(s3, bucket: str, *statements: dict) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def statement(sid: str, effect: str = "Allow", principal: object = "*", **condition: dict) -> dict:
    out = {
        "Sid": sid,
        "Effect": effect,
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET_NAME}/*",
    }
    if condition:
        out["Condition"] = condition
    return out


# --- s3_bucket_default_encryption_kms -------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
def test_kms_default_encryption_passes(make_bucket, encrypt, aws, algorithm):
    encrypt(make_bucket(), algorithm)

    finding = check_finding(ENCRYPTION, BUCKET_NAME, aws)

    assert finding.status is Status.PASS
    assert algorithm in finding.reason


def test_sse_s3_default_encryption_fails_naming_the_algorithm(make_bucket, encrypt, aws):
    encrypt(make_bucket(), "AES256")

    finding = check_finding(ENCRYPTION, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "AES256" in finding.reason
    assert "not SSE-KMS" in finding.reason


def test_bucket_without_encryption_config_fails(make_bucket, aws):
    make_bucket()

    finding = check_finding(ENCRYPTION, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "no default encryption" in finding.reason


@pytest.mark.parametrize("value", ["true", "TRUE", " True "])
def test_exempt_bucket_without_kms_is_exempt_not_fail(make_bucket, encrypt, aws, value):
    encrypt(make_bucket(exempt=value), "AES256")

    finding = check_finding(ENCRYPTION, BUCKET_NAME, aws)

    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt" in finding.reason
    assert "would be FAIL" in finding.reason


def test_exempt_tag_false_still_fails_encryption(make_bucket, encrypt, aws):
    encrypt(make_bucket(exempt="false"), "AES256")

    assert check_finding(ENCRYPTION, BUCKET_NAME, aws).status is Status.FAIL


@pytest.mark.parametrize("check_id", [ENCRYPTION, PUBLIC])
def test_missing_bucket_is_not_applicable(aws, check_id):
    finding = check_finding(check_id, "aiw-never-created", aws)

    assert finding.status is Status.NOT_APPLICABLE
    assert "no longer exists" in finding.reason


@pytest.mark.parametrize("check_id", [ENCRYPTION, PUBLIC])
def test_deleted_bucket_is_not_applicable(make_bucket, s3, aws, check_id):
    s3.delete_bucket(Bucket=make_bucket())

    assert check_finding(check_id, BUCKET_NAME, aws).status is Status.NOT_APPLICABLE


def test_access_denied_reading_encryption_is_an_error_not_a_crash(make_bucket, s3, aws, monkeypatch):
    make_bucket()

    def denied(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetBucketEncryption"
        )

    monkeypatch.setattr(s3, "get_bucket_encryption", denied)

    finding = check_finding(ENCRYPTION, BUCKET_NAME, aws)

    assert finding.status is Status.ERROR
    assert "AccessDenied" in finding.reason
    assert "Access Denied" in finding.reason


def test_one_check_erroring_does_not_stop_the_others(make_bucket, block, s3, aws, monkeypatch):
    block(make_bucket())

    def denied(**_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "nope"}}, "GetBucketEncryption")

    monkeypatch.setattr(s3, "get_bucket_encryption", denied)
    target = Target(
        scope=BUCKET,
        check_ids=frozenset({ENCRYPTION, PUBLIC}),
        ref=ResourceRef(BUCKET, BUCKET_NAME, REGION, ACCOUNT),
    )

    statuses = {f.check_id: f.status for f in evaluate([target], aws)}

    assert statuses == {ENCRYPTION: Status.ERROR, PUBLIC: Status.PASS}


# --- s3_bucket_public_access_blocked --------------------------------------------------------


def test_all_four_bucket_settings_pass(make_bucket, block, aws):
    block(make_bucket())

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.PASS
    assert "blocks public access" in finding.reason


@pytest.mark.parametrize("field", FIELDS)
def test_one_setting_off_fails_naming_it(make_bucket, block, aws, field):
    block(make_bucket(), **{field: False})

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert field in finding.reason
    assert all(other not in finding.reason for other in FIELDS if other != field)


def test_no_block_public_access_at_all_fails_naming_every_setting(make_bucket, aws):
    make_bucket()

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert all(field in finding.reason for field in FIELDS)


def test_account_level_block_covers_bucket_without_its_own(make_bucket, aws):
    make_bucket()
    aws.client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_ON)

    assert check_finding(PUBLIC, BUCKET_NAME, aws).status is Status.PASS


def test_account_and_bucket_settings_combine(make_bucket, block, aws):
    block(make_bucket(), BlockPublicAcls=False, IgnorePublicAcls=False)
    aws.client("s3control").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True},
    )

    assert check_finding(PUBLIC, BUCKET_NAME, aws).status is Status.PASS


def test_partial_account_block_does_not_cover_the_rest(make_bucket, aws):
    make_bucket()
    aws.client("s3control").put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration={**ALL_ON, "RestrictPublicBuckets": False}
    )

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "RestrictPublicBuckets" in finding.reason


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::111122223333:root", "*"]}])
def test_policy_open_to_everyone_fails_naming_the_sid(make_bucket, block, s3, aws, principal):
    bucket = make_bucket()
    put_policy(s3, bucket, statement("PublicRead", principal=principal))
    block(bucket, RestrictPublicBuckets=False)

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "Principal * in PublicRead" in finding.reason


def test_policy_pinned_to_a_vpc_endpoint_is_not_public(make_bucket, block, s3, aws):
    bucket = make_bucket()
    put_policy(s3, bucket, statement("ViaVpce", StringEquals={"aws:SourceVpce": "vpce-1a2b3c4d"}))
    block(bucket, RestrictPublicBuckets=False)

    # RestrictPublicBuckets is off, so the policy is judged: the bucket fails for that setting only.
    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.reason.endswith("Block Public Access off: RestrictPublicBuckets")


def test_wildcard_vpc_endpoint_condition_is_still_public(make_bucket, block, s3, aws):
    bucket = make_bucket()
    put_policy(s3, bucket, statement("AnyVpce", StringLike={"aws:SourceVpce": "vpce-*"}))
    block(bucket, RestrictPublicBuckets=False)

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "AnyVpce" in finding.reason


def test_negated_condition_does_not_pin_the_caller(make_bucket, block, s3, aws):
    # "Everyone except 10.0.0.0/8" is public; S3 only treats a fixed (positive) match as pinning.
    bucket = make_bucket()
    put_policy(s3, bucket, statement("NotInternal", NotIpAddress={"aws:SourceIp": "10.0.0.0/8"}))
    block(bucket, RestrictPublicBuckets=False)

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "NotInternal" in finding.reason


def test_deny_statement_for_everyone_is_not_public(make_bucket, block, s3, aws):
    bucket = make_bucket()
    put_policy(
        s3,
        bucket,
        statement("DenyInsecure", effect="Deny", Bool={"aws:SecureTransport": "false"}),
        statement("DenyAll", effect="Deny"),
    )
    block(bucket, RestrictPublicBuckets=False)

    # RestrictPublicBuckets is off, so the policy is judged: the bucket fails for that setting only.
    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.reason.endswith("Block Public Access off: RestrictPublicBuckets")


def test_public_read_acl_fails_naming_all_users(make_bucket, block, s3, aws):
    bucket = make_bucket()
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    block(bucket, IgnorePublicAcls=False)

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.FAIL
    assert "ACL grants AllUsers:READ" in finding.reason


def test_public_policy_neutralised_by_restrict_public_buckets_passes_and_says_so(make_bucket, block, s3, aws):
    # As AWS Config's s3-bucket-public-read-prohibited: RestrictPublicBuckets takes the public
    # statement's effect away, so it is not a failure; the reason still names it.
    bucket = make_bucket()
    put_policy(s3, bucket, statement("PublicRead"))
    block(bucket)

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.PASS
    assert "PublicRead" in finding.reason
    assert "RestrictPublicBuckets" in finding.reason


def test_ignored_public_acl_passes_without_reading_the_acl(make_bucket, block, s3, aws, monkeypatch):
    bucket = make_bucket()
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    block(bucket)
    from aiwarden.resources import s3 as s3_resource

    monkeypatch.setattr(s3_resource, "bucket_acl_grants", lambda *_: pytest.fail("ACL read although ignored"))

    assert check_finding(PUBLIC, BUCKET_NAME, aws).status is Status.PASS


def test_account_wide_block_skips_the_bucket_settings(make_bucket, s3, aws, monkeypatch):
    bucket = make_bucket()
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(FIELDS, False))
    aws.client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_ON)
    from aiwarden.resources import s3 as s3_resource

    monkeypatch.setattr(
        s3_resource, "bucket_public_access_block", lambda *_: pytest.fail("bucket settings read")
    )

    assert check_finding(PUBLIC, BUCKET_NAME, aws).status is Status.PASS


def test_exempt_public_bucket_is_exempt_not_fail(make_bucket, aws):
    make_bucket(exempt="true")

    finding = check_finding(PUBLIC, BUCKET_NAME, aws)

    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt=true" in finding.reason
    assert "would be FAIL" in finding.reason


def test_exempt_tag_false_still_fails_public_access(make_bucket, aws):
    make_bucket(exempt="false")

    assert check_finding(PUBLIC, BUCKET_NAME, aws).status is Status.FAIL
