"""One moto server per test session on 127.0.0.1 (a free port), reset before each test."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from aiwarden.clients import client, reset_client_cache
from tests.conftest import REGION


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from aiwarden_dev.moto_server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    reset_client_cache()
    return moto_endpoint


@pytest.fixture
def aws_at(endpoint: str) -> Any:
    """boto3 clients for the moto server: aws_at("s3")."""
    return lambda service: client(service, REGION, endpoint, None)


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `aiwarden ARGS` in a fresh process, as a script calling it would."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    )
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "aiwarden.cli", *args],
        env=base,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )
