"""Resource-policy analysis shared by every resource type that has one (S3 buckets, KMS keys,
ECR repositories): who a statement names as principal, and whether its conditions pin a
wildcard principal to known callers.

Pure functions over the parsed policy document; no AWS calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Global condition keys that pin a wildcard principal to known callers, after the rules S3 uses to
# decide whether a policy is public ("The meaning of public" in the S3 user guide). Services add
# their own keys (S3 access points, kms:CallerAccount) on top.
GLOBAL_RESTRICTING_CONDITION_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:sourceip",
    }
)


def as_list(value: Any) -> list[Any]:
    """Policy elements may be a single value or a list of them."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The policy's statements as a list (a lone statement object counts as one)."""
    if not policy:
        return []
    found = policy.get("Statement", [])
    if isinstance(found, dict):
        found = [found]
    return list(found)


def statement_label(statement: dict[str, Any], index: int) -> str:
    """How a reason names a statement: its Sid, or its position."""
    return str(statement.get("Sid") or f"#{index}")


def principal_is_wildcard(principal: Any) -> bool:
    """True for ``"*"`` and ``{"AWS": "*"}`` (or a list holding "*")."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in as_list(principal.get("AWS", []))
    return False


def _pins(operator: str) -> bool:
    """Whether an operator can pin a key to fixed values. A negated operator (StringNotEquals,
    ArnNotLike, NotIpAddress, ...) admits everyone outside the values, "...IfExists" admits callers
    without the key, and Null only tests presence: none of them restricts who the caller is."""
    base = operator.split(":")[-1]  # drop a ForAnyValue:/ForAllValues: set prefix
    return "Not" not in base and not base.endswith("IfExists") and base != "Null"


def has_restricting_condition(
    condition: dict[str, Any], keys: Iterable[str] = GLOBAL_RESTRICTING_CONDITION_KEYS
) -> bool:
    """True when a condition pins the caller to fixed values of one of ``keys`` (lower case)."""
    wanted = frozenset(keys)
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            continue
        if not _pins(operator):
            continue
        for key, value in pairs.items():
            values = value if isinstance(value, list) else [value]
            if key.lower() in wanted and all(isinstance(v, str) and "*" not in v for v in values):
                return True
    return False


def public_statements(
    policy: dict[str, Any] | None, keys: Iterable[str] = GLOBAL_RESTRICTING_CONDITION_KEYS
) -> list[str]:
    """Sids (or indexes) of Allow statements open to any principal without a pinning condition."""
    public = []
    for index, statement in enumerate(statements(policy)):
        if statement.get("Effect") != "Allow":
            continue
        if not principal_is_wildcard(statement.get("Principal")):
            continue
        if has_restricting_condition(statement.get("Condition", {}), keys):
            continue
        public.append(statement_label(statement, index))
    return public
