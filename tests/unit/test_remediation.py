"""The remediation safety model, enforced in one place for every fix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aiwarden.engine import remediate, scan
from aiwarden.model import SCAN_TRIGGER, Status, TriggerInfo
from aiwarden.registry import select
from aiwarden.remediation import Policy, Remediator

BUCKET = "aiw-datasets-plain"
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
ROLE = "arn:aws:iam::123456789012:role/aiwarden-RemediationRole-ABC"


def plain_bucket(aws: Any, tags: dict[str, str] | None = None) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration=SSE_S3)
    if tags:
        s3.put_bucket_tagging(
            Bucket=BUCKET, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )


def algorithm(aws: Any) -> str:
    rules = aws.client("s3").get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    return str(rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])


def run(
    aws: Any,
    policy: Policy,
    check: str = "s3_bucket_default_encryption_kms",
    trigger: TriggerInfo = SCAN_TRIGGER,
    attempts: int = 0,
    audit: list[dict[str, Any]] | None = None,
) -> Any:
    findings = scan(aws, select([check]))
    remediator = Remediator(
        policy=policy,
        read_clients=aws,
        act_clients=lambda: aws,
        attempts=lambda *_: attempts,
        audit=(audit.append if audit is not None else None),
    )
    [finding] = remediate(findings, remediator, trigger)
    return finding


def test_dry_run_reports_and_changes_nothing(aws):
    plain_bucket(aws)
    finding = run(aws, Policy(mode="dry-run"))
    assert finding.remediation.outcome == "would-remediate"
    assert "allow-list" in finding.remediation.detail
    assert algorithm(aws) == "AES256"
    assert finding.to_dict()["remediation"]["mode"] == "dry-run"


def test_enforce_fixes_allowed_check_and_verifies_it(aws):
    plain_bucket(aws)
    audit: list[dict[str, Any]] = []
    finding = run(
        aws, Policy(mode="enforce", allowed=frozenset({"s3_bucket_default_encryption_kms"})), audit=audit
    )
    assert (finding.remediation.outcome, finding.remediation.compliant_after) == ("remediated", True)
    assert algorithm(aws) == "aws:kms"
    assert [a["outcome"] for a in audit] == ["remediated"]
    assert audit[0]["resource"] == f"arn:aws:s3:::{BUCKET}"


def test_enforce_skips_checks_outside_the_allow_list(aws):
    plain_bucket(aws)
    finding = run(aws, Policy(mode="enforce", allowed=frozenset({"s3_bucket_public_access_blocked"})))
    assert finding.remediation.outcome == "skipped-not-allowed"
    assert algorithm(aws) == "AES256"


def test_off_mode_does_not_even_decide(aws):
    plain_bucket(aws)
    finding = run(aws, Policy(mode="off", allowed=frozenset({"*"})))
    assert finding.remediation is None
    assert "remediation" not in finding.to_dict()


def test_exempt_resource_is_skipped_and_audited(aws):
    plain_bucket(aws, {"aiwarden:exempt": "true"})
    audit: list[dict[str, Any]] = []
    finding = run(aws, Policy(mode="enforce", allowed=frozenset({"*"})), audit=audit)
    assert finding.status is Status.EXEMPT
    assert finding.remediation.outcome == "skipped-exempt"
    assert algorithm(aws) == "AES256"
    assert audit[0]["outcome"] == "skipped-exempt"


def test_change_made_by_the_remediation_role_is_never_remediated_again(aws):
    plain_bucket(aws)
    trigger = TriggerInfo(
        kind="cloudtrail", actor=f"arn:aws:sts::123456789012:assumed-role/{ROLE.rsplit('/', 1)[1]}/x"
    )
    policy = Policy(mode="enforce", allowed=frozenset({"*"}), remediation_role_arn=ROLE)
    finding = run(aws, policy, trigger=trigger)
    assert finding.remediation.outcome == "skipped-loop"
    assert algorithm(aws) == "AES256"


def test_rate_limit_stops_ping_pong(aws):
    plain_bucket(aws)
    policy = Policy(mode="enforce", allowed=frozenset({"*"}), max_attempts=3, window=timedelta(hours=1))
    finding = run(aws, policy, attempts=3)
    assert finding.remediation.outcome == "skipped-rate-limit"
    assert algorithm(aws) == "AES256"


def test_failed_call_leaves_resource_as_it_was_and_reports(aws, monkeypatch):
    plain_bucket(aws)
    s3 = aws.client("s3")

    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutBucketEncryption")

    monkeypatch.setattr(s3, "put_bucket_encryption", denied)
    finding = run(aws, Policy(mode="enforce", allowed=frozenset({"*"})))
    assert finding.remediation.outcome == "failed"
    assert "AccessDenied" in finding.remediation.detail
    assert algorithm(aws) == "AES256"


def test_public_access_block_fix(aws):
    aws.client("s3").create_bucket(Bucket=BUCKET)
    finding = run(
        aws, Policy(mode="enforce", allowed=frozenset({"*"})), check="s3_bucket_public_access_blocked"
    )
    assert finding.remediation.outcome == "remediated"
    block = aws.client("s3").get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def notebook(aws: Any) -> None:
    role = aws.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="open-nb",
        InstanceType="ml.t3.medium",
        RoleArn=role,
        DirectInternetAccess="Enabled",
    )


def test_disruptive_fix_needs_its_check_named(aws):
    notebook(aws)
    check = "sagemaker_notebook_direct_internet_access_disabled"
    skipped = run(aws, Policy(mode="enforce", allowed=frozenset({"*"})), check=check)
    assert skipped.remediation.outcome == "skipped-not-allowed"
    assert "disruptive" in skipped.remediation.detail
    status = aws.client("sagemaker").describe_notebook_instance(NotebookInstanceName="open-nb")
    assert status["NotebookInstanceStatus"] == "InService"


def test_named_disruptive_fix_stops_the_notebook(aws):
    notebook(aws)
    check = "sagemaker_notebook_direct_internet_access_disabled"
    finding = run(aws, Policy(mode="enforce", allowed=frozenset({check})), check=check)
    status = aws.client("sagemaker").describe_notebook_instance(NotebookInstanceName="open-nb")
    assert status["NotebookInstanceStatus"] in {"Stopping", "Stopped"}
    # Stopping does not make the notebook compliant: the setting is immutable, and the result says so.
    assert finding.remediation.outcome == "partial"
    assert finding.remediation.compliant_after is False


def console_user(aws: Any, name: str, admin: bool) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Correct-Horse-Battery-9")
    if admin:
        iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto attaches AWS managed policies (AdministratorAccess) only when asked to load them."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.mark.parametrize(
    ("name", "admin", "break_glass", "outcome"),
    [
        ("root-admin", True, False, "remediated"),
        ("analyst", False, False, "skipped-guard"),
        ("emergency", True, True, "skipped-guard"),
    ],
)
def test_console_password_removed_only_for_admins_outside_break_glass(
    managed_policies, aws, name, admin, break_glass, outcome
):
    console_user(aws, name, admin)
    check = "iam_user_console_mfa_enabled"
    policy = Policy(
        mode="enforce",
        allowed=frozenset({check}),
        break_glass_users=frozenset({name} if break_glass else set()),
    )
    finding = run(aws, policy, check=check)
    assert finding.remediation.outcome == outcome
    try:
        aws.client("iam").get_login_profile(UserName=name)
        still_has_password = True
    except ClientError:
        still_has_password = False
    assert still_has_password is (outcome != "remediated")


def test_policy_from_env_rejects_unknown_mode(monkeypatch):
    monkeypatch.setenv("AIWARDEN_REMEDIATION_MODE", "yolo")
    with pytest.raises(ValueError, match="dry-run"):
        Policy.from_env()


def test_policy_from_env_defaults_to_dry_run(monkeypatch):
    monkeypatch.delenv("AIWARDEN_REMEDIATION_MODE", raising=False)
    assert Policy.from_env().mode == "dry-run"


def test_public_policy_statement_is_removed_only_by_opt_in(aws, monkeypatch):
    import json

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            },
            {
                "Sid": "Team",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    policy_check = "s3_bucket_public_access_blocked"
    kept = run(aws, Policy(mode="enforce", allowed=frozenset({"*"})), check=policy_check)
    # Block Public Access neutralises the statement (RestrictPublicBuckets), so the bucket is
    # compliant; editing what the owner wrote stays opt-in, and the detail says how.
    assert (kept.remediation.outcome, kept.remediation.compliant_after) == ("remediated", True)
    assert "AIWARDEN_REMOVE_PUBLIC_STATEMENTS" in kept.remediation.detail
    assert len(json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]) == 2

    monkeypatch.setenv("AIWARDEN_REMOVE_PUBLIC_STATEMENTS", "true")
    s3.delete_public_access_block(Bucket=BUCKET)
    removed = run(aws, Policy(mode="enforce", allowed=frozenset({"*"})), check=policy_check)
    assert (removed.remediation.outcome, removed.remediation.compliant_after) == ("remediated", True)
    assert [st["Sid"] for st in json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]] == [
        "Team"
    ]
