"""Helpers for unit tests: run one check on one resource the way the engine does."""

from __future__ import annotations

from typing import Any

from aiwarden.engine import run_check
from aiwarden.model import Finding, ResourceRef
from aiwarden.registry import REGISTRY, all_checks

ACCOUNT = "123456789012"
REGION = "us-east-1"


def check_finding(check_id: str, resource_id: str, clients: Any, region: str = REGION) -> Finding:
    all_checks()
    check = REGISTRY[check_id]
    ref = ResourceRef(check.resource, resource_id, region, ACCOUNT)
    return run_check(check, ref, clients)
