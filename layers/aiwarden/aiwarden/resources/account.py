"""The account itself, for account-wide settings (password policy, GuardDuty, Bedrock logging).

Reported with resource_type ``AWS::::Account`` and the account id as resource_id, as AWS Config
and Security Hub do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, error_code, register

if TYPE_CHECKING:
    from aiwarden.clients import Clients


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    return Resource(ref=ref, data={"AccountId": ref.resource_id})


def _list(clients: Clients) -> Iterator[ResourceRef]:
    yield ResourceRef(ACCOUNT, clients.account_id, clients.region, clients.account_id)


ACCOUNT = register(
    ResourceType(
        cfn_type="AWS::::Account",
        label="AWS account",
        describe=_describe,
        list_refs=_list,
        arn_format=None,
        console_format="https://{region}.console.aws.amazon.com/billing/home#/account",
    )
)


# --- account-wide IAM settings (global: IAM answers the same in every Region) ------------------


def account_summary(clients: Clients) -> dict[str, int]:
    """GetAccountSummary's SummaryMap: root credentials (AccountMFAEnabled, AccountAccessKeysPresent,
    AccountPasswordPresent) and IAM entity counts. Read once per invocation."""

    def fetch() -> dict[str, int]:
        return dict(clients.client("iam").get_account_summary().get("SummaryMap", {}))

    return dict(clients.memo(("iam", "account_summary"), fetch))


def password_policy(clients: Clients) -> dict[str, Any] | None:
    """The account's custom IAM password policy, or None when none is set (IAM's defaults apply)."""

    def fetch() -> dict[str, Any] | None:
        try:
            return dict(clients.client("iam").get_account_password_policy()["PasswordPolicy"])
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    result = clients.memo(("iam", "password_policy"), fetch)
    return dict(result) if result is not None else None
