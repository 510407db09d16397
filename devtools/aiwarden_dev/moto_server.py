"""The embedded default: a moto server on 127.0.0.1, on a free port, stopped when done."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

DEMO_ACCOUNT = "123456789012"  # moto's default account
DEMO_REGION = "us-east-1"

# Dummy credentials: the demo and tests must never sign a request with real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": DEMO_REGION,
    "AWS_REGION": DEMO_REGION,
}


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on 127.0.0.1:<free port>; yield its endpoint URL; stop it afterwards."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def fake_aws_environment(endpoint_url: str) -> Iterator[None]:
    """Point every boto3 client in this process at ``endpoint_url`` with dummy credentials."""
    saved = dict(os.environ)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
