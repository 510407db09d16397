"""Shared fixtures. No test may reach AWS: credentials are dummies, and pytest-socket (see
pyproject addopts) refuses connections to anything but 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "ALERT_TOPIC_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def aws() -> Iterator[Any]:
    """An in-process moto backend and AI Warden Clients bound to it (fresh per test)."""
    from moto import mock_aws

    from aiwarden.clients import Clients, reset_client_cache

    with mock_aws():
        reset_client_cache()
        yield Clients(REGION, account_id=ACCOUNT)
        reset_client_cache()


def load_event(relative: str) -> dict[str, Any]:
    """A sample envelope from events/, e.g. load_event("cloudtrail/s3_create_bucket.json")."""
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return loaded
