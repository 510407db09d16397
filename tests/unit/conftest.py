"""Fixtures the unit tests share; a module that defines a fixture of the same name uses its own."""

from __future__ import annotations

import pytest

from aiwarden.clients import Clients
from aiwarden.store import StateStore, create_table
from tests.unit.helpers import STATE_TABLE, Calls, record_calls


@pytest.fixture
def calls(aws: Clients) -> Calls:
    """Hooked into the client factory's session before any client exists, so every client counts."""
    return record_calls()


@pytest.fixture
def store(aws: Clients, calls: Calls) -> StateStore:
    """The state table on the test's moto backend (after ``calls``, so its calls count too)."""
    create_table(aws.client("dynamodb"), STATE_TABLE)
    return StateStore(aws.client("dynamodb"), STATE_TABLE)
