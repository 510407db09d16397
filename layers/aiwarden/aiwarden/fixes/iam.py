"""IAM fixes. Removing a console password locks a person out, so it is opt-in by name, never for
break-glass users, and only for the critical case: an administrator without MFA. Tightening the
password policy is safe: it applies at each user's next password change."""

from __future__ import annotations

from typing import Any

from aiwarden.checks.iam import PASSWORD_MAX_AGE_DAYS, PASSWORD_MIN_LENGTH, PASSWORD_REUSE_PREVENTION
from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import Policy, fix
from aiwarden.resources.account import password_policy

ADMIN_POLICY_SUFFIX = ":policy/AdministratorAccess"


def _only_unprotected_administrators(user: Resource, policy: Policy, clients: Clients) -> str | None:
    if user.name in policy.break_glass_users:
        return f"{user.name} is a break-glass user (AIWARDEN_BREAK_GLASS_USERS): never locked out"
    iam = clients.client("iam")
    attached = iam.list_attached_user_policies(UserName=user.name).get("AttachedPolicies", [])
    if not any(p["PolicyArn"].endswith(ADMIN_POLICY_SUFFIX) for p in attached):
        # Not critical: a console user without MFA and without admin rights is flagged, not locked out.
        return (
            f"{user.name} is not an administrator: only the critical case (admin without MFA) is remediated"
        )
    return None


@fix(
    check_id="iam_user_console_mfa_enabled",
    action="remove the console password of the user without MFA",
    permissions=["iam:DeleteLoginProfile"],
    disruptive=True,
    guard=_only_unprotected_administrators,
    read_permissions=["iam:ListAttachedUserPolicies"],
)
def remove_console_password(user: Resource, clients: Clients) -> str:
    clients.client("iam").delete_login_profile(UserName=user.name)
    return (
        f"removed the console password of {user.name} (API keys untouched); re-create it once MFA is set up"
    )


# UpdateAccountPasswordPolicy resets every parameter it is not given, so the fix always sends the
# whole policy: the existing values, tightened only where the check needs it.
PASSWORD_POLICY_FLAGS = (
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
)


def strong_password_policy(existing: dict[str, Any] | None) -> dict[str, Any]:
    """The UpdateAccountPasswordPolicy parameters: CIS length, reuse and expiry, or the existing
    value where it is already stricter; every other setting kept as it is."""
    current = existing or {}
    max_age = current.get("MaxPasswordAge")
    policy: dict[str, Any] = {
        "MinimumPasswordLength": max(current.get("MinimumPasswordLength", 0), PASSWORD_MIN_LENGTH),
        "PasswordReusePrevention": max(current.get("PasswordReusePrevention", 0), PASSWORD_REUSE_PREVENTION),
        "MaxPasswordAge": min(max_age, PASSWORD_MAX_AGE_DAYS) if max_age else PASSWORD_MAX_AGE_DAYS,
        # Hard expiry (an expired password locks the user out until an admin resets it) is never
        # turned on here; an existing choice is kept.
        "HardExpiry": bool(current.get("HardExpiry", False)),
    }
    if existing is None:
        # Without a custom policy IAM requires three of four character types; a policy without
        # these flags would require none, so a new policy asks for all four (as CIS 1.x did).
        policy.update(dict.fromkeys(PASSWORD_POLICY_FLAGS, True))
        policy["AllowUsersToChangePassword"] = True
    else:
        policy.update({flag: bool(current.get(flag, False)) for flag in PASSWORD_POLICY_FLAGS})
        policy["AllowUsersToChangePassword"] = bool(current.get("AllowUsersToChangePassword", False))
    return policy


@fix(
    check_id="iam_password_policy_strong",
    action=(
        f"set the account password policy to {PASSWORD_MIN_LENGTH}+ characters, {PASSWORD_REUSE_PREVENTION} "
        f"remembered passwords and {PASSWORD_MAX_AGE_DAYS}-day expiry, keeping stricter settings"
    ),
    permissions=["iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy"],
)
def password_policy_strong(account: Resource, clients: Clients) -> str:
    # Read-merge-write of the one policy document, read now rather than from the scan's cache.
    existing = password_policy(clients.fresh())
    policy = strong_password_policy(existing)
    clients.client("iam").update_account_password_policy(**policy)
    return (
        f"set the password policy of account {account.name}: minimum length "
        f"{policy['MinimumPasswordLength']}, "
        f"remembers {policy['PasswordReusePrevention']} passwords, expires after {policy['MaxPasswordAge']} "
        "days (other settings kept); it applies at each user's next password change, and passwords older "
        "than that must be changed at next sign-in"
    )
