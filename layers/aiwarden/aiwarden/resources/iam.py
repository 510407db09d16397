"""IAM users, roles and customer managed policies (global: evaluated once per account, reported
with region "global"), plus the policy reads and policy-document analysis the IAM checks share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import GLOBAL_REGION, ResourceType, error_code, register, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients

IAM_CONSOLE = "https://us-east-1.console.aws.amazon.com/iam/home#/"


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    try:
        user = clients.client("iam").get_user(UserName=ref.resource_id)["User"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    # GetUser already carries the tags: no separate ListUserTags call.
    return _user_resource(ref, user)


def _user_resource(ref: ResourceRef, user: dict[str, Any]) -> Resource:
    """The described user, from GetUser or from ListUsers plus GAAD (prefetch_users)."""
    described = ResourceRef(USER, ref.resource_id, GLOBAL_REGION, ref.account, user.get("Arn"))
    return Resource(ref=described, data=user, tags=tags_from_list(user.get("Tags")))


def _list(clients: Clients) -> Iterator[ResourceRef]:
    for page in clients.client("iam").get_paginator("list_users").paginate():
        for user in page.get("Users", []):
            # Kept for prefetch_users: ListUsers is half of GetUser's answer (PasswordLastUsed).
            clients.seed(("iam", "listed_user", user["UserName"]), dict(user))
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


def access_keys(clients: Clients, user_name: str) -> list[dict[str, Any]]:
    """The user's access keys (AccessKeyId, Status, CreateDate), active or not."""

    def fetch() -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = []
        paginator = clients.client("iam").get_paginator("list_access_keys")
        for page in paginator.paginate(UserName=user_name):
            keys.extend(page.get("AccessKeyMetadata", []))
        return keys

    return list(clients.memo(("iam", "access_keys", user_name), fetch))


def access_key_last_used(clients: Clients, access_key_id: str) -> dict[str, Any]:
    """GetAccessKeyLastUsed's AccessKeyLastUsed: LastUsedDate is absent for a key never used."""

    def fetch() -> dict[str, Any]:
        response = clients.client("iam").get_access_key_last_used(AccessKeyId=access_key_id)
        return dict(response.get("AccessKeyLastUsed", {}))

    return dict(clients.memo(("iam", "access_key_last_used", access_key_id), fetch))


def groups_for_user(clients: Clients, user_name: str) -> list[str]:
    def fetch() -> list[str]:
        names: list[str] = []
        paginator = clients.client("iam").get_paginator("list_groups_for_user")
        for page in paginator.paginate(UserName=user_name):
            names.extend(group["GroupName"] for group in page.get("Groups", []))
        return names

    return list(clients.memo(("iam", "groups_for_user", user_name), fetch))


# --- policies attached to users, groups and roles ----------------------------------------------

# The API parameter naming the identity, per kind ("user" -> ListAttachedUserPolicies(UserName=)).
_IDENTITY_PARAM = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


def decode_policy(document: Any) -> dict[str, Any]:
    """A policy document as a dict. boto3 already decodes IAM's URL-encoded JSON; a raw string
    (another SDK, a recorded response) is decoded here."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    return dict(document or {})


def attached_policies(clients: Clients, kind: str, name: str) -> list[dict[str, str]]:
    """Managed policies attached to a user, group or role: [{PolicyName, PolicyArn}]."""
    param = _IDENTITY_PARAM[kind]

    def fetch() -> list[dict[str, str]]:
        found: list[dict[str, str]] = []
        paginator = clients.client("iam").get_paginator(f"list_attached_{kind}_policies")
        for page in paginator.paginate(**{param: name}):
            found.extend(page.get("AttachedPolicies", []))
        return found

    return list(clients.memo(("iam", "attached", kind, name), fetch))


def inline_policies(clients: Clients, kind: str, name: str) -> dict[str, dict[str, Any]]:
    """Inline policies of a user, group or role: policy name -> document."""
    param = _IDENTITY_PARAM[kind]

    def fetch() -> dict[str, dict[str, Any]]:
        iam = clients.client("iam")
        names: list[str] = []
        for page in iam.get_paginator(f"list_{kind}_policies").paginate(**{param: name}):
            names.extend(page.get("PolicyNames", []))
        get = getattr(iam, f"get_{kind}_policy")
        return {
            policy: decode_policy(get(**{param: name, "PolicyName": policy})["PolicyDocument"])
            for policy in names
        }

    return dict(clients.memo(("iam", "inline", kind, name), fetch))


def managed_policy(clients: Clients, arn: str) -> dict[str, Any] | None:
    """GetPolicy (DefaultVersionId, AttachmentCount, Tags), or None when the policy is gone."""

    def fetch() -> dict[str, Any] | None:
        try:
            return dict(clients.client("iam").get_policy(PolicyArn=arn)["Policy"])
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    result = clients.memo(("iam", "policy", arn), fetch)
    return dict(result) if result is not None else None


def managed_policy_document(clients: Clients, arn: str) -> dict[str, Any] | None:
    """The default version's document of a managed policy, fetched once per policy ARN however
    many roles, users and groups attach it; None when the policy is gone."""
    policy = managed_policy(clients, arn)
    if policy is None:
        return None
    version = policy["DefaultVersionId"]

    def fetch() -> dict[str, Any]:
        response = clients.client("iam").get_policy_version(PolicyArn=arn, VersionId=version)
        return decode_policy(response["PolicyVersion"]["Document"])

    return dict(clients.memo(("iam", "policy_version", arn, version), fetch))


ADMINISTRATOR_ACCESS = re.compile(r"arn:aws[\w-]*:iam::aws:policy/AdministratorAccess")


def identity_policies(clients: Clients, kind: str, name: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    """Every permissions policy of a user, group or role as (label, managed ARN or None, document).
    AdministratorAccess is reported by ARN without fetching its document."""
    found: list[tuple[str, str | None, dict[str, Any]]] = []
    for attached in attached_policies(clients, kind, name):
        arn = attached["PolicyArn"]
        if ADMINISTRATOR_ACCESS.fullmatch(arn):
            found.append(("AdministratorAccess", arn, ADMIN_DOCUMENT))
            continue
        document = managed_policy_document(clients, arn)
        if document is not None:
            found.append((f"managed policy {attached['PolicyName']}", arn, document))
    for policy_name, document in inline_policies(clients, kind, name).items():
        found.append((f"inline policy {policy_name}", None, document))
    return found


# --- policy-document analysis (pure; ignores Condition, like IAM.1 and Prowler) -----------------

ADMIN_DOCUMENT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ADMIN_ACTIONS = {"*", "*:*"}
# An iam:PassRole resource that names every role: "*" or a role ARN pattern open in its name.
ANY_ROLE = re.compile(r"\*|arn:[^:]*:iam::[^:]*:(?:\*|role/\*)")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str | dict) else list(value)


def statements(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [s for s in _as_list((document or {}).get("Statement")) if isinstance(s, dict)]


def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM's matching: * is any run of characters, ? one character, case-insensitive."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    return isinstance(pattern, str) and _wildcard(pattern).fullmatch(action) is not None


def statement_grants_action(statement: dict[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(action_matches(p, action) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(action_matches(p, action) for p in _as_list(statement["NotAction"]))
    return False


def _resources_matching(statement: dict[str, Any], wanted: Callable[[str], bool]) -> list[str]:
    if "Resource" in statement:
        return [r for r in _as_list(statement["Resource"]) if isinstance(r, str) and wanted(r)]
    if "NotResource" in statement and "*" not in _as_list(statement["NotResource"]):
        return ["NotResource " + ",".join(map(str, _as_list(statement["NotResource"])))]
    return []


def allows_admin(document: dict[str, Any] | None) -> bool:
    """An Allow statement with Action "*" (or "*:*") on Resource "*": full administrator."""
    return any(
        s.get("Effect") == "Allow"
        and ADMIN_ACTIONS & set(_as_list(s.get("Action")))
        and "*" in _as_list(s.get("Resource"))
        for s in statements(document)
    )


def granted_on(document: dict[str, Any] | None, action: str, wanted: Callable[[str], bool]) -> list[str]:
    """Resources (matching ``wanted``) on which the document allows ``action``, unless a Deny
    statement without conditions in the same document takes it back."""
    granted: list[str] = []
    for s in statements(document):
        if s.get("Effect") == "Allow" and statement_grants_action(s, action):
            granted.extend(_resources_matching(s, wanted))
    denied = any(
        s.get("Effect") == "Deny"
        and not s.get("Condition")
        and statement_grants_action(s, action)
        and _resources_matching(s, lambda r: r == "*")
        for s in statements(document)
    )
    return [] if denied else list(dict.fromkeys(granted))


def passrole_on_any_role(document: dict[str, Any] | None) -> list[str]:
    """The resources through which the document lets its holder pass every role."""
    return granted_on(document, "iam:PassRole", lambda r: ANY_ROLE.fullmatch(r) is not None)


def trusted_services(role: dict[str, Any]) -> set[str]:
    """Service principals the role's trust policy allows to assume it."""
    services: set[str] = set()
    for s in statements(decode_policy(role.get("AssumeRolePolicyDocument"))):
        principal = s.get("Principal")
        if s.get("Effect") != "Allow" or not isinstance(principal, dict):
            continue
        services.update(p for p in _as_list(principal.get("Service")) if isinstance(p, str))
    return services


# --- bulk reads (GetAccountAuthorizationDetails) -----------------------------------------------
#
# Read one by one, an IAM principal costs 4 to 7 calls before any check has looked at it: GetRole
# or GetUser, ListAttached*Policies, List*Policies plus one Get*Policy per inline policy, and for a
# user ListGroupsForUser plus the same two or three per group. GetAccountAuthorizationDetails
# (GAAD) returns all of that for up to 1000 principals per page, so a sweep or a work item reads
# the account's roles (or users and groups) in a handful of calls and seeds the same cache entries
# the per-principal reads fill. It is the live state, unlike the credential report (up to 4 h
# old), so a sweep never contradicts a fresher event-driven verdict with stale data.

# GAAD's MaxItems ceiling (the default is 100): the fewest pages. IAM may still end a page early
# (IsTruncated), which the paginator follows.
GAAD_PAGE_SIZE = 1000

# The fields GetRole's Role and GAAD's RoleDetail share (botocore's iam service model; a unit test
# keeps the two in step). RoleDetail lacks Description, MaxSessionDuration,
# MaxSigninSessionDuration and SourceRoleTemplate, which no check reads: role checks read only the
# trust policy (trusted_services) and the tags.
ROLE_DETAIL_FIELDS = (
    "Path",
    "RoleName",
    "RoleId",
    "Arn",
    "CreateDate",
    "AssumeRolePolicyDocument",
    "PermissionsBoundary",
    "Tags",
    "RoleLastUsed",
)


def _authorization_details(clients: Clients, entities: list[str]) -> Iterator[dict[str, Any]]:
    """GAAD's pages for these entity types (Filter), as the paginator yields them."""
    paginator = clients.client("iam").get_paginator("get_account_authorization_details")
    yield from paginator.paginate(Filter=entities, PaginationConfig={"PageSize": GAAD_PAGE_SIZE})


def _attached(detail: dict[str, Any]) -> list[dict[str, str]]:
    """AttachedManagedPolicies as ListAttached*Policies returns them: [{PolicyName, PolicyArn}]."""
    return [
        {"PolicyName": p["PolicyName"], "PolicyArn": p["PolicyArn"]}
        for p in detail.get("AttachedManagedPolicies") or []
    ]


def _inline(detail: dict[str, Any], field: str) -> dict[str, dict[str, Any]]:
    """A Role/User/GroupPolicyList as inline_policies returns it: policy name -> document. IAM
    leaves the list out when there is no inline policy."""
    return {p["PolicyName"]: decode_policy(p.get("PolicyDocument")) for p in detail.get(field) or []}


def _by_name(refs: list[ResourceRef]) -> dict[str, list[ResourceRef]]:
    wanted: dict[str, list[ResourceRef]] = {}
    for ref in refs:
        wanted.setdefault(ref.resource_id, []).append(ref)
    return wanted


def prefetch_roles(clients: Clients, refs: list[ResourceRef]) -> None:
    """Seed, for each requested role, what GetRole, ListAttachedRolePolicies, ListRolePolicies and
    GetRolePolicy would return, from one GAAD page per 1000 roles instead of 3 or more calls per
    role. Stops paging once every requested role has been seen (a work item of 25 roles rarely
    needs the whole account). Roles not in GAAD (created since) are read one by one as before."""
    from aiwarden.engine import describe_key  # lazy: import cycle

    pending = _by_name(refs)
    for page in _authorization_details(clients, ["Role"]):
        for detail in page.get("RoleDetailList") or []:
            name = detail.get("RoleName")
            if name not in pending:
                continue
            # IAM returns Tags (an empty list when untagged) and the trust policy; without them
            # the exemption or the service-trust scope could be misread, so GetRole decides.
            if "Tags" in detail and "AssumeRolePolicyDocument" in detail:
                for ref in pending[name]:
                    role = {k: detail[k] for k in ROLE_DETAIL_FIELDS if k in detail}
                    if not role["Tags"]:
                        del role["Tags"]  # GAAD says [] where GetRole leaves an untagged role's out
                    clients.seed(describe_key(ref), _role_resource(ref, role))
            clients.seed(("iam", "attached", "role", name), _attached(detail))
            clients.seed(("iam", "inline", "role", name), _inline(detail, "RolePolicyList"))
            del pending[name]
        if not pending:
            return


def prefetch_users(clients: Clients, refs: list[ResourceRef]) -> None:
    """Seed, for each requested user, what GetUser, ListGroupsForUser and the user's and its
    groups' policy reads would return: one GAAD page per 1000 users and groups plus one ListUsers
    page per 1000 users, instead of 4 or more calls per user.

    GetUser's answer is put together from both listings: ListUsers carries PasswordLastUsed (which
    iam_user_credentials_used_recently reads) but not Tags or PermissionsBoundary; GAAD carries
    those but not PasswordLastUsed. A user missing from either (created between the two calls)
    is left to GetUser."""
    pending = set(_by_name(refs))
    wanted = _by_name(refs)
    details: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}  # every group seen: a user's groups may come in any page
    needed: set[str] = set()
    for page in _authorization_details(clients, ["User", "Group"]):
        for group in page.get("GroupDetailList") or []:
            groups[group["GroupName"]] = group
        for detail in page.get("UserDetailList") or []:
            name = detail.get("UserName")
            if name not in pending:
                continue
            member_of = [str(g) for g in detail.get("GroupList") or []]
            clients.seed(("iam", "groups_for_user", name), member_of)
            clients.seed(("iam", "attached", "user", name), _attached(detail))
            clients.seed(("iam", "inline", "user", name), _inline(detail, "UserPolicyList"))
            details[name] = detail
            needed.update(member_of)
            pending.discard(name)
        if not pending and needed <= groups.keys():
            break
    for name in needed & groups.keys():
        clients.seed(("iam", "attached", "group", name), _attached(groups[name]))
        clients.seed(("iam", "inline", "group", name), _inline(groups[name], "GroupPolicyList"))
    _describe_users_from_listings(clients, wanted, details)


def _describe_users_from_listings(
    clients: Clients, wanted: dict[str, list[ResourceRef]], details: dict[str, dict[str, Any]]
) -> None:
    """GetUser's answer from ListUsers (PasswordLastUsed) plus GAAD (Tags, PermissionsBoundary).
    The exemption tag must not be guessed: only users whose GAAD entry carries Tags qualify."""
    from aiwarden.engine import describe_key  # lazy: import cycle

    describable = {name for name, detail in details.items() if "Tags" in detail}

    def describe_from(listed: dict[str, Any]) -> None:
        name = str(listed.get("UserName"))
        user = dict(listed)
        for field in ("Tags", "PermissionsBoundary"):
            if details[name].get(field):
                user[field] = details[name][field]
        for ref in wanted[name]:
            clients.seed(describe_key(ref), _user_resource(ref, user))
        describable.discard(name)

    # A scan has just listed the users (_list keeps each record): no second ListUsers.
    for name in sorted(describable):
        if clients.known(("iam", "listed_user", name)):
            describe_from(clients.memo(("iam", "listed_user", name), dict))
    if not describable:
        return
    paginator = clients.client("iam").get_paginator("list_users")
    for page in paginator.paginate(PaginationConfig={"PageSize": GAAD_PAGE_SIZE}):
        for listed in page.get("Users") or []:
            if listed.get("UserName") in describable:
                describe_from(listed)
        if not describable:
            return


# --- resource types ----------------------------------------------------------------------------


def _entities_for_policy(
    clients: Clients, policy_ref: ResourceRef, entity: str | None
) -> dict[str, list[str]]:
    """Users, groups and roles a managed policy is attached to ({} when the policy is gone)."""
    out: dict[str, list[str]] = {"PolicyUsers": [], "PolicyGroups": [], "PolicyRoles": []}
    name_field = {"PolicyUsers": "UserName", "PolicyGroups": "GroupName", "PolicyRoles": "RoleName"}
    kwargs: dict[str, Any] = {"PolicyArn": policy_ref.arn}
    if entity:
        kwargs["EntityFilter"] = entity
    paginator = clients.client("iam").get_paginator("list_entities_for_policy")
    try:
        for page in paginator.paginate(**kwargs):
            for key, field in name_field.items():
                out[key].extend(item[field] for item in page.get(key, []))
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return {}
        raise
    return out


def _users_of_policy(clients: Clients, policy_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the users a policy reaches, directly or through the groups it is attached to."""
    entities = _entities_for_policy(clients, policy_ref, None)
    names = list(entities.get("PolicyUsers", []))
    for group in entities.get("PolicyGroups", []):
        for page in clients.client("iam").get_paginator("get_group").paginate(GroupName=group):
            names.extend(user["UserName"] for user in page.get("Users", []))
    for name in dict.fromkeys(names):
        yield ResourceRef(USER, name, GLOBAL_REGION, policy_ref.account)


USER = register(
    ResourceType(
        cfn_type="AWS::IAM::User",
        label="IAM user",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:iam::{account}:user/{id}",
        console_format=IAM_CONSOLE + "users/details/{id}",
        is_global=True,
        permissions=(
            "iam:ListUsers",
            "iam:GetUser",
            "iam:ListEntitiesForPolicy",
            "iam:GetGroup",
            "iam:GetAccountAuthorizationDetails",
        ),
        arn_regex=re.compile(r"arn:aws[\w-]*:iam::\d{12}:user/(?:.*/)?(?P<id>[^/]+)"),
        # A new default version of a customer managed policy changes what its users may do.
        upstream={"AWS::IAM::Policy": _users_of_policy},
        prefetch=prefetch_users,
    )
)


def _describe_role(clients: Clients, ref: ResourceRef) -> Resource | None:
    try:
        role = dict(clients.client("iam").get_role(RoleName=ref.resource_id)["Role"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    # GetRole carries the trust policy and the tags; permissions policies are read on demand
    # (attached_policies/inline_policies) so roles no check cares about cost one call.
    return _role_resource(ref, role)


def _role_resource(ref: ResourceRef, role: dict[str, Any]) -> Resource:
    """The described role, from GetRole's Role or from the GetRole fields of a GAAD RoleDetail."""
    role["AssumeRolePolicyDocument"] = decode_policy(role.get("AssumeRolePolicyDocument"))
    described = ResourceRef(ROLE, ref.resource_id, GLOBAL_REGION, ref.account, role.get("Arn"))
    return Resource(ref=described, data=role, tags=tags_from_list(role.get("Tags")))


def _list_roles(clients: Clients) -> Iterator[ResourceRef]:
    for page in clients.client("iam").get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            yield ResourceRef(ROLE, role["RoleName"], GLOBAL_REGION, clients.account_id, role.get("Arn"))


def _roles_of_policy(clients: Clients, policy_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the roles a customer managed policy is attached to."""
    for name in _entities_for_policy(clients, policy_ref, "Role").get("PolicyRoles", []):
        yield ResourceRef(ROLE, name, GLOBAL_REGION, policy_ref.account)


ROLE = register(
    ResourceType(
        cfn_type="AWS::IAM::Role",
        label="IAM role",
        describe=_describe_role,
        list_refs=_list_roles,
        arn_format="arn:{partition}:iam::{account}:role/{id}",
        console_format=IAM_CONSOLE + "roles/details/{id}",
        is_global=True,
        permissions=(
            "iam:ListRoles",
            "iam:GetRole",
            "iam:ListEntitiesForPolicy",
            "iam:GetAccountAuthorizationDetails",
        ),
        arn_regex=re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/(?:.*/)?(?P<id>[^/]+)"),
        upstream={"AWS::IAM::Policy": _roles_of_policy},
        prefetch=prefetch_roles,
    )
)


def _policy_id(arn: str) -> str:
    return POLICY.id_from_arn(arn) or arn.rsplit("/", 1)[-1]


def _describe_policy(clients: Clients, ref: ResourceRef) -> Resource | None:
    arn = ref.arn
    policy = managed_policy(clients, arn) if arn else None
    if policy is None:
        return None
    arn = policy.get("Arn", arn)
    described = ResourceRef(POLICY, _policy_id(arn), GLOBAL_REGION, ref.account, arn)
    return Resource(ref=described, data=policy, tags=tags_from_list(policy.get("Tags")))


def _list_policies(clients: Clients) -> Iterable[ResourceRef]:
    paginator = clients.client("iam").get_paginator("list_policies")
    for page in paginator.paginate(Scope="Local", OnlyAttached=True):
        for policy in page.get("Policies", []):
            arn = policy["Arn"]
            yield ResourceRef(POLICY, _policy_id(arn), GLOBAL_REGION, clients.account_id, arn)


# Customer managed policies. "AWS::IAM::Policy" is the AWS Config / Security Hub type (IAM.1,
# IAM.21); CloudFormation itself calls these AWS::IAM::ManagedPolicy. Policy APIs take the ARN, so
# the resource id is the ARN's resource part without "policy/": the path and the name
# ("team/ml-ops"), which keeps the ARN computable from the id even for policies with a path.
POLICY = register(
    ResourceType(
        cfn_type="AWS::IAM::Policy",
        label="IAM customer managed policy",
        describe=_describe_policy,
        list_refs=_list_policies,
        arn_format="arn:{partition}:iam::{account}:policy/{id}",
        console_format=IAM_CONSOLE + "policies/details/arn:aws:iam::{account}:policy/{id}",
        is_global=True,
        permissions=("iam:ListPolicies", "iam:GetPolicy"),
        arn_regex=re.compile(r"arn:aws[\w-]*:iam::\d{12}:policy/(?P<id>.+)"),
    )
)
