"""iam_user_console_mfa_enabled: a user with a console password must have an MFA device."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from aiwarden.model import Status
from tests.unit.helpers import ACCOUNT, check_finding

MFA = "iam_user_console_mfa_enabled"
USER = "aiw-analyst"
PASSWORD = "Corr3ct-Horse-Battery-Staple!"


@pytest.fixture
def iam(aws):
    return aws.client("iam")


@pytest.fixture
def make_user(iam):
    def make(
        name: str = USER,
        *,
        console: bool = False,
        mfa: bool = False,
        path: str = "/",
        exempt: str | None = None,
    ) -> str:
        tags = [] if exempt is None else [{"Key": "aiwarden:exempt", "Value": exempt}]
        iam.create_user(UserName=name, Path=path, Tags=tags)
        if console:
            iam.create_login_profile(UserName=name, Password=PASSWORD)
        if mfa:
            device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-mfa")["VirtualMFADevice"]
            iam.enable_mfa_device(
                UserName=name,
                SerialNumber=device["SerialNumber"],
                AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )
        return name

    return make


def test_user_without_console_password_passes(make_user, aws):
    make_user()

    finding = check_finding(MFA, USER, aws)

    assert finding.status is Status.PASS
    assert "no console password" in finding.reason


def test_user_with_mfa_but_no_console_password_passes(make_user, aws):
    make_user(mfa=True)

    assert check_finding(MFA, USER, aws).status is Status.PASS


def test_console_user_with_virtual_mfa_passes(make_user, aws):
    make_user(console=True, mfa=True)

    finding = check_finding(MFA, USER, aws)

    assert finding.status is Status.PASS
    assert "1 MFA device" in finding.reason


def test_console_user_without_mfa_fails(make_user, aws):
    make_user(console=True)

    finding = check_finding(MFA, USER, aws)

    assert finding.status is Status.FAIL
    assert USER in finding.reason
    assert "without MFA" in finding.reason


def test_user_with_path_is_found_and_reported_with_its_arn(make_user, aws):
    make_user(console=True, path="/team/")

    finding = check_finding(MFA, USER, aws)

    assert finding.status is Status.FAIL
    assert finding.ref.arn == f"arn:aws:iam::{ACCOUNT}:user/team/{USER}"
    assert finding.ref.region == "global"


def test_user_with_path_and_mfa_passes(make_user, aws):
    make_user(console=True, mfa=True, path="/team/")

    assert check_finding(MFA, USER, aws).status is Status.PASS


def test_exempt_user_is_exempt_not_fail(make_user, aws):
    make_user(console=True, exempt="true")

    finding = check_finding(MFA, USER, aws)

    assert finding.status is Status.EXEMPT
    assert "aiwarden:exempt=true" in finding.reason
    assert "would be FAIL" in finding.reason


def test_exempt_tag_false_still_fails(make_user, aws):
    make_user(console=True, exempt="false")

    assert check_finding(MFA, USER, aws).status is Status.FAIL


def test_missing_user_is_not_applicable(aws):
    finding = check_finding(MFA, "aiw-never-created", aws)

    assert finding.status is Status.NOT_APPLICABLE
    assert "no longer exists" in finding.reason


def test_deleted_user_is_not_applicable(make_user, iam, aws):
    name = make_user(console=True)
    iam.delete_login_profile(UserName=name)
    iam.delete_user(UserName=name)

    assert check_finding(MFA, name, aws).status is Status.NOT_APPLICABLE


def test_access_denied_listing_mfa_devices_is_an_error(make_user, iam, aws, monkeypatch):
    make_user(console=True)

    def denied(*_: object, **__: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no iam:ListMFADevices"}}, "Op")

    monkeypatch.setattr(iam, "get_paginator", denied)

    finding = check_finding(MFA, USER, aws)

    assert finding.status is Status.ERROR
    assert "AccessDenied" in finding.reason
    assert "iam:ListMFADevices" in finding.reason
