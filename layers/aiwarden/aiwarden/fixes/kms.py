"""KMS fixes. Turning rotation on is safe: existing ciphertexts stay readable and the key id does
not change. Cancelling a deletion undoes a person's deliberate (if possibly mistaken or malicious)
act, so it is opt-in by name, even though it only ever keeps data readable."""

from __future__ import annotations

from botocore.exceptions import ClientError

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix
from aiwarden.resources import kms


def _error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}"


@fix(
    check_id="kms_key_rotation_enabled",
    action="turn on automatic yearly rotation of the key material",
    permissions=["kms:EnableKeyRotation"],
)
def key_rotation_enabled(key: Resource, clients: Clients) -> str:
    multi_region = key.data.get("MultiRegionConfiguration") or {}
    if multi_region.get("MultiRegionKeyType") == "REPLICA":
        # KMS rotates a multi-Region key set through its primary; the replica refuses the call.
        primary = (multi_region.get("PrimaryKey") or {}).get("Arn", "its primary key")
        raise ValueError(
            f"{kms.label(key)} is a multi-Region replica: rotation is set on the primary key "
            f"({primary}), which AI Warden does not change from a replica's finding"
        )
    clients.client("kms", key.ref.region).enable_key_rotation(KeyId=key.name)
    return (
        f"turned on automatic rotation of {kms.label(key)} (every 365 days); existing ciphertexts stay "
        "readable and the key id is unchanged"
    )


@fix(
    check_id="kms_key_not_pending_deletion",
    action="cancel the scheduled deletion of the key and enable it again",
    permissions=["kms:CancelKeyDeletion", "kms:EnableKey"],
    # It reverses someone's ScheduleKeyDeletion (perhaps a deliberate cryptographic erasure), and
    # re-enables a key that may have been disabled on purpose before that: opt-in by name.
    disruptive=True,
)
def key_not_pending_deletion(key: Resource, clients: Clients) -> str:
    client = clients.client("kms", key.ref.region)
    # CancelKeyDeletion leaves the key Disabled (KMS API reference); EnableKey makes it usable again.
    client.cancel_key_deletion(KeyId=key.name)
    try:
        client.enable_key(KeyId=key.name)
    except ClientError as exc:
        # The deletion is cancelled, which is what the finding is about: say so rather than claim
        # the key was left as it was. It stays Disabled until a person enables it.
        return (
            f"cancelled the scheduled deletion of {kms.label(key)}, but it is still Disabled "
            f"(EnableKey failed: {_error_text(exc)}); enable it with aws kms enable-key --key-id {key.name}"
        )
    return (
        f"cancelled the scheduled deletion of {kms.label(key)} and enabled it (a cancelled key comes "
        "back Disabled); find who called ScheduleKeyDeletion in CloudTrail"
    )
