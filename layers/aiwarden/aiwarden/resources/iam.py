"""IAM users (global: evaluated once per account, reported with region "global")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import GLOBAL_REGION, ResourceType, error_code, register, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    try:
        user = clients.client("iam").get_user(UserName=ref.resource_id)["User"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    # GetUser already carries the tags: no separate ListUserTags call.
    described = ResourceRef(USER, ref.resource_id, GLOBAL_REGION, ref.account, user.get("Arn"))
    return Resource(ref=described, data=user, tags=tags_from_list(user.get("Tags")))


def _list(clients: Clients) -> Iterator[ResourceRef]:
    for page in clients.client("iam").get_paginator("list_users").paginate():
        for user in page.get("Users", []):
            yield ResourceRef(USER, user["UserName"], GLOBAL_REGION, clients.account_id, user.get("Arn"))


def login_profile(clients: Clients, user_name: str) -> dict[str, Any] | None:
    """The user's console password profile, or None when the user cannot sign in to the console."""

    def fetch() -> dict[str, Any] | None:
        try:
            return dict(clients.client("iam").get_login_profile(UserName=user_name)["LoginProfile"])
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    result = clients.memo(("iam", "login_profile", user_name), fetch)
    return dict(result) if result is not None else None


def mfa_devices(clients: Clients, user_name: str) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]]:
        iam = clients.client("iam")
        devices: list[dict[str, Any]] = []
        for page in iam.get_paginator("list_mfa_devices").paginate(UserName=user_name):
            devices.extend(page.get("MFADevices", []))
        return devices

    return list(clients.memo(("iam", "mfa", user_name), fetch))


USER = register(
    ResourceType(
        cfn_type="AWS::IAM::User",
        label="IAM user",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:iam::{account}:user/{id}",
        console_format="https://us-east-1.console.aws.amazon.com/iam/home#/users/details/{id}",
        is_global=True,
        permissions=("iam:ListUsers", "iam:GetUser"),
        arn_regex=re.compile(r"arn:aws[\w-]*:iam::\d{12}:user/(?:.*/)?(?P<id>[^/]+)"),
    )
)
