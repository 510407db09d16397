"""Helpers for unit tests: run one check on one resource the way the engine does."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from aiwarden import clients as clients_module
from aiwarden.engine import run_check
from aiwarden.model import Finding, ResourceRef
from aiwarden.registry import REGISTRY, all_checks

ACCOUNT = "123456789012"
REGION = "us-east-1"
STATE_TABLE = "aiwarden-state"  # the state table the unit tests' ``store`` fixture creates on moto


def check_finding(check_id: str, resource_id: str, clients: Any, region: str = REGION) -> Finding:
    all_checks()
    check = REGISTRY[check_id]
    ref = ResourceRef(check.resource, resource_id, region, ACCOUNT)
    return run_check(check, ref, clients)


class Calls:
    """Every API call the clients make, with its parameters (botocore's before-parameter-build)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.made: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.made.append((model.name, dict(params)))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            made, self.made = self.made, []
        return made


def record_calls() -> Calls:
    """Hooked into the client factory's session: call before any client exists, so every client counts."""
    counter = Calls()
    clients_module._session(None).events.register("before-parameter-build", counter)
    return counter


def operations(made: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    return Counter(name for name, _ in made)
