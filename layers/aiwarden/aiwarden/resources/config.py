"""AWS Config's configuration recorder: an account-wide setting in each region, read once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiwarden.clients import Clients


def recorder_statuses(clients: Clients, region: str) -> list[dict[str, Any]]:
    """The status of the region's customer managed configuration recorder ([] when there is none).

    Without recorder names AWS returns only the customer managed recorder, not the service-linked
    recorders other services create for their own narrow needs.
    """

    def fetch() -> list[dict[str, Any]]:
        response = clients.client("config", region).describe_configuration_recorder_status()
        return list(response.get("ConfigurationRecordersStatus", []))

    return list(clients.memo(("config", "recorder_status", region), fetch))
