"""The account itself, for account-wide settings (password policy, GuardDuty, Bedrock logging).

Reported with resource_type ``AWS::::Account`` and the account id as resource_id, as AWS Config
and Security Hub do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, register

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
