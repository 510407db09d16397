"""Amazon Inspector fix: activate ECR scanning (safe: it only reads images, but billed per image
scanned, and it switches the registry from basic to enhanced scanning)."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix


@fix(
    check_id="inspector_ecr_scanning_enabled",
    action="activate Amazon Inspector ECR scanning in the region (billed per image scanned)",
    permissions=[
        "inspector2:Enable",
        # The first activation creates Inspector's service-linked role.
        "iam:CreateServiceLinkedRole",
    ],
)
def inspector_ecr_scanning(account: Resource, clients: Clients) -> str:
    region = account.ref.region
    response = clients.client("inspector2", region).enable(accountIds=[account.name], resourceTypes=["ECR"])
    # Enable reports per-account refusals in its response instead of raising.
    for failed in response.get("failedAccounts") or []:
        if failed.get("accountId") == account.name:
            raise RuntimeError(
                f"Inspector refused to activate ECR scanning for {account.name} in {region}: "
                f"{failed.get('errorCode')}: {failed.get('errorMessage')}"
            )
    return (
        f"activated Amazon Inspector ECR scanning for account {account.name} in {region} (billed per image "
        "scanned); the registry now uses enhanced scanning instead of basic scan-on-push"
    )
