"""IAM identities that can reach AI resources."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import check, cloudtrail
from aiwarden.resources import iam
from aiwarden.resources.iam import USER


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
