"""boto3 clients built lazily and reused, plus a per-invocation cache of described resources.

Building a boto3 client costs tens of milliseconds, so clients are kept in a process-wide
factory keyed by (profile, service, region, endpoint) and survive warm Lambda invocations. No
client is built at import time. Described resources, on the other hand, must never outlive one
invocation: a Config item or CloudTrail event only says *that* something changed, so every
invocation re-reads the current state, once per resource.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from aiwarden.store import StateStore

# Bounded retries with backoff for throttling and 5xx; short connect timeout so an unreachable
# endpoint fails fast instead of hanging a CLI user or a Lambda.
BOTO_CONFIG = Config(
    # total_max_attempts counts the first try: 4 calls in all (max_attempts would mean 4 *retries*).
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="aiwarden",
)

_factory_lock = threading.Lock()
_sessions: dict[str | None, boto3.Session] = {}
_clients: dict[tuple[str | None, str, str, str | None], Any] = {}


def _session(profile: str | None) -> boto3.Session:
    with _factory_lock:
        if profile not in _sessions:
            _sessions[profile] = boto3.Session(profile_name=profile)
        return _sessions[profile]


def client(service: str, region: str, endpoint_url: str | None, profile: str | None) -> Any:
    key = (profile, service, region, endpoint_url)
    found = _clients.get(key)
    if found is not None:
        return found
    session = _session(profile)
    with _factory_lock:
        if key not in _clients:
            built = session.client(service, region_name=region, endpoint_url=endpoint_url, config=BOTO_CONFIG)
            custom = (
                endpoint_url
                or os.environ.get("AWS_ENDPOINT_URL_S3_CONTROL")
                or os.environ.get("AWS_ENDPOINT_URL")
            )
            if custom and service == "s3control":
                _pin_host(built, custom)
            _clients[key] = built
        return _clients[key]


def _pin_host(s3control: Any, endpoint_url: str) -> None:
    """S3 Control prefixes the host with the account id ("<account>.s3-control..."); a single
    local endpoint such as a moto server cannot resolve that, so send it to the endpoint as is."""
    netloc = urlsplit(endpoint_url).netloc

    def strip_prefix(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        if parts.netloc != netloc:
            request.url = urlunsplit(parts._replace(netloc=netloc))

    s3control.meta.events.register("before-sign.s3-control.*", strip_prefix)


def reset_client_cache() -> None:
    """Forget every client: tests call this when they move between moto backends."""
    with _factory_lock:
        _clients.clear()
        _sessions.clear()


class Clients:
    """What a check may touch: boto3 clients for one account and region, and a describe cache."""

    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        profile: str | None = None,
        account_id: str | None = None,
        session: boto3.Session | None = None,
        state: StateStore | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.profile = profile
        self._account_id = account_id
        # The state table, when the runtime has one (Lambda with AIWARDEN_STATE_TABLE): resources
        # may keep indexes there that spare whole-region listings (aiwarden.resources.bucket_usage).
        # None (the CLI, most tests): everything is computed from the APIs, as always.
        self.state = state
        # A session of its own (the remediation role's assumed credentials): its clients live and
        # die with this object instead of the process-wide factory.
        self._session = session
        self._own_clients: dict[tuple[str, str], Any] = {}
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._memo_lock = threading.Lock()
        self._key_locks: dict[tuple[Any, ...], threading.Lock] = {}
        # Cache entries filled from AWS Config's recorded configuration rather than a live read,
        # per resource (aiwarden.resources.recorded): the engine re-reads them live before a
        # verdict built on them may change what the state table remembers.
        self._recorded: dict[Any, set[tuple[Any, ...]]] = {}
        self._recorded_keys: dict[tuple[Any, ...], Any] = {}
        self._judged_from_record: set[tuple[str, Any]] = set()
        # Per thread: the resources whose recorded entries the running check has read. A thread
        # that is not noting (a helper pool inside a check, a fix) never sees recorded entries.
        self._noting = threading.local()

    def client(self, service: str, region: str | None = None) -> Any:
        if self._session is None:
            return client(service, region or self.region, self.endpoint_url, self.profile)
        key = (service, region or self.region)
        with self._memo_lock:
            if key not in self._own_clients:
                self._own_clients[key] = self._session.client(
                    service, region_name=key[1], endpoint_url=self.endpoint_url, config=BOTO_CONFIG
                )
            return self._own_clients[key]

    def fresh(self) -> Clients:
        """Same account, region and credentials, with an empty describe cache: for re-reading a
        resource after changing it."""
        return Clients(
            self.region, self.endpoint_url, self.profile, self._account_id, self._session, self.state
        )

    def assume(self, role_arn: str, session_name: str = "aiwarden-remediation") -> Clients:
        """Clients acting as ``role_arn`` (the remediation role), for the few write calls."""
        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
            "Credentials"
        ]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        # No state table: the remediation role acts on resources, never on AI Warden's memory.
        return Clients(self.region, self.endpoint_url, None, self._account_id, session)

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id

    def memo(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """Compute ``key`` once per invocation, even when threads of a scan ask at once. A failure
        is remembered too, so five checks on a resource AWS refuses to describe cost one call."""
        with self._memo_lock:
            if key in self._memo and self._visible(key):
                return self._unwrap(self._memo[key])
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            with self._memo_lock:
                if key in self._memo and self._visible(key):
                    return self._unwrap(self._memo[key])
            try:
                value: Any = compute()
            except Exception as exc:
                value = _Failure(exc)
            with self._memo_lock:
                self._memo[key] = value
                self._drop_recorded(key)
            return self._unwrap(value)

    def _visible(self, key: tuple[Any, ...]) -> bool:
        """Whether this thread may use the cached ``key`` (caller holds the memo lock): a live
        value always; a recorded one only inside ``noting_recorded``, which notes its resource."""
        resource = self._recorded_keys.get(key)
        if resource is None:
            return True
        noted = getattr(self._noting, "resources", None)
        if noted is None:
            return False
        noted.add(resource)
        return True

    def _drop_recorded(self, key: tuple[Any, ...]) -> None:
        resource = self._recorded_keys.pop(key, None)
        if resource is not None:
            self._recorded.get(resource, set()).discard(key)

    def seed(self, key: tuple[Any, ...], value: Any) -> None:
        """Remember ``value`` for ``key`` unless something was computed already: a bulk read (a
        listing that carries every field, one call for many resources) fills the cache that the
        per-resource reads would otherwise fill one call at a time."""
        with self._memo_lock:
            self._memo.setdefault(key, value)

    def seed_recorded(self, resource: Any, key: tuple[Any, ...], value: Any) -> None:
        """``seed`` with a value taken from AWS Config's recorded configuration of ``resource``
        (a ResourceRef). Recorded values can lag the resource, so only a check run inside
        ``noting_recorded`` sees them, and the engine learns which of its verdicts rest on them."""
        with self._memo_lock:
            if key in self._memo:
                return
            self._memo[key] = value
            self._recorded.setdefault(resource, set()).add(key)
            self._recorded_keys[key] = resource

    @contextmanager
    def noting_recorded(self) -> Iterator[set[Any]]:
        """Let this thread read recorded entries; yields the set of resources whose entries it read."""
        previous = getattr(self._noting, "resources", None)
        noted: set[Any] = set()
        self._noting.resources = noted
        try:
            yield noted
        finally:
            self._noting.resources = previous

    def forget_recorded(self, resources: Any) -> None:
        """Drop the recorded entries of ``resources``: the next read of them is a live one."""
        with self._memo_lock:
            for resource in resources:
                for key in self._recorded.pop(resource, set()):
                    self._recorded_keys.pop(key, None)
                    self._memo.pop(key, None)

    def recorded_refs(self) -> set[Any]:
        """Resources with cache entries that still come from a recorded configuration."""
        with self._memo_lock:
            return {resource for resource, keys in self._recorded.items() if keys}

    def mark_judged_from_record(self, check_id: str, resource: Any) -> None:
        """The verdict of ``check_id`` on ``resource`` rests on recorded entries (not re-read live)."""
        with self._memo_lock:
            self._judged_from_record.add((check_id, resource))

    def judged_from_record(self, check_id: str, resource: Any) -> bool:
        """True when that verdict may rest on a recorded configuration: remediation re-reads first."""
        with self._memo_lock:
            return (check_id, resource) in self._judged_from_record

    def known(self, key: tuple[Any, ...]) -> bool:
        with self._memo_lock:
            return key in self._memo

    @staticmethod
    def _unwrap(value: Any) -> Any:
        if isinstance(value, _Failure):
            raise value.error
        return value


class _Failure:
    def __init__(self, error: Exception) -> None:
        self.error = error
