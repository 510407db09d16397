"""AWS Config fix: restart a stopped configuration recorder (safe; Config bills per recorded item).

Creating a recorder is out of reach on purpose: it needs a role and a delivery channel with a
bucket, and choosing what to record is the operator's call. A recorder that records but fails to
deliver needs its role or bucket policy fixed, which no API call here can do safely.
"""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix
from aiwarden.resources import config


@fix(
    check_id="config_recorder_recording",
    action="start the stopped AWS Config configuration recorder (never creates one)",
    permissions=["config:DescribeConfigurationRecorderStatus", "config:StartConfigurationRecorder"],
)
def recorder_recording(account: Resource, clients: Clients) -> str:
    region = account.ref.region
    statuses = config.recorder_statuses(clients.fresh(), region)
    if not statuses:
        raise RuntimeError(
            f"account {account.name} has no AWS Config configuration recorder in {region}; AI Warden does "
            "not create one (it needs a role, a delivery channel and a bucket: see the check's advice)"
        )
    stopped = [s for s in statuses if not s.get("recording")]
    if not stopped:
        errors = ", ".join(
            f"{s.get('name')}: {s.get('lastErrorCode') or 'delivery failed'}" for s in statuses
        )
        raise RuntimeError(
            f"the recorder is already recording but its deliveries fail ({errors}); fix its role or "
            "the delivery bucket's policy"
        )
    name = str(stopped[0]["name"])
    # Fails with NoAvailableDeliveryChannelException when the recorder has no delivery channel.
    clients.client("config", region).start_configuration_recorder(ConfigurationRecorderName=name)
    return f"started AWS Config recorder {name} in {region} (billed per configuration item recorded)"
