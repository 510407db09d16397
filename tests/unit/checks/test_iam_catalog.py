"""The IAM / account catalog: root user, password policy, user credentials and admin access, AI
service roles and PassRole escalation policies, run as the engine runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aiwarden.checks import iam as iam_checks
from aiwarden.engine import evaluate
from aiwarden.events import Target, normalise
from aiwarden.model import Status
from aiwarden.resources.account import ACCOUNT
from aiwarden.resources.iam import POLICY, ROLE, USER
from tests.unit.helpers import ACCOUNT as ACCOUNT_ID
from tests.unit.helpers import REGION, check_finding

ROOT_MFA = "iam_root_mfa_enabled"
ROOT_KEY = "iam_root_access_key_absent"
PASSWORD = "iam_password_policy_strong"
UNUSED = "iam_user_credentials_used_recently"
USER_ADMIN = "iam_user_no_admin_policy_attached"
SAGEMAKER_ROLE = "iam_sagemaker_execution_role_least_privilege"
BEDROCK_ROLE = "iam_bedrock_service_role_least_privilege"
ESCALATION = "iam_policy_no_passrole_escalation_to_sagemaker"

USER_NAME = "aiw-data-scientist"
ROLE_NAME = "aiw-sagemaker-exec"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
SAGEMAKER_FULL_ARN = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
EXEMPT = [{"Key": "aiwarden:exempt", "Value": "true"}]
CONSOLE_PASSWORD = "Corr3ct-Horse-Battery-Staple!"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


SCOPED = allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::aiw-datasets/*")
ADMIN = allow("*")


def trust(service: str) -> str:
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


@pytest.fixture
def iam(aws):
    return aws.client("iam")


@pytest.fixture
def managed_policies(monkeypatch):
    """Load AWS managed policies (AdministratorAccess, AmazonSageMakerFullAccess) into moto's IAM
    backend; it is built lazily, at the test's first IAM call, so this must come first."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def make_role(iam):
    def make(
        name: str = ROLE_NAME,
        service: str = "sagemaker.amazonaws.com",
        *,
        attach: tuple[str, ...] = (),
        inline: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> str:
        iam.create_role(RoleName=name, Path="/ml/", AssumeRolePolicyDocument=trust(service), Tags=tags or [])
        for arn in attach:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy_name, body in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=body)
        return name

    return make


@pytest.fixture
def make_policy(iam):
    def make(name: str, body: str, *, path: str = "/", tags: list[dict[str, str]] | None = None) -> str:
        return str(
            iam.create_policy(PolicyName=name, Path=path, PolicyDocument=body, Tags=tags or [])["Policy"][
                "Arn"
            ]
        )

    return make


def move_clock(monkeypatch, days: int) -> None:
    monkeypatch.setattr(iam_checks, "_now", lambda: datetime.now(UTC) + timedelta(days=days))


def cloudtrail_event(event_name: str, **request: Any) -> dict[str, Any]:
    """An "AWS API Call via CloudTrail" envelope as EventBridge delivers IAM calls (us-east-1)."""
    return {
        "version": "0",
        "id": "6f1b2c3d-0000-4000-8000-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": ACCOUNT_ID,
        "time": "2026-11-25T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/admin"},
            "eventTime": "2026-11-25T10:00:00Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.10",
            "requestParameters": request,
            "responseElements": None,
            "eventID": "a1b2c3d4-0000-4000-8000-000000000002",
            "recipientAccountId": ACCOUNT_ID,
        },
    }


def findings_for(event: dict[str, Any], aws) -> dict[tuple[str, str], Status]:
    invocation = normalise(event)
    return {(f.check_id, f.ref.resource_id): f.status for f in evaluate(invocation.targets, aws)}


# --- iam_root_mfa_enabled (AWS::::Account has no tags: no exempt case; it cannot be gone) ----------


def stub_summary(iam, **summary: int) -> Stubber:
    stubber = Stubber(iam)
    stubber.add_response("get_account_summary", {"SummaryMap": summary})
    return stubber


def test_root_with_mfa_passes(iam, aws):
    # moto always reports AccountMFAEnabled=0: the passing case needs a stubbed summary.
    with stub_summary(iam, AccountMFAEnabled=1, AccountPasswordPresent=1, AccountAccessKeysPresent=0):
        finding = check_finding(ROOT_MFA, ACCOUNT_ID, aws)

    assert finding.status is Status.PASS
    assert "has MFA enabled" in finding.reason


def test_root_without_password_passes_like_iam_9(iam, aws):
    with stub_summary(iam, AccountMFAEnabled=0, AccountPasswordPresent=0, AccountAccessKeysPresent=0):
        finding = check_finding(ROOT_MFA, ACCOUNT_ID, aws)

    assert finding.status is Status.PASS
    assert "no password" in finding.reason


def test_root_with_password_and_no_mfa_fails(iam, aws):
    with stub_summary(iam, AccountMFAEnabled=0, AccountPasswordPresent=1, AccountAccessKeysPresent=0):
        finding = check_finding(ROOT_MFA, ACCOUNT_ID, aws)

    assert finding.status is Status.FAIL
    assert f"account {ACCOUNT_ID}" in finding.reason
    assert "without MFA" in finding.reason


def test_root_mfa_unknown_password_state_fails_on_moto(aws):
    # moto's summary has AccountMFAEnabled=0 and no AccountPasswordPresent at all.
    assert check_finding(ROOT_MFA, ACCOUNT_ID, aws).status is Status.FAIL


# --- iam_root_access_key_absent --------------------------------------------------------------------


def test_root_without_access_keys_passes(aws):
    finding = check_finding(ROOT_KEY, ACCOUNT_ID, aws)

    assert finding.status is Status.PASS
    assert "no access keys" in finding.reason


def test_root_with_access_key_fails(iam, aws):
    # moto never reports root keys (AccountAccessKeysPresent is always 0).
    with stub_summary(iam, AccountMFAEnabled=1, AccountAccessKeysPresent=1):
        finding = check_finding(ROOT_KEY, ACCOUNT_ID, aws)

    assert finding.status is Status.FAIL
    assert f"root user of account {ACCOUNT_ID} has an access key" in finding.reason


def test_root_checks_read_the_account_summary_once(iam, aws):
    stubber = stub_summary(iam, AccountMFAEnabled=1, AccountAccessKeysPresent=1)
    with stubber:  # one stubbed response only: a second GetAccountSummary would raise
        findings = evaluate([Target(scope=ACCOUNT, check_ids=frozenset({ROOT_MFA, ROOT_KEY}))], aws)
    statuses = {f.check_id: f.status for f in findings}

    assert statuses[ROOT_MFA] is Status.PASS
    assert statuses[ROOT_KEY] is Status.FAIL
    stubber.assert_no_pending_responses()


# --- iam_password_policy_strong ----------------------------------------------------------------------


def test_cis_password_policy_passes(iam, aws):
    iam.update_account_password_policy(
        MinimumPasswordLength=16, PasswordReusePrevention=24, MaxPasswordAge=90
    )

    finding = check_finding(PASSWORD, ACCOUNT_ID, aws)

    assert finding.status is Status.PASS
    assert "16+ characters" in finding.reason


def test_no_password_policy_fails(aws):
    finding = check_finding(PASSWORD, ACCOUNT_ID, aws)

    assert finding.status is Status.FAIL
    assert "no IAM password policy" in finding.reason


def test_weak_password_policy_names_every_failing_requirement(iam, aws):
    iam.update_account_password_policy(MinimumPasswordLength=8)

    finding = check_finding(PASSWORD, ACCOUNT_ID, aws)

    assert finding.status is Status.FAIL
    assert "minimum length 8 (needs 14 or more)" in finding.reason
    assert "remembers 0 previous passwords (needs 24)" in finding.reason
    assert "passwords never expire" in finding.reason


def test_password_policy_names_only_what_fails(iam, aws):
    iam.update_account_password_policy(
        MinimumPasswordLength=14, PasswordReusePrevention=24, MaxPasswordAge=180
    )

    finding = check_finding(PASSWORD, ACCOUNT_ID, aws)

    assert finding.status is Status.FAIL
    assert "passwords expire after 180 days (needs 90 or less)" in finding.reason
    assert "minimum length" not in finding.reason
    assert "remembers" not in finding.reason


def test_root_key_events_re_evaluate_the_account(aws):
    invocation = normalise(cloudtrail_event("CreateAccessKey"))

    account_targets = [t for t in invocation.targets if t.scope is ACCOUNT]
    assert len(account_targets) == 1
    assert account_targets[0].ref is None
    assert account_targets[0].check_ids == {ROOT_KEY}


def test_password_policy_change_event_re_evaluates_the_account(iam, aws):
    iam.update_account_password_policy(MinimumPasswordLength=6)

    statuses = findings_for(cloudtrail_event("UpdateAccountPasswordPolicy", minimumPasswordLength=6), aws)

    assert statuses == {(PASSWORD, ACCOUNT_ID): Status.FAIL}


# --- iam_user_credentials_used_recently ----------------------------------------------------------


@pytest.fixture
def make_user(iam):
    def make(
        name: str = USER_NAME, *, console: bool = False, key: bool = False, exempt: bool = False
    ) -> dict[str, str]:
        iam.create_user(UserName=name, Tags=EXEMPT if exempt else [])
        made = {"name": name}
        if console:
            iam.create_login_profile(UserName=name, Password=CONSOLE_PASSWORD)
        if key:
            access_key = iam.create_access_key(UserName=name)["AccessKey"]
            made.update(key_id=access_key["AccessKeyId"], secret=access_key["SecretAccessKey"])
        return made

    return make


def use_key(user: dict[str, str]) -> None:
    """Call AWS with the user's key: moto records it as the key's last use (now)."""
    boto3.client(
        "sts",
        region_name=REGION,
        aws_access_key_id=user["key_id"],
        aws_secret_access_key=user["secret"],
        aws_session_token=None,
    ).get_caller_identity()


def test_user_without_credentials_passes(make_user, aws):
    make_user()

    finding = check_finding(UNUSED, USER_NAME, aws)

    assert finding.status is Status.PASS
    assert "no console password or active access key" in finding.reason


def test_fresh_credentials_pass(make_user, aws, monkeypatch):
    make_user(console=True, key=True)
    move_clock(monkeypatch, 44)

    finding = check_finding(UNUSED, USER_NAME, aws)

    assert finding.status is Status.PASS
    assert "none of user aiw-data-scientist's 2 credential(s) has gone unused" in finding.reason


def test_credentials_never_used_for_45_days_fail(make_user, aws, monkeypatch):
    user = make_user(console=True, key=True)
    move_clock(monkeypatch, 46)

    finding = check_finding(UNUSED, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert "console password unused since it was set 46 days ago" in finding.reason
    assert f"access key {user['key_id']} never used since it was created 46 days ago" in finding.reason


def test_key_used_recently_passes(make_user, aws, monkeypatch):
    user = make_user(key=True)
    use_key(user)
    move_clock(monkeypatch, 10)

    assert check_finding(UNUSED, USER_NAME, aws).status is Status.PASS


def test_key_last_used_long_ago_fails(make_user, aws, monkeypatch):
    user = make_user(key=True)
    use_key(user)
    move_clock(monkeypatch, 50)

    finding = check_finding(UNUSED, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert f"access key {user['key_id']} last used 50 days ago" in finding.reason


def test_inactive_old_key_is_ignored(make_user, iam, aws, monkeypatch):
    user = make_user(key=True)
    iam.update_access_key(UserName=USER_NAME, AccessKeyId=user["key_id"], Status="Inactive")
    move_clock(monkeypatch, 400)

    assert check_finding(UNUSED, USER_NAME, aws).status is Status.PASS


def test_exempt_user_with_stale_credentials_is_exempt(make_user, aws, monkeypatch):
    make_user(key=True, exempt=True)
    move_clock(monkeypatch, 90)

    finding = check_finding(UNUSED, USER_NAME, aws)

    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_missing_user_is_not_applicable_for_unused_credentials(aws):
    assert check_finding(UNUSED, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def _stub_console_user(iam, password_last_used: datetime) -> Stubber:
    """GetUser's PasswordLastUsed (moto does not track it), then the reads the check makes."""
    created = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    stubber = Stubber(iam)
    stubber.add_response(
        "get_user",
        {
            "User": {
                "Path": "/",
                "UserName": USER_NAME,
                "UserId": "AIDAEXAMPLEUSERID0001",
                "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{USER_NAME}",
                "CreateDate": created,
                "PasswordLastUsed": password_last_used,
            }
        },
        {"UserName": USER_NAME},
    )
    stubber.add_response(
        "get_login_profile",
        {"LoginProfile": {"UserName": USER_NAME, "CreateDate": created, "PasswordResetRequired": False}},
        {"UserName": USER_NAME},
    )
    stubber.add_response("list_access_keys", {"AccessKeyMetadata": []}, {"UserName": USER_NAME})
    return stubber


def test_console_password_used_recently_passes(iam, aws):
    # tested with Stubber: moto never sets PasswordLastUsed.
    with _stub_console_user(iam, datetime.now(UTC) - timedelta(days=3)) as stubber:
        finding = check_finding(UNUSED, USER_NAME, aws)
        stubber.assert_no_pending_responses()

    assert finding.status is Status.PASS


def test_console_password_last_used_long_ago_fails(iam, aws):
    with _stub_console_user(iam, datetime.now(UTC) - timedelta(days=120)):
        finding = check_finding(UNUSED, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert "console password last used 120 days ago" in finding.reason


# --- iam_user_no_admin_policy_attached -----------------------------------------------------------


def test_user_with_scoped_policies_passes(make_user, make_policy, iam, aws):
    make_user()
    iam.attach_user_policy(UserName=USER_NAME, PolicyArn=make_policy("aiw-read-data", document(SCOPED)))
    iam.put_user_policy(UserName=USER_NAME, PolicyName="logs", PolicyDocument=document(allow("logs:*")))

    finding = check_finding(USER_ADMIN, USER_NAME, aws)

    assert finding.status is Status.PASS
    assert "no administrator policy" in finding.reason


def test_user_with_administrator_access_fails(managed_policies, make_user, iam, aws):
    make_user()
    iam.attach_user_policy(UserName=USER_NAME, PolicyArn=ADMIN_ARN)

    finding = check_finding(USER_ADMIN, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert "AdministratorAccess" in finding.reason


def test_user_with_customer_star_policy_fails(make_user, make_policy, iam, aws):
    make_user()
    iam.attach_user_policy(UserName=USER_NAME, PolicyArn=make_policy("aiw-god-mode", document(ADMIN)))

    finding = check_finding(USER_ADMIN, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert "managed policy aiw-god-mode allows Action * on Resource *" in finding.reason


def test_user_with_inline_star_star_policy_fails(make_user, iam, aws):
    make_user()
    iam.put_user_policy(UserName=USER_NAME, PolicyName="oops", PolicyDocument=document(allow(["*:*"])))

    finding = check_finding(USER_ADMIN, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert "inline policy oops" in finding.reason


def test_user_admin_through_group_fails(make_user, make_policy, iam, aws):
    make_user()
    iam.create_group(GroupName="aiw-admins")
    iam.put_group_policy(GroupName="aiw-admins", PolicyName="all", PolicyDocument=document(ADMIN))
    iam.add_user_to_group(GroupName="aiw-admins", UserName=USER_NAME)

    finding = check_finding(USER_ADMIN, USER_NAME, aws)

    assert finding.status is Status.FAIL
    assert "inline policy all (via group aiw-admins)" in finding.reason


def test_exempt_admin_user_is_exempt(make_user, make_policy, iam, aws):
    make_user(exempt=True)
    iam.put_user_policy(UserName=USER_NAME, PolicyName="all", PolicyDocument=document(ADMIN))

    assert check_finding(USER_ADMIN, USER_NAME, aws).status is Status.EXEMPT


def test_missing_user_is_not_applicable_for_admin(aws):
    assert check_finding(USER_ADMIN, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def test_new_policy_version_re_evaluates_users_of_its_groups(make_user, make_policy, iam, aws):
    make_user()
    arn = make_policy("aiw-team", document(SCOPED), path="/team/")
    iam.create_group(GroupName="aiw-team")
    iam.attach_group_policy(GroupName="aiw-team", PolicyArn=arn)
    iam.add_user_to_group(GroupName="aiw-team", UserName=USER_NAME)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(ADMIN), SetAsDefault=True)

    statuses = findings_for(cloudtrail_event("CreatePolicyVersion", policyArn=arn, setAsDefault=True), aws)

    assert statuses[(USER_ADMIN, USER_NAME)] is Status.FAIL


# --- iam_sagemaker_execution_role_least_privilege / iam_bedrock_service_role_least_privilege ------


def test_scoped_sagemaker_role_passes(make_role, make_policy, aws):
    make_role(
        attach=(make_policy("aiw-train", document(SCOPED)),), inline={"logs": document(allow("logs:*"))}
    )

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.PASS
    assert "2 policies" in finding.reason
    assert finding.ref.arn == f"arn:aws:iam::{ACCOUNT_ID}:role/ml/{ROLE_NAME}"
    assert finding.ref.region == "global"


def test_sagemaker_role_with_administrator_access_fails(managed_policies, make_role, aws):
    make_role(attach=(ADMIN_ARN,))

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.FAIL
    assert "AdministratorAccess is attached" in finding.reason
    assert "sagemaker.amazonaws.com" in finding.reason


def test_sagemaker_role_with_inline_star_fails(make_role, aws):
    make_role(inline={"everything": document(allow(["*:*"]))})

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.FAIL
    assert "inline policy everything allows Action * on Resource *" in finding.reason


def test_sagemaker_role_passing_any_role_fails(make_role, make_policy, aws):
    make_role(attach=(make_policy("aiw-pass", document(SCOPED, allow("iam:PassRole"))),))

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.FAIL
    assert "managed policy aiw-pass allows iam:PassRole on *" in finding.reason


def test_passrole_to_every_role_arn_counts_as_star(managed_policies, make_role, aws):
    # Documented choice: AmazonSageMakerFullAccess passes arn:aws:iam::*:role/* to SageMaker.
    make_role(attach=(SAGEMAKER_FULL_ARN,))

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.FAIL
    assert "AmazonSageMakerFullAccess allows iam:PassRole on arn:aws:iam::*:role/*" in finding.reason


def test_passrole_to_named_roles_passes(make_role, aws):
    named = allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT_ID}:role/aiw-training-*")
    make_role(inline={"pass": document(named)})

    assert check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws).status is Status.PASS


def test_unconditional_deny_takes_passrole_back(make_role, aws):
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}
    make_role(inline={"pass": document(allow("iam:Pass*"), deny)})

    assert check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws).status is Status.PASS


def test_role_not_trusted_by_sagemaker_is_not_applicable(make_role, aws):
    make_role(service="lambda.amazonaws.com", inline={"everything": document(ADMIN)})

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.NOT_APPLICABLE
    assert "not trusted by sagemaker.amazonaws.com" in finding.reason


def test_exempt_sagemaker_role_is_exempt(make_role, aws):
    make_role(inline={"everything": document(ADMIN)}, tags=EXEMPT)

    finding = check_finding(SAGEMAKER_ROLE, ROLE_NAME, aws)

    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_missing_role_is_not_applicable(aws):
    finding = check_finding(SAGEMAKER_ROLE, "aiw-never-created", aws)

    assert finding.status is Status.NOT_APPLICABLE
    assert "no longer exists" in finding.reason


def test_scoped_bedrock_role_passes(make_role, aws):
    make_role("aiw-bedrock-kb", "bedrock.amazonaws.com", inline={"kb": document(SCOPED)})

    assert check_finding(BEDROCK_ROLE, "aiw-bedrock-kb", aws).status is Status.PASS


def test_bedrock_role_with_star_fails(make_role, make_policy, aws):
    make_role("aiw-bedrock-kb", "bedrock.amazonaws.com", attach=(make_policy("aiw-all", document(ADMIN)),))

    finding = check_finding(BEDROCK_ROLE, "aiw-bedrock-kb", aws)

    assert finding.status is Status.FAIL
    assert "assumed by bedrock.amazonaws.com" in finding.reason


def test_sagemaker_role_is_out_of_scope_for_bedrock_check(make_role, aws):
    make_role(inline={"everything": document(ADMIN)})

    assert check_finding(BEDROCK_ROLE, ROLE_NAME, aws).status is Status.NOT_APPLICABLE


def test_exempt_bedrock_role_is_exempt(make_role, aws):
    make_role("aiw-bedrock-kb", "bedrock.amazonaws.com", inline={"all": document(ADMIN)}, tags=EXEMPT)

    assert check_finding(BEDROCK_ROLE, "aiw-bedrock-kb", aws).status is Status.EXEMPT


def test_missing_role_is_not_applicable_for_bedrock(aws):
    assert check_finding(BEDROCK_ROLE, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def test_shared_policy_document_is_fetched_once(make_role, make_policy, iam, aws):
    arn = make_policy("aiw-shared", document(SCOPED))
    make_role("aiw-sm-a", attach=(arn,))
    make_role("aiw-sm-b", attach=(arn,))
    calls: list[str] = []
    iam.meta.events.register("before-call.iam.GetPolicy", lambda **_: calls.append("GetPolicy"))
    iam.meta.events.register("before-call.iam.GetPolicyVersion", lambda **_: calls.append("GetPolicyVersion"))

    findings = evaluate(normalise(cloudtrail_event("CreatePolicyVersion", policyArn=arn)).targets, aws)

    assert {(f.check_id, f.ref.resource_id) for f in findings if f.status is Status.PASS} >= {
        (SAGEMAKER_ROLE, "aiw-sm-a"),
        (SAGEMAKER_ROLE, "aiw-sm-b"),
    }
    assert calls.count("GetPolicy") == 1
    assert calls.count("GetPolicyVersion") == 1


def test_role_events_name_the_role(make_role, aws):
    make_role(inline={"everything": document(ADMIN)})

    statuses = findings_for(
        cloudtrail_event("PutRolePolicy", roleName=ROLE_NAME, policyName="everything"), aws
    )

    assert statuses[(SAGEMAKER_ROLE, ROLE_NAME)] is Status.FAIL
    assert statuses[(BEDROCK_ROLE, ROLE_NAME)] is Status.NOT_APPLICABLE


def test_new_policy_version_re_evaluates_roles_that_attach_it(make_role, make_policy, iam, aws):
    arn = make_policy("aiw-train", document(SCOPED), path="/ml/")
    make_role(attach=(arn,))
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(ADMIN), SetAsDefault=True)

    statuses = findings_for(cloudtrail_event("CreatePolicyVersion", policyArn=arn, setAsDefault=True), aws)

    assert statuses[(SAGEMAKER_ROLE, ROLE_NAME)] is Status.FAIL
    # Action * on * also pairs iam:PassRole with sagemaker:Create*: the policy check fails too.
    assert statuses[(ESCALATION, "ml/aiw-train")] is Status.FAIL


# --- iam_policy_no_passrole_escalation_to_sagemaker --------------------------------------------------


@pytest.fixture
def attached_policy(make_policy, make_user, iam):
    """A customer managed policy attached to a user, so it is in scope."""

    def make(
        body: str, *, name: str = "aiw-ml-dev", path: str = "/", tags: list[dict[str, str]] | None = None
    ):
        arn = make_policy(name, body, path=path, tags=tags)
        make_user(f"holder-{name}")
        iam.attach_user_policy(UserName=f"holder-{name}", PolicyArn=arn)
        return POLICY.id_from_arn(arn)

    return make


ESCALATING = document(allow("iam:PassRole"), allow(["sagemaker:CreateTrainingJob", "sagemaker:Describe*"]))


def test_passrole_with_sagemaker_job_creation_fails(attached_policy, aws):
    policy_id = attached_policy(ESCALATING)

    finding = check_finding(ESCALATION, policy_id, aws)

    assert finding.status is Status.FAIL
    assert "iam:PassRole on * together with sagemaker:CreateTrainingJob" in finding.reason


def test_wildcard_actions_are_expanded(attached_policy, aws):
    policy_id = attached_policy(document(allow(["iam:Pass*", "sagemaker:Create*"])), path="/team/")

    finding = check_finding(ESCALATION, policy_id, aws)

    assert policy_id == "team/aiw-ml-dev"
    assert finding.status is Status.FAIL
    assert "sagemaker:CreateNotebookInstance" in finding.reason
    assert "sagemaker:CreatePresignedNotebookInstanceUrl" in finding.reason


def test_passrole_scoped_to_named_roles_passes(attached_policy, aws):
    scoped = allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT_ID}:role/aiw-sagemaker-exec")
    policy_id = attached_policy(document(scoped, allow("sagemaker:CreateTrainingJob")))

    finding = check_finding(ESCALATION, policy_id, aws)

    assert finding.status is Status.PASS
    assert "does not allow iam:PassRole on every role" in finding.reason


def test_passrole_without_sagemaker_creation_passes(attached_policy, aws):
    policy_id = attached_policy(document(allow("iam:PassRole"), allow("sagemaker:Describe*")))

    assert check_finding(ESCALATION, policy_id, aws).status is Status.PASS


def test_unattached_policy_is_not_applicable(make_policy, aws):
    arn = make_policy("aiw-unused", ESCALATING)

    finding = check_finding(ESCALATION, POLICY.id_from_arn(arn), aws)

    assert finding.status is Status.NOT_APPLICABLE
    assert "not attached" in finding.reason


def test_exempt_policy_is_exempt(attached_policy, aws):
    policy_id = attached_policy(ESCALATING, tags=EXEMPT)

    assert check_finding(ESCALATION, policy_id, aws).status is Status.EXEMPT


def test_missing_policy_is_not_applicable(aws):
    assert check_finding(ESCALATION, "aiw-never-created", aws).status is Status.NOT_APPLICABLE


def test_sweep_lists_only_attached_customer_policies(attached_policy, make_policy, aws):
    attached_policy(ESCALATING)
    make_policy("aiw-unused", ESCALATING)

    assert [ref.resource_id for ref in POLICY.list_refs(aws)] == ["aiw-ml-dev"]


def test_attach_event_evaluates_the_policy(attached_policy, aws):
    policy_id = attached_policy(ESCALATING)
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/{policy_id}"

    statuses = findings_for(
        cloudtrail_event("AttachUserPolicy", userName="holder-aiw-ml-dev", policyArn=arn), aws
    )

    assert statuses[(ESCALATION, policy_id)] is Status.FAIL
    assert statuses[(USER_ADMIN, "holder-aiw-ml-dev")] is Status.PASS


# --- resource types ----------------------------------------------------------------------------------


def test_iam_types_are_global_and_map_arns_back():
    assert ROLE.is_global and POLICY.is_global and USER.is_global
    assert ROLE.id_from_arn(f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/aiw-exec") == "aiw-exec"
    assert POLICY.id_from_arn(f"arn:aws:iam::{ACCOUNT_ID}:policy/team/aiw-p") == "team/aiw-p"
    assert POLICY.id_from_arn("arn:aws:iam::aws:policy/AdministratorAccess") is None
