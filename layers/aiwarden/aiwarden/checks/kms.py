"""Customer managed KMS keys: the keys that encrypt model artifacts, datasets and images."""

from __future__ import annotations

from datetime import datetime

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import check, cloudtrail
from aiwarden.resources import kms
from aiwarden.resources.kms import KEY

# requestParameters.keyId is a key id or key ARN (aliases too for some calls); the key type maps
# ARNs back to the key id and DescribeKey resolves the rest.
KEY_ID = "requestParameters.keyId"
# Exemption-tag changes re-evaluate the key.
TAGGING = cloudtrail("kms", "TagResource", "UntagResource", ids=KEY_ID)
# CreateKey carries the new key's id only in its response.
CREATED = cloudtrail("kms", "CreateKey", ids="responseElements.keyMetadata.keyId")

# Automatic rotation exists only for symmetric encryption keys whose material KMS generated.
ROTATABLE_ORIGINS = {"AWS_KMS"}


@check(
    id="kms_key_rotation_enabled",
    title="Customer managed KMS keys rotate their key material automatically",
    severity=Severity.MEDIUM,
    resource=KEY,
    triggers=[
        CREATED,
        cloudtrail("kms", "EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", ids=KEY_ID),
        TAGGING,
    ],
    permissions=["kms:GetKeyRotationStatus"],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Turn on automatic rotation (yearly by default, 90-2560 days allowed); existing ciphertexts "
        "stay readable: aws kms enable-key-rotation --key-id KEY_ID [--rotation-period-in-days 365]."
    ),
    controls={
        "AWS-FSBP": ["KMS.4"],
        "AWS-Config": ["CMK_BACKING_KEY_ROTATION_ENABLED"],
        "CIS-AWS-5.0": ["3.6"],
        "NIST-800-53r5": ["SC-12", "SC-12(2)", "SC-28(3)"],
        "HIPAA": ["164.312(a)(2)(iv)"],
        "GDPR": ["Art.25", "Art.30"],
    },
)
def key_rotation_enabled(key: Resource, clients: Clients) -> Outcome:
    # CreateKey's documented defaults, for a response that omits them.
    spec = key.data.get("KeySpec") or key.data.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = key.data.get("KeyUsage") or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return ok(f"{kms.label(key)}: automatic rotation not supported for {spec} {usage} keys")
    origin = key.data.get("Origin") or "AWS_KMS"
    if origin not in ROTATABLE_ORIGINS:
        return ok(f"{kms.label(key)}: automatic rotation not supported for key material from {origin}")
    if key.data.get("KeyState") in {"PendingDeletion", "PendingReplicaDeletion"}:
        return ok(f"{kms.label(key)} is pending deletion; kms_key_not_pending_deletion reports it")
    status = kms.rotation_status(clients, key)
    if not status.get("KeyRotationEnabled"):
        return fail(f"{kms.label(key)} does not rotate its key material automatically")
    period = status.get("RotationPeriodInDays")
    every = f" every {period} days" if period else ""
    return ok(f"{kms.label(key)} rotates its key material automatically{every}")


def _date(value: object) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else str(value)


@check(
    id="kms_key_not_pending_deletion",
    title="Customer managed KMS keys are not scheduled for deletion",
    severity=Severity.CRITICAL,
    resource=KEY,
    triggers=[
        cloudtrail("kms", "ScheduleKeyDeletion", "CancelKeyDeletion", ids=KEY_ID),
        TAGGING,
    ],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Unless this is a deliberate cryptographic erasure, cancel the deletion before the waiting "
        "period ends (data encrypted under a deleted key is unrecoverable): aws kms cancel-key-deletion "
        "--key-id KEY_ID; the key comes back Disabled, so then aws kms enable-key --key-id KEY_ID. "
        "Check CloudTrail for who called ScheduleKeyDeletion."
    ),
    controls={
        "AWS-FSBP": ["KMS.3"],
        "AWS-Config": ["KMS_CMK_NOT_SCHEDULED_FOR_DELETION"],
        "NIST-800-53r5": ["SC-12", "SC-12(2)"],
    },
)
def key_not_pending_deletion(key: Resource, clients: Clients) -> Outcome:
    state = key.data.get("KeyState")
    if state == "PendingDeletion":
        when = key.data.get("DeletionDate")
        deadline = f" on {_date(when)}" if when else ""
        return fail(
            f"{kms.label(key)} is scheduled for deletion{deadline}; data encrypted under it will be lost"
        )
    if state == "PendingReplicaDeletion":
        window = key.data.get("PendingDeletionWindowInDays")
        after = (
            f" {window} days after its replicas are deleted" if window else " once its replicas are deleted"
        )
        return fail(f"{kms.label(key)} is scheduled for deletion{after}")
    return ok(f"{kms.label(key)} is not scheduled for deletion (state {state})")


@check(
    id="kms_key_policy_not_public",
    title="Customer managed KMS key policies grant nothing to every principal",
    severity=Severity.CRITICAL,
    resource=KEY,
    triggers=[CREATED, cloudtrail("kms", "PutKeyPolicy", ids=KEY_ID), TAGGING],
    permissions=["kms:GetKeyPolicy"],
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        'Replace Principal "*" (or {"AWS":"*"}) in the key policy with the account or role ARNs that '
        "need the key, or pin it with a fixed-value condition such as aws:PrincipalOrgID, "
        "aws:PrincipalAccount or kms:CallerAccount: aws kms get-key-policy --key-id KEY_ID "
        "--policy-name default, edit, then aws kms put-key-policy --key-id KEY_ID --policy-name "
        "default --policy file://policy.json."
    ),
    controls={
        "AWS-FSBP": ["KMS.5"],
        "AWS-Config": ["KMS_KEY_POLICY_NO_PUBLIC_ACCESS"],
    },
)
def key_policy_not_public(key: Resource, clients: Clients) -> Outcome:
    statements = kms.public_policy_statements(kms.key_policy(clients, key))
    if statements:
        return fail(
            f"{kms.label(key)}'s key policy allows every principal without a restricting condition "
            f"(statement {', '.join(statements)})"
        )
    return ok(f"{kms.label(key)}'s key policy grants nothing to every principal")
