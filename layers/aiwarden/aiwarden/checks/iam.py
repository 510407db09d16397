"""IAM identities that can reach AI resources, and the account's root user and password policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, Status, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import iam
from aiwarden.resources.account import ACCOUNT, account_summary, password_policy
from aiwarden.resources.iam import POLICY, ROLE, USER


@check(
    id="iam_user_console_mfa_enabled",
    title="IAM users with a console password have an MFA device",
    severity=Severity.HIGH,
    resource=USER,
    triggers=[
        cloudtrail(
            "iam",
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "EnableMFADevice",
            "DeactivateMFADevice",
            "TagUser",
            "UntagUser",
            ids="requestParameters.userName",
        )
    ],
    permissions=["iam:GetLoginProfile", "iam:ListMFADevices"],
    practice=Practice.MFA_AND_PASSWORDS,
    remediation=(
        "Have the user register an MFA device (IAM console > Users > USER > Security credentials "
        "> Assign MFA device), preferably a FIDO2 security key; until then remove the console "
        "password (aws iam delete-login-profile --user-name USER) or attach a policy that denies "
        "everything when aws:MultiFactorAuthPresent is false."
    ),
    controls={
        "AWS-FSBP": ["IAM.5"],
        "AWS-Config": ["MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS"],
        "CIS-AWS-5.0": ["1.9"],
        "NIST-800-53r5": ["AC-2(1)", "AC-3(15)", "IA-2(1)", "IA-2(2)", "IA-2(6)", "IA-2(8)"],
        "HIPAA": ["164.312(d)"],
        "GDPR": ["Art.25"],
    },
)
def user_console_mfa_enabled(user: Resource, clients: Clients) -> Outcome:
    if iam.login_profile(clients, user.name) is None:
        return ok(f"user {user.name} has no console password")
    devices = iam.mfa_devices(clients, user.name)
    if not devices:
        return fail(f"user {user.name} can sign in to the console without MFA")
    return ok(f"user {user.name} has a console password and {len(devices)} MFA device(s)")


# --- helpers shared by the catalog checks below -------------------------------------------------

# CIS AWS Foundations v5.0 1.11 / Security Hub IAM.22: credentials unused this long must go.
UNUSED_CREDENTIAL_DAYS = 45
# CIS AWS Foundations 1.7 / 1.8 (IAM.15 / IAM.16) and IAM.17 (CIS v1.2 1.11).
PASSWORD_MIN_LENGTH = 14
PASSWORD_REUSE_PREVENTION = 24
PASSWORD_MAX_AGE_DAYS = 90
# The SageMaker actions that, with iam:PassRole on every role, run code as any role SageMaker can
# assume (Prowler's privilege_escalation.py, "PassRole+SageMaker*" combinations).
SAGEMAKER_ESCALATION_ACTIONS = (
    "sagemaker:CreateNotebookInstance",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreatePresignedNotebookInstanceUrl",
)
# Changes to a role's trust or permissions policies, and to its exemption tag.
ROLE_TRIGGERS = cloudtrail(
    "iam",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "TagRole",
    "UntagRole",
    ids="requestParameters.roleName",
)
# Lineage: a new default version of a customer managed policy re-evaluates whoever it reaches.
POLICY_VERSION_TRIGGER = cloudtrail(
    "iam",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    ids="requestParameters.policyArn",
    resource=POLICY,
)
# Security Hub IAM.1's NIST SP 800-53 r5 mapping.
LEAST_PRIVILEGE_NIST = [
    "AC-2",
    "AC-2(1)",
    "AC-3",
    "AC-3(15)",
    "AC-3(7)",
    "AC-5",
    "AC-6",
    "AC-6(10)",
    "AC-6(2)",
    "AC-6(3)",
]


def _now() -> datetime:
    """The clock the credential-age check reads (tests move it instead of the credentials)."""
    return datetime.now(UTC)


def _not_applicable(reason: str) -> Outcome:
    """Out of the check's scope: AWS Config gets NOT_APPLICABLE; scans and alerts leave it out."""
    return Outcome(Status.NOT_APPLICABLE, reason)


def _account_label(account: Resource) -> str:
    return f"account {account.name}"


# --- root user and password policy (AWS::::Account) ---------------------------------------------


# tested with Stubber: moto reports AccountMFAEnabled=0 and no AccountPasswordPresent, always.
@check(
    id="iam_root_mfa_enabled",
    title="The root user has MFA enabled",
    severity=Severity.CRITICAL,
    resource=ACCOUNT,
    # Root MFA calls carry no user name that tells root from IAM users: any MFA change re-reads.
    triggers=[
        cloudtrail(
            "iam",
            "EnableMFADevice",
            "DeactivateMFADevice",
            "CreateVirtualMFADevice",
            "DeleteVirtualMFADevice",
            ids=ALL_RESOURCES,
        )
    ],
    permissions=["iam:GetAccountSummary"],
    practice=Practice.MFA_AND_PASSWORDS,
    remediation=(
        "Sign in as the root user and assign an MFA device (account menu > Security credentials > "
        "Multi-factor authentication > Assign MFA device), preferably a FIDO2 security key; there is "
        "no API for it. Check with aws iam get-account-summary (AccountMFAEnabled must be 1). In AWS "
        "Organizations member accounts, centralised root access can remove root credentials instead."
    ),
    controls={
        "AWS-FSBP": ["IAM.9"],
        "AWS-Config": ["ROOT_ACCOUNT_MFA_ENABLED"],
        "CIS-AWS-5.0": ["1.4"],
        "NIST-800-53r5": ["AC-2(1)", "AC-3(15)", "IA-2(1)", "IA-2(2)", "IA-2(6)", "IA-2(8)"],
        "HIPAA": ["164.308(a)(3)(ii)(a)", "164.312(d)"],
        "GDPR": ["Art.25"],
    },
)
def root_mfa_enabled(account: Resource, clients: Clients) -> Outcome:
    summary = account_summary(clients)
    if summary.get("AccountMFAEnabled") == 1:
        return ok(f"the root user of {_account_label(account)} has MFA enabled")
    # Like IAM.9: a root user without a password (centralised root access) cannot sign in.
    if summary.get("AccountPasswordPresent") == 0:
        return ok(f"the root user of {_account_label(account)} has no password, so cannot sign in")
    return fail(f"the root user of {_account_label(account)} can sign in without MFA")


# tested with Stubber: moto always reports AccountAccessKeysPresent=0.
@check(
    id="iam_root_access_key_absent",
    title="The root user has no access keys",
    severity=Severity.CRITICAL,
    resource=ACCOUNT,
    # CreateAccessKey/DeleteAccessKey by root carry no userName: re-read on any key change.
    triggers=[cloudtrail("iam", "CreateAccessKey", "DeleteAccessKey", ids=ALL_RESOURCES)],
    permissions=["iam:GetAccountSummary"],
    practice=Practice.MFA_AND_PASSWORDS,
    remediation=(
        "Sign in as the root user, open Security credentials > Access keys, and delete every key "
        "(deactivating is not enough: AccountAccessKeysPresent still counts it). Move automation "
        "to IAM roles with temporary credentials; only root can delete root keys."
    ),
    controls={
        "AWS-FSBP": ["IAM.4"],
        "AWS-Config": ["IAM_ROOT_ACCESS_KEY_CHECK"],
        "CIS-AWS-5.0": ["1.3"],
        "NIST-800-53r5": ["AC-2(1)", "AC-3(15)", "AC-3(7)", "AC-6", "AC-6(10)", "AC-6(2)"],
        "HIPAA": ["164.308(a)(1)(ii)(b)", "164.308(a)(3)(i)", "164.308(a)(3)(ii)(b)"],
        "GDPR": ["Art.25"],
    },
)
def root_access_key_absent(account: Resource, clients: Clients) -> Outcome:
    if account_summary(clients).get("AccountAccessKeysPresent", 0) > 0:
        return fail(f"the root user of {_account_label(account)} has an access key")
    return ok(f"the root user of {_account_label(account)} has no access keys")


@check(
    id="iam_password_policy_strong",
    title="The IAM password policy requires 14+ characters, remembers 24 passwords, expires in 90 days",
    severity=Severity.MEDIUM,
    resource=ACCOUNT,
    triggers=[
        cloudtrail("iam", "UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy", ids=ALL_RESOURCES)
    ],
    permissions=["iam:GetAccountPasswordPolicy"],
    practice=Practice.MFA_AND_PASSWORDS,
    remediation=(
        "Set a strong account password policy (new rules apply at each user's next password "
        "change): aws iam update-account-password-policy --minimum-password-length 14 "
        "--password-reuse-prevention 24 --max-password-age 90 --require-uppercase-characters "
        "--require-lowercase-characters --require-numbers --require-symbols "
        "--allow-users-to-change-password. Better still, federate people through IAM Identity "
        "Center instead of giving them IAM user passwords."
    ),
    # IAM.7 is not claimed: its default parameters also require character classes, not checked here.
    controls={
        "AWS-FSBP": ["IAM.15", "IAM.16", "IAM.17"],
        "AWS-Config": ["IAM_PASSWORD_POLICY"],
        "CIS-AWS-5.0": ["1.7", "1.8"],
        "NIST-800-53r5": ["AC-2(1)", "AC-2(3)", "AC-3(15)", "IA-5(1)"],
        "HIPAA": ["164.308(a)(4)(ii)(c)", "164.308(a)(5)(ii)(d)", "164.312(d)"],
        "GDPR": ["Art.25"],
    },
)
def password_policy_strong(account: Resource, clients: Clients) -> Outcome:
    policy = password_policy(clients)
    if policy is None:
        return fail(
            f"{_account_label(account)} has no IAM password policy (AWS defaults: 8 characters, "
            "no reuse prevention, no expiry)"
        )
    weak = []
    length = policy.get("MinimumPasswordLength", 0)
    if length < PASSWORD_MIN_LENGTH:
        weak.append(f"minimum length {length} (needs {PASSWORD_MIN_LENGTH} or more)")
    reuse = policy.get("PasswordReusePrevention", 0)
    if reuse < PASSWORD_REUSE_PREVENTION:
        weak.append(f"remembers {reuse} previous passwords (needs {PASSWORD_REUSE_PREVENTION})")
    max_age = policy.get("MaxPasswordAge")
    if not max_age:
        weak.append(f"passwords never expire (needs {PASSWORD_MAX_AGE_DAYS} days or less)")
    elif max_age > PASSWORD_MAX_AGE_DAYS:
        weak.append(f"passwords expire after {max_age} days (needs {PASSWORD_MAX_AGE_DAYS} or less)")
    if weak:
        return fail(f"{_account_label(account)} password policy is weak: " + "; ".join(weak))
    return ok(
        f"{_account_label(account)} password policy requires {length}+ characters, remembers "
        f"{reuse} passwords and expires them after {max_age} days"
    )


# --- IAM users ----------------------------------------------------------------------------------


def _days_since(moment: datetime, now: datetime) -> int:
    return (now - moment).days


@check(
    id="iam_user_credentials_used_recently",
    title=f"IAM users have no password or active access key unused for {UNUSED_CREDENTIAL_DAYS}+ days",
    severity=Severity.MEDIUM,
    resource=USER,
    # Credentials age without any event: the scheduled sweep is what catches most of these.
    triggers=[
        cloudtrail(
            "iam",
            "CreateAccessKey",
            "UpdateAccessKey",
            "DeleteAccessKey",
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "DeleteLoginProfile",
            "TagUser",
            "UntagUser",
            ids="requestParameters.userName",
        )
    ],
    permissions=["iam:GetLoginProfile", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
    practice=Practice.MFA_AND_PASSWORDS,
    remediation=(
        "Remove what is not used: aws iam delete-login-profile --user-name USER for a stale console "
        "password, and aws iam update-access-key --user-name USER --access-key-id KEY --status "
        "Inactive (then delete-access-key once nothing breaks) for a stale key. Prefer roles and "
        "IAM Identity Center over long-lived user credentials."
    ),
    controls={
        "AWS-FSBP": ["IAM.22", "IAM.8"],
        "AWS-Config": ["IAM_USER_UNUSED_CREDENTIALS_CHECK"],
        "CIS-AWS-5.0": ["1.11"],
        "NIST-800-53r5": ["AC-2", "AC-2(1)", "AC-2(3)", "AC-3", "AC-3(15)", "AC-3(7)", "AC-6"],
        "HIPAA": ["164.308(a)(3)(ii)(b)", "164.308(a)(4)(ii)(c)", "164.308(a)(5)(ii)(d)"],
        "GDPR": ["Art.25"],
    },
)
def user_credentials_used_recently(user: Resource, clients: Clients) -> Outcome:
    """A credential counts from its last use, or from its creation when never used (GetUser's
    PasswordLastUsed and GetAccessKeyLastUsed, not the credential report, which can be 4 h old)."""
    now = _now()
    limit = timedelta(days=UNUSED_CREDENTIAL_DAYS)
    stale: list[str] = []
    checked = 0
    profile = iam.login_profile(clients, user.name)
    if profile is not None:
        checked += 1
        used = user.data.get("PasswordLastUsed")
        created = profile["CreateDate"]
        # A password re-created after its last use starts afresh.
        if used is not None and used >= created:
            if now - used >= limit:
                stale.append(f"console password last used {_days_since(used, now)} days ago")
        elif now - created >= limit:
            stale.append(f"console password unused since it was set {_days_since(created, now)} days ago")
    for key in iam.access_keys(clients, user.name):
        if key.get("Status") != "Active":
            continue
        checked += 1
        key_id = key["AccessKeyId"]
        used = iam.access_key_last_used(clients, key_id).get("LastUsedDate")
        if used is not None:
            if now - used >= limit:
                stale.append(f"access key {key_id} last used {_days_since(used, now)} days ago")
        elif now - key["CreateDate"] >= limit:
            days = _days_since(key["CreateDate"], now)
            stale.append(f"access key {key_id} never used since it was created {days} days ago")
    if stale:
        return fail(
            f"user {user.name} has credentials unused for {UNUSED_CREDENTIAL_DAYS}+ days: " + "; ".join(stale)
        )
    if not checked:
        return ok(f"user {user.name} has no console password or active access key")
    return ok(
        f"none of user {user.name}'s {checked} credential(s) has gone unused for "
        f"{UNUSED_CREDENTIAL_DAYS} days"
    )


def _admin_grants(policies: list[tuple[str, str | None, dict[str, Any]]], via: str = "") -> list[str]:
    return [
        f"{label}{via}" + ("" if label == "AdministratorAccess" else " allows Action * on Resource *")
        for label, _, document in policies
        if iam.allows_admin(document)
    ]


@check(
    id="iam_user_no_admin_policy_attached",
    title="No IAM user has administrator access through AdministratorAccess or a * on * policy",
    severity=Severity.HIGH,
    resource=USER,
    triggers=[
        cloudtrail(
            "iam",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "PutUserPolicy",
            "DeleteUserPolicy",
            "AddUserToGroup",
            "RemoveUserFromGroup",
            "TagUser",
            "UntagUser",
            ids="requestParameters.userName",
        ),
        # Group policies reach every member; there is no group resource type to follow, so all
        # users are re-read.
        cloudtrail(
            "iam",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
            "PutGroupPolicy",
            "DeleteGroupPolicy",
            ids=ALL_RESOURCES,
        ),
        POLICY_VERSION_TRIGGER,
    ],
    permissions=[
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
        "iam:ListGroupsForUser",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ],
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        "Take administrator access away from the user: aws iam detach-user-policy --user-name USER "
        "--policy-arn arn:aws:iam::aws:policy/AdministratorAccess (or delete-user-policy / "
        "remove-user-from-group for inline and group grants), and replace it with a policy scoped "
        "to the actions and resources the job needs. Break-glass administrators should assume a "
        "role with MFA rather than hold the permissions as a user."
    ),
    controls={
        "AWS-FSBP": ["IAM.1"],
        "AWS-Config": ["IAM_POLICY_BLACKLISTED_CHECK", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS"],
        "CIS-AWS-5.0": ["1.15"],
        "NIST-800-53r5": LEAST_PRIVILEGE_NIST,
        "HIPAA": ["164.308(a)(1)(ii)(b)", "164.308(a)(3)(i)", "164.308(a)(3)(ii)(b)"],
        "GDPR": ["Art.25"],
    },
)
def user_no_admin_policy_attached(user: Resource, clients: Clients) -> Outcome:
    """Looks at the user's attached and inline policies and at those of its groups (IAM.1 covers
    customer managed policies only; Prowler's iam_user_administrator_access_policy covers the
    AdministratorAccess attachment)."""
    grants = _admin_grants(iam.identity_policies(clients, "user", user.name))
    for group in iam.groups_for_user(clients, user.name):
        grants += _admin_grants(iam.identity_policies(clients, "group", group), f" (via group {group})")
    if grants:
        return fail(f"user {user.name} has administrator access: " + "; ".join(grants))
    return ok(f"user {user.name} has no administrator policy")


# --- AI service roles (AWS::IAM::Role) ----------------------------------------------------------


def _service_role_problems(role: Resource, clients: Clients) -> tuple[list[str], int]:
    problems: list[str] = []
    policies = iam.identity_policies(clients, "role", role.name)
    for label, _, document in policies:
        if label == "AdministratorAccess":
            problems.append("AdministratorAccess is attached")
        elif iam.allows_admin(document):
            problems.append(f"{label} allows Action * on Resource *")
        elif resources := iam.passrole_on_any_role(document):
            problems.append(f"{label} allows iam:PassRole on {', '.join(resources)}")
    return problems, len(policies)


def _service_role_check(service: str) -> Callable[[Resource, Clients], Outcome]:
    def evaluate(role: Resource, clients: Clients) -> Outcome:
        """Scoped to roles whose trust policy lets ``service`` assume them. Any other role is
        NOT_APPLICABLE rather than PASS: a PASS row for every role in the account would be noise
        and would inflate compliance, while NOT_APPLICABLE is what AWS Config expects for a
        resource outside a rule's scope (and scans leave it out). iam:PassRole counts when its
        resource is "*" or names every role ("arn:aws:iam::*:role/*"): for PassRole the two are
        the same grant, so AmazonSageMakerFullAccess's PassRole to SageMaker fails too.
        Conditions and permissions boundaries are not weighed."""
        if service not in iam.trusted_services(role.data):
            return _not_applicable(f"role {role.name} is not trusted by {service}")
        problems, count = _service_role_problems(role, clients)
        if problems:
            return fail(f"role {role.name} (assumed by {service}) is over-privileged: " + "; ".join(problems))
        return ok(
            f"role {role.name} (assumed by {service}) has neither administrator access nor "
            f"iam:PassRole on every role in its {count} polic{'y' if count == 1 else 'ies'}"
        )

    return evaluate


SERVICE_ROLE_PERMISSIONS = [
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
]
SERVICE_ROLE_CONTROLS: dict[str, list[str]] = {
    "AWS-FSBP": ["IAM.1"],
    "AWS-Config": ["IAM_POLICY_BLACKLISTED_CHECK", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS"],
    "CIS-AWS-5.0": ["1.15"],
    "NIST-800-53r5": LEAST_PRIVILEGE_NIST,
    "HIPAA": ["164.308(a)(1)(ii)(b)", "164.308(a)(3)(i)", "164.308(a)(3)(ii)(b)"],
    "GDPR": ["Art.25"],
}

iam_sagemaker_execution_role_least_privilege = check(
    id="iam_sagemaker_execution_role_least_privilege",
    title="SageMaker execution roles have no administrator access and cannot pass every role",
    severity=Severity.HIGH,
    resource=ROLE,
    triggers=[ROLE_TRIGGERS, POLICY_VERSION_TRIGGER],
    permissions=SERVICE_ROLE_PERMISSIONS,
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        "Code in notebooks, training and processing jobs runs with this role. Detach "
        "AdministratorAccess and AmazonSageMakerFullAccess (aws iam detach-role-policy --role-name "
        "ROLE --policy-arn ARN), remove inline * statements (aws iam delete-role-policy), and grant "
        "only the buckets, keys, ECR repositories and logs the jobs use; scope iam:PassRole to the "
        "named roles the workload must pass, with an iam:PassedToService condition. SageMaker Role "
        "Manager generates such personas."
    ),
    controls=SERVICE_ROLE_CONTROLS,
)(_service_role_check("sagemaker.amazonaws.com"))

iam_bedrock_service_role_least_privilege = check(
    id="iam_bedrock_service_role_least_privilege",
    title="Bedrock service roles have no administrator access and cannot pass every role",
    severity=Severity.HIGH,
    resource=ROLE,
    triggers=[ROLE_TRIGGERS, POLICY_VERSION_TRIGGER],
    permissions=SERVICE_ROLE_PERMISSIONS,
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        "Bedrock assumes this role for agents, knowledge bases, model customisation and batch "
        "inference. Detach AdministratorAccess (aws iam detach-role-policy --role-name ROLE "
        "--policy-arn ARN), remove inline * statements (aws iam delete-role-policy), and grant only "
        "the models (bedrock:InvokeModel on their ARNs), buckets, KMS keys and Lambda functions "
        "the workload uses; scope iam:PassRole to named roles."
    ),
    controls=SERVICE_ROLE_CONTROLS,
)(_service_role_check("bedrock.amazonaws.com"))


# --- customer managed policies (AWS::IAM::Policy) -----------------------------------------------


@check(
    id="iam_policy_no_passrole_escalation_to_sagemaker",
    title="Customer managed policies do not pair iam:PassRole on every role with SageMaker job creation",
    severity=Severity.HIGH,
    resource=POLICY,
    triggers=[
        cloudtrail(
            "iam",
            "CreatePolicyVersion",
            "SetDefaultPolicyVersion",
            "AttachUserPolicy",
            "AttachGroupPolicy",
            "AttachRolePolicy",
            "DetachUserPolicy",
            "DetachGroupPolicy",
            "DetachRolePolicy",
            "TagPolicy",
            "UntagPolicy",
            ids="requestParameters.policyArn",
        )
    ],
    permissions=["iam:GetPolicyVersion"],
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        "Whoever holds this policy can create a notebook or job with any role SageMaker may assume "
        "and run code as that role. Publish a new default version (aws iam create-policy-version "
        "--policy-arn ARN --policy-document file://scoped.json --set-as-default) that limits "
        "iam:PassRole to the named execution roles, with Condition StringEquals "
        "iam:PassedToService sagemaker.amazonaws.com, then delete the old version."
    ),
    controls={"NIST-800-53r5": ["AC-2", "AC-3", "AC-5", "AC-6"]},
)
def policy_no_passrole_escalation_to_sagemaker(policy: Resource, clients: Clients) -> Outcome:
    """Only policies attached to someone are in scope (the sweep lists OnlyAttached=True; an
    unattached one is NOT_APPLICABLE until an Attach*Policy event brings it back)."""
    name = policy.data.get("PolicyName", policy.name)
    if not policy.data.get("AttachmentCount"):
        return _not_applicable(f"policy {name} is not attached to any user, group or role")
    document = iam.managed_policy_document(clients, policy.ref.arn or "")
    passrole = iam.passrole_on_any_role(document)
    sagemaker = [a for a in SAGEMAKER_ESCALATION_ACTIONS if iam.granted_on(document, a, lambda _: True)]
    if passrole and sagemaker:
        return fail(
            f"policy {name} allows iam:PassRole on {', '.join(passrole)} together with "
            f"{', '.join(sagemaker)}: its holders can run code as any role SageMaker may assume"
        )
    if passrole:
        return ok(
            f"policy {name} allows iam:PassRole on every role but no SageMaker job or notebook creation"
        )
    return ok(f"policy {name} does not allow iam:PassRole on every role")
