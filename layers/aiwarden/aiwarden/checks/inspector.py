"""Amazon Inspector: continuous vulnerability scanning of the account's container images."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources.account import ACCOUNT

# Statuses in which Inspector scans (or is about to scan) the account's ECR images. ENABLING
# passes: the Enable call that triggers this evaluation leaves it there for a moment.
SCANNING = {"ENABLED", "ENABLING"}


class InspectorStatusUnavailable(Exception):
    """Inspector could not report the account's status (failedAccounts)."""


def ecr_scanning_status(clients: Clients, account: str, region: str) -> str:
    def fetch() -> str:
        response = clients.client("inspector2", region).batch_get_account_status(accountIds=[account])
        for failed in response.get("failedAccounts") or []:
            if failed.get("accountId") == account:
                raise InspectorStatusUnavailable(f"{failed.get('errorCode')}: {failed.get('errorMessage')}")
        for state in response.get("accounts") or []:
            if state.get("accountId") == account:
                return str(((state.get("resourceState") or {}).get("ecr") or {}).get("status") or "DISABLED")
        return "DISABLED"  # never activated in this region

    return str(clients.memo(("inspector2", "ecr_status", region, account), fetch))


# Account-level settings carry no tags, so there is no exempt test; the account never disappears.
@check(
    id="inspector_ecr_scanning_enabled",
    title="Amazon Inspector scans the account's ECR container images",
    severity=Severity.HIGH,
    resource=ACCOUNT,
    triggers=[cloudtrail("inspector2", "Enable", "Disable", ids=ALL_RESOURCES)],
    permissions=["inspector2:BatchGetAccountStatus"],
    practice=Practice.REGULAR_ASSESSMENTS,
    remediation=(
        "Activate Inspector's ECR scanning in every region that holds images (billed per image "
        "scanned): aws inspector2 enable --resource-types ECR [--account-ids ACCOUNT]. In an "
        "organization the delegated Inspector administrator does this for member accounts."
    ),
    controls={
        "AWS-FSBP": ["Inspector.2"],
        "AWS-Config": ["INSPECTOR_ECR_SCAN_ENABLED"],
    },
)
def inspector_ecr_scanning_enabled(account: Resource, clients: Clients) -> Outcome:
    status = ecr_scanning_status(clients, account.name, account.ref.region)
    if status not in SCANNING:
        return fail(
            f"account {account.name} does not have Inspector ECR scanning in {account.ref.region} "
            f"(status {status})"
        )
    return ok(f"account {account.name} has Inspector ECR scanning {status} in {account.ref.region}")
