"""IAM fixes. Removing a console password locks a person out, so it is opt-in by name, never for
break-glass users, and only for the critical case: an administrator without MFA."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import Policy, fix

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
