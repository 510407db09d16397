"""IAM bulk reads (GetAccountAuthorizationDetails): a sweep of users and roles gives the same
findings as reading each principal on its own, in far fewer calls, and falls back when GAAD fails."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from aiwarden.clients import Clients
from aiwarden.engine import describe, evaluate
from aiwarden.events import Target
from aiwarden.model import Finding, ResourceRef, Status
from aiwarden.registry import select
from aiwarden.resources import GLOBAL_REGION
from aiwarden.resources import iam as iam_resources
from aiwarden.resources.iam import ROLE, ROLE_DETAIL_FIELDS, USER
from tests.unit.helpers import ACCOUNT, REGION

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
EXEMPT = [{"Key": "aiwarden:exempt", "Value": "true"}]
CONSOLE_PASSWORD = "Corr3ct-Horse-Battery-Staple!"

# The per-principal policy reads GAAD replaces. GetUser stays (PasswordLastUsed); GetPolicy and
# GetPolicyVersion stay (one per customer managed policy, however many principals attach it).
REPLACED = {
    "GetRole",
    "ListAttachedRolePolicies",
    "ListRolePolicies",
    "GetRolePolicy",
    "ListGroupsForUser",
    "ListAttachedUserPolicies",
    "ListUserPolicies",
    "GetUserPolicy",
    "ListAttachedGroupPolicies",
    "ListGroupPolicies",
    "GetGroupPolicy",
}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(service: str) -> str:
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


ADMIN = allow("*")
SCOPED = allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::aiw-datasets/*")
PASS_ANY_ROLE = allow("iam:PassRole")


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS managed policies (AdministratorAccess) in moto's IAM backend; before the first IAM call."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def iam(managed_policies: None, aws: Clients) -> Any:
    return aws.client("iam")


@pytest.fixture
def estate(iam: Any) -> dict[str, list[str]]:
    """Roles and users covering every verdict of the IAM user and role checks."""
    scoped = iam.create_policy(PolicyName="aiw-read-data", PolicyDocument=document(SCOPED))["Policy"]["Arn"]
    god = iam.create_policy(PolicyName="aiw-god-mode", Path="/team/", PolicyDocument=document(ADMIN))
    god_arn = god["Policy"]["Arn"]

    def role(name: str, service: str, *, attach=(), inline=None, tags=None, path="/") -> str:
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust(service), Tags=tags or [])
        for arn in attach:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy_name, body in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=body)
        return name

    roles = [
        role("aiw-sm-admin", "sagemaker.amazonaws.com", attach=(ADMIN_ARN,)),
        role("aiw-sm-star", "sagemaker.amazonaws.com", inline={"oops": document(ADMIN)}, path="/ml/"),
        role(
            "aiw-sm-scoped",
            "sagemaker.amazonaws.com",
            attach=(scoped,),
            inline={"logs": document(allow("logs:*"))},
            tags=[{"Key": "team", "Value": "ml"}],
        ),
        role("aiw-sm-exempt", "sagemaker.amazonaws.com", attach=(god_arn,), tags=EXEMPT),
        role("aiw-bedrock-passrole", "bedrock.amazonaws.com", inline={"pass": document(PASS_ANY_ROLE)}),
        role("aiw-bedrock-scoped", "bedrock.amazonaws.com", attach=(scoped,)),
        role("aiw-lambda", "lambda.amazonaws.com", attach=(ADMIN_ARN,)),
    ]

    iam.create_group(GroupName="aiw-admins")
    iam.put_group_policy(GroupName="aiw-admins", PolicyName="all", PolicyDocument=document(ADMIN))
    iam.create_group(GroupName="aiw-readers")
    iam.attach_group_policy(GroupName="aiw-readers", PolicyArn=scoped)
    iam.create_group(GroupName="aiw-ops", Path="/ops/")
    iam.attach_group_policy(GroupName="aiw-ops", PolicyArn=god_arn)

    def user(name: str, *, groups=(), attach=(), inline=None, tags=None, console=False, key=False) -> str:
        iam.create_user(UserName=name, Tags=tags or [])
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        for arn in attach:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for policy_name, body in (inline or {}).items():
            iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=body)
        if console:
            iam.create_login_profile(UserName=name, Password=CONSOLE_PASSWORD)
        if key:
            iam.create_access_key(UserName=name)
        return name

    users = [
        user("aiw-alice", attach=(ADMIN_ARN,), console=True),
        user("aiw-bob", groups=("aiw-admins",), key=True),
        user("aiw-carol", groups=("aiw-readers",), inline={"logs": document(allow("logs:*"))}),
        user("aiw-dave", inline={"all": document(ADMIN)}, tags=EXEMPT, console=True),
        user("aiw-erin", groups=("aiw-readers", "aiw-ops")),
        user("aiw-frank"),
    ]
    return {"roles": roles, "users": users}


def iam_targets() -> list[Target]:
    """Every check on IAM users and roles, over every user and role: the sweep's IAM part."""
    checks = [c for c in select(None) if c.resource in (USER, ROLE)]
    return [
        Target(scope=scope, check_ids=frozenset(c.id for c in checks if c.resource is scope))
        for scope in (USER, ROLE)
    ]


def counted(iam: Any) -> Counter[str]:
    """IAM operations called through the (process-wide, shared) IAM client from now on."""
    calls: Counter[str] = Counter()
    iam.meta.events.register("before-call.iam", lambda model, **_: calls.update([model.name]))
    return calls


def verdicts(findings: list[Finding]) -> list[tuple[str, str, str, str, str | None, str | None]]:
    return sorted(
        (
            f.check_id,
            f.ref.resource_id,
            f.status.value,
            f.reason,
            f.underlying.value if f.underlying else None,
            f.ref.arn,
        )
        for f in findings
    )


def fresh() -> Clients:
    """A new invocation: empty cache, same (cached) boto3 clients and moto backend."""
    return Clients(REGION, account_id=ACCOUNT)


def one_by_one(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Finding], Counter[str]]:
    """The IAM checks with prefetch off (ResourceType is a mutable dataclass), and their calls."""
    with monkeypatch.context() as patched:
        patched.setattr(ROLE, "prefetch", None)
        patched.setattr(USER, "prefetch", None)
        clients = fresh()
        calls = counted(clients.client("iam"))
        findings = evaluate(iam_targets(), clients)
    return findings, Counter(calls)  # a copy: the handler keeps counting on the shared client


def test_prefetch_gives_the_same_findings_in_fewer_calls(estate, iam, monkeypatch):
    baseline, before = one_by_one(monkeypatch)
    # Users whose GAAD entry has no Tags (moto omits them when empty) are left to GetUser.
    left_to_get_user = [
        u for u in iam.get_account_authorization_details(Filter=["User"])["UserDetailList"] if "Tags" not in u
    ]
    clients = fresh()
    calls = counted(iam)

    findings = evaluate(iam_targets(), clients)

    assert verdicts(findings) == verdicts(baseline)
    # The estate exercises every verdict, so equality above is not vacuous.
    statuses = {(f.check_id, f.ref.resource_id): f.status for f in findings}
    assert statuses[("iam_sagemaker_execution_role_least_privilege", "aiw-sm-admin")] is Status.FAIL
    assert statuses[("iam_sagemaker_execution_role_least_privilege", "aiw-sm-star")] is Status.FAIL
    assert statuses[("iam_sagemaker_execution_role_least_privilege", "aiw-sm-scoped")] is Status.PASS
    assert statuses[("iam_sagemaker_execution_role_least_privilege", "aiw-sm-exempt")] is Status.EXEMPT
    assert statuses[("iam_bedrock_service_role_least_privilege", "aiw-bedrock-passrole")] is Status.FAIL
    assert statuses[("iam_bedrock_service_role_least_privilege", "aiw-bedrock-scoped")] is Status.PASS
    assert statuses[("iam_sagemaker_execution_role_least_privilege", "aiw-lambda")] is Status.NOT_APPLICABLE
    assert statuses[("iam_user_no_admin_policy_attached", "aiw-alice")] is Status.FAIL
    assert statuses[("iam_user_no_admin_policy_attached", "aiw-bob")] is Status.FAIL
    assert statuses[("iam_user_no_admin_policy_attached", "aiw-carol")] is Status.PASS
    assert statuses[("iam_user_no_admin_policy_attached", "aiw-dave")] is Status.EXEMPT
    assert statuses[("iam_user_no_admin_policy_attached", "aiw-erin")] is Status.FAIL
    assert statuses[("iam_user_console_mfa_enabled", "aiw-alice")] is Status.FAIL
    # The role's path survives into the finding's ARN, as GetRole's Arn does.
    assert {f.ref.arn for f in findings if f.ref.resource_id == "aiw-sm-star"} == {
        f"arn:aws:iam::{ACCOUNT}:role/ml/aiw-sm-star"
    }

    assert calls["GetAccountAuthorizationDetails"] == 2  # one for roles, one for users and groups
    assert not REPLACED & set(calls), calls
    assert calls["ListUsers"] == 1  # PasswordLastUsed, which GAAD lacks
    assert calls["GetUser"] == len(left_to_get_user) < len(estate["users"])
    assert before["GetRole"] == len(estate["roles"])
    assert sum(calls.values()) < sum(before.values()) / 2, (before, calls)


def test_failed_prefetch_falls_back_to_reading_one_by_one(estate, iam, monkeypatch, caplog):
    baseline, before = one_by_one(monkeypatch)
    refused: list[str] = []

    def denied(model: Any, **_: Any) -> None:
        refused.append(model.name)
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "no iam:GetAccountAuthorizationDetails"}},
            model.name,
        )

    clients = fresh()
    calls = counted(iam)
    # Handlers for the operation run before those for the service: the refusal is counted above.
    iam.meta.events.register("before-call.iam.GetAccountAuthorizationDetails", denied)
    try:
        findings = evaluate(iam_targets(), clients)
    finally:
        iam.meta.events.unregister("before-call.iam.GetAccountAuthorizationDetails", denied)

    assert verdicts(findings) == verdicts(baseline)
    assert len(refused) == 2  # roles, then users and groups: each tried once
    assert calls["GetRole"] == before["GetRole"] == len(estate["roles"])
    assert calls["ListGroupsForUser"] == before["ListGroupsForUser"] == len(estate["users"])
    assert "reading them one by one" in caplog.text


def test_seeded_role_is_what_get_role_describes(estate, iam):
    clients = fresh()
    refs = [ResourceRef(ROLE, name, GLOBAL_REGION, ACCOUNT) for name in estate["roles"]]

    iam_resources.prefetch_roles(clients, refs)

    reference = fresh()
    for ref in refs:
        seeded = describe(clients, ref)
        read = iam_resources._describe_role(reference, ref)
        assert seeded is not None and read is not None
        assert seeded.ref == read.ref and seeded.ref.arn == read.ref.arn
        assert seeded.tags == read.tags
        assert {k: v for k, v in read.data.items() if k in ROLE_DETAIL_FIELDS} == seeded.data
        name = ref.resource_id
        assert clients.memo(("iam", "attached", "role", name), list) == iam_resources.attached_policies(
            reference, "role", name
        )
        assert clients.memo(("iam", "inline", "role", name), dict) == iam_resources.inline_policies(
            reference, "role", name
        )


def test_seeded_user_policies_match_the_one_by_one_reads(estate, iam):
    clients = fresh()
    refs = [ResourceRef(USER, name, GLOBAL_REGION, ACCOUNT) for name in estate["users"]]

    iam_resources.prefetch_users(clients, refs)

    reference = fresh()
    for ref in refs:
        name = ref.resource_id
        if clients.known(("describe", ref)):  # moto leaves Tags out of an untagged user's GAAD entry
            seeded, read = describe(clients, ref), iam_resources._describe(reference, ref)
            assert seeded is not None and read is not None
            assert (seeded.ref, seeded.ref.arn, seeded.tags) == (read.ref, read.ref.arn, read.tags)
            assert seeded.data == {k: v for k, v in read.data.items() if k != "Tags" or v}
        groups = clients.memo(("iam", "groups_for_user", name), list)
        assert sorted(groups) == sorted(iam_resources.groups_for_user(reference, name))
        for kind, who in [("user", name)] + [("group", g) for g in groups]:
            assert clients.memo(("iam", "attached", kind, who), list) == iam_resources.attached_policies(
                reference, kind, who
            )
            assert clients.memo(("iam", "inline", kind, who), dict) == iam_resources.inline_policies(
                reference, kind, who
            )


def test_role_detail_fields_are_what_get_role_and_gaad_share():
    model = botocore.session.get_session().get_service_model("iam")
    role = set(model.shape_for("Role").members)
    detail = set(model.shape_for("RoleDetail").members)

    assert set(ROLE_DETAIL_FIELDS) == role & detail


# --- pagination, against botocore's own validation of the response shapes (Stubber) --------------

CREATED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def encoded(body: str) -> str:
    """IAM's wire form of a policy document: URL-encoded JSON (botocore decodes it)."""
    return quote(body)


def role_detail(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": "AROAEXAMPLEROLEID0001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "CreateDate": CREATED,
        "AssumeRolePolicyDocument": encoded(trust("sagemaker.amazonaws.com")),
        "InstanceProfileList": [],
        "AttachedManagedPolicies": [],
        "Tags": [],
        "RoleLastUsed": {},
        **extra,
    }


def gaad_page(marker: str | None = None, **lists: list[dict[str, Any]]) -> dict[str, Any]:
    page: dict[str, Any] = {"IsTruncated": marker is not None, **lists}
    if marker is not None:
        page["Marker"] = marker
    return page


@pytest.fixture
def stubbed(aws: Clients) -> Iterator[tuple[Clients, Stubber]]:
    clients = fresh()
    with Stubber(clients.client("iam")) as stubber:
        yield clients, stubber


def test_role_prefetch_pages_until_every_requested_role_is_seen(stubbed):
    clients, stubber = stubbed
    first = gaad_page(
        "page-2",
        RoleDetailList=[
            role_detail(
                "aiw-a",
                RolePolicyList=[{"PolicyName": "star", "PolicyDocument": encoded(document(ADMIN))}],
                Tags=EXEMPT,
            ),
            role_detail("aiw-not-asked"),
        ],
    )
    second = gaad_page(
        "page-3",  # more pages exist, but nothing requested is left: no third call
        RoleDetailList=[
            role_detail(
                "aiw-b",
                AttachedManagedPolicies=[{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}],
            )
        ],
    )
    stubber.add_response("get_account_authorization_details", first, {"Filter": ["Role"], "MaxItems": 1000})
    stubber.add_response(
        "get_account_authorization_details",
        second,
        {"Filter": ["Role"], "MaxItems": 1000, "Marker": "page-2"},
    )
    a, b = (ResourceRef(ROLE, n, GLOBAL_REGION, ACCOUNT) for n in ("aiw-a", "aiw-b"))

    iam_resources.prefetch_roles(clients, [a, b])

    stubber.assert_no_pending_responses()
    role_a = describe(clients, a)  # from the seed: the stubber has nothing left to answer
    assert role_a is not None and role_a.exempt
    assert iam_resources.trusted_services(role_a.data) == {"sagemaker.amazonaws.com"}
    assert iam_resources.inline_policies(clients, "role", "aiw-a") == {"star": json.loads(document(ADMIN))}
    assert iam_resources.attached_policies(clients, "role", "aiw-a") == []
    assert iam_resources.attached_policies(clients, "role", "aiw-b") == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}
    ]
    assert iam_resources.inline_policies(clients, "role", "aiw-b") == {}
    assert not clients.known(("iam", "attached", "role", "aiw-not-asked"))


def test_role_without_tags_in_gaad_is_left_to_get_role(stubbed):
    clients, stubber = stubbed
    detail = role_detail("aiw-a")
    del detail["Tags"]
    stubber.add_response("get_account_authorization_details", gaad_page(RoleDetailList=[detail]))
    ref = ResourceRef(ROLE, "aiw-a", GLOBAL_REGION, ACCOUNT)

    iam_resources.prefetch_roles(clients, [ref, ResourceRef(ROLE, "aiw-b", GLOBAL_REGION, ACCOUNT)])

    assert not clients.known(("describe", ref))  # the exemption tag must not be guessed
    assert clients.known(("iam", "inline", "role", "aiw-a"))


def test_user_prefetch_waits_for_groups_listed_on_later_pages(stubbed):
    clients, stubber = stubbed
    user = {
        "Path": "/",
        "UserName": "aiw-u",
        "UserId": "AIDAEXAMPLEUSERID0001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/aiw-u",
        "CreateDate": CREATED,
        "GroupList": ["aiw-late"],
        "AttachedManagedPolicies": [],
        "Tags": [],
    }
    early = {
        "Path": "/",
        "GroupName": "aiw-early",
        "GroupId": "AGPAEXAMPLEGROUP0001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/aiw-early",
        "CreateDate": CREATED,
    }
    late = {
        "Path": "/",
        "GroupName": "aiw-late",
        "GroupId": "AGPAEXAMPLEGROUP0002",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/aiw-late",
        "CreateDate": CREATED,
        "GroupPolicyList": [{"PolicyName": "all", "PolicyDocument": encoded(document(ADMIN))}],
        "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}],
    }
    expected = {"Filter": ["User", "Group"], "MaxItems": 1000}
    stubber.add_response(
        "get_account_authorization_details",
        gaad_page("p2", UserDetailList=[user], GroupDetailList=[early]),
        expected,
    )
    stubber.add_response(
        "get_account_authorization_details",
        gaad_page("p3", GroupDetailList=[late]),  # more pages exist: not read, nothing is missing
        {**expected, "Marker": "p2"},
    )
    last_used = datetime(2026, 11, 1, tzinfo=UTC)
    listed = {k: user[k] for k in ("Path", "UserName", "UserId", "Arn", "CreateDate")}
    stubber.add_response(
        "list_users",
        {"Users": [{**listed, "PasswordLastUsed": last_used}], "IsTruncated": False},
        {"MaxItems": 1000},
    )
    ref = ResourceRef(USER, "aiw-u", GLOBAL_REGION, ACCOUNT)

    iam_resources.prefetch_users(clients, [ref])

    stubber.assert_no_pending_responses()
    # GetUser's answer, from ListUsers (PasswordLastUsed) and GAAD (the tags: none here).
    described = describe(clients, ref)
    assert described is not None and described.data["PasswordLastUsed"] == last_used
    assert described.tags == {} and not described.exempt
    assert iam_resources.groups_for_user(clients, "aiw-u") == ["aiw-late"]
    assert iam_resources.inline_policies(clients, "user", "aiw-u") == {}
    assert iam_resources.inline_policies(clients, "group", "aiw-late") == {"all": json.loads(document(ADMIN))}
    assert iam_resources.attached_policies(clients, "group", "aiw-late") == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}
    ]
    assert not clients.known(("iam", "inline", "group", "aiw-early"))  # no requested user is in it
