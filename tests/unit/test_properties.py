"""Property-based tests: no event, however malformed, gets past AI Warden as anything but a
parsed Invocation or a logged, explained skip.

EventBridge and AWS Config deliver at least once, and Lambda retries an invocation that raises and
then dead-letters it. An exception other than the two AI Warden raises on purpose (NothingToEvaluate,
which becomes a skip, and EvaluationFailed, which asks for a retry) means a malformed event is
retried for nothing, or kills a run that should have evaluated the rest. These properties feed
``normalise`` and the Lambda handlers arbitrary JSON, every real sample under events/ with random
damage, and huge events.

Profiles: ``HYPOTHESIS_PROFILE=ci`` (default: 300 examples per normalise property, 100 per handler
property, the whole file in about 10 s) or ``nightly`` (5000 and 1666, about 80 s). Inputs that once
broke a property are pinned with ``@example`` so every run replays them first.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import io
import json
import logging
import os
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aiwarden import engine
from aiwarden.clients import Clients, reset_client_cache
from aiwarden.engine import ANNOTATION_LIMIT, EvaluationFailed
from aiwarden.events import (
    CLOUDTRAIL,
    CONFIG_ITEM_CHANGE,
    GUARDDUTY_FINDING,
    SCHEDULED,
    Invocation,
    NothingToEvaluate,
    Target,
    UnsupportedEvent,
    normalise,
)
from aiwarden.registry import REGISTRY, all_checks
from tests.conftest import EVENTS, REPO

pytestmark = [
    # Hypothesis's own bookkeeping reprs a generated event when it replays one; big events are the
    # point here.
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
    # Powertools Metrics on a handler call that skipped the event, by design.
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    # CI runners are throwaway and the repo should stay clean: failures are pinned with @example
    # and reproducible from the printed blob instead of a .hypothesis/ example database.
    database=None,
    print_blob=True,
    # Huge and deeply nested events are the point here, not a sign of a slow strategy.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("nightly", parent=settings.get_profile("ci"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# A handler call evaluates against moto, two orders of magnitude dearer than normalise().
HANDLER_EXAMPLES = max(10, settings.default.max_examples // 3)

# ---------------------------------------------------------------------------------------------
# Samples and the vocabulary random events are built from
# ---------------------------------------------------------------------------------------------

SAMPLES: dict[str, Any] = {
    path.relative_to(EVENTS).as_posix(): json.loads(path.read_text())
    for path in sorted(EVENTS.glob("*/*.json"))
}
# What normalise() evaluates; other folders (e.g. sns/, another function's input) are mutated too,
# as more input it must reject cleanly.
EVALUABLE = ("cloudtrail", "config", "guardduty", "config_rule")
# Config passes these as JSON *strings*: mutations must reach inside them too.
JSON_FIELDS = ("invokingEvent", "ruleParameters")
ONE_MB = 1_000_000


def _decoded(event: Any) -> Any:
    """The event with its JSON-string fields parsed, so a mutation can reach the item inside."""
    if not isinstance(event, dict):
        return event
    out = dict(event)
    for name in JSON_FIELDS:
        with contextlib.suppress(TypeError, ValueError):
            parsed = json.loads(out[name]) if isinstance(out.get(name), str) else None
            if isinstance(parsed, dict | list):
                out[name] = parsed
    return out


def _nodes(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from _nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child)


def _vocabulary() -> tuple[list[str], list[str]]:
    """Keys and short strings that real events and the registry's triggers use, so random events
    get past the first ``isinstance`` check and into the parsers."""
    keys: set[str] = set()
    strings: set[str] = {CLOUDTRAIL, CONFIG_ITEM_CHANGE, GUARDDUTY_FINDING, SCHEDULED}
    for sample in SAMPLES.values():
        for node in _nodes(_decoded(sample)):
            if isinstance(node, dict):
                keys.update(node)
            elif isinstance(node, str) and len(node) <= 200:
                strings.add(node)
    for check in all_checks():
        for trigger in check.triggers:
            strings.add(trigger.event_source)
            strings.update(trigger.event_names)
            keys.update(part.removesuffix("[]") for part in trigger.ids.split("."))
    return sorted(keys), sorted(strings)


KEYS, STRINGS = _vocabulary()

# JSON numbers have no size limit and Python's json module keeps them exact (or as inf/nan).
NASTY_NUMBERS = st.sampled_from([10**400, -(10**400), 2**1024, 2**63, -1, 0, 1e308, -0.0]) | st.sampled_from(
    [float("inf"), float("-inf"), float("nan")]
)


class Repeated(str):
    """A long run of one character that a failure report prints as ``'[' * 5000``, not in full."""

    def __repr__(self) -> str:
        return f"{self[:1]!r} * {len(self)}" if len(set(self)) == 1 else super().__repr__()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


HUGE_INT_TEXT = Repeated("1" * 5000)  # json.loads refuses ints over 4300 digits with ValueError
DEEP_JSON_TEXT = Repeated("[" * 5000)  # deeper than Python's recursion limit: RecursionError
# What a JSON-string field (invokingEvent, ruleParameters) might hold instead of an object.
NASTY_JSON_TEXT = st.sampled_from(
    ["", " ", "{", '{"a":', "[]", "null", "true", '"text"', "NaN", "1e400", HUGE_INT_TEXT, DEEP_JSON_TEXT]
)

# deferred(): the same strategies, with a one-line repr instead of the whole vocabulary.
known_keys = st.deferred(lambda: st.sampled_from(KEYS))
known_strings = st.deferred(lambda: st.sampled_from(STRINGS))
# JSON can carry what st.text() leaves out: lone surrogates ("\ud800" is valid JSON), NULs.
NASTY_STRINGS = st.sampled_from(["\ud800", "a\udfffb", "\x00", " ", "\u202e", "arn:", "arn:aws:s3:::", "*"])
texts = st.text(max_size=30) | known_strings | NASTY_STRINGS
leaves = st.none() | st.booleans() | st.integers() | st.floats() | texts | NASTY_NUMBERS


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
        max_leaves=25,
    )


# Property 1's input as the lead specified it, plus the same with realistic keys (without them
# a random dict almost never reaches a parser).
ARBITRARY_JSON = json_values(st.text(max_size=20))
VOCABULARY_JSON = json_values(known_keys | st.text(max_size=10))
ANY_JSON = ARBITRARY_JSON | VOCABULARY_JSON


# Envelopes shaped like EventBridge events and Config rule invocations, with random insides.
EVENTBRIDGE_ENVELOPES = st.fixed_dictionaries(
    {
        "detail-type": st.sampled_from([CLOUDTRAIL, CONFIG_ITEM_CHANGE, GUARDDUTY_FINDING, SCHEDULED]),
        "detail": st.dictionaries(known_keys, VOCABULARY_JSON, max_size=10),
    },
    optional={
        "id": texts,
        "account": texts,
        "region": texts,
        "source": texts,
        "time": texts,
        "resources": VOCABULARY_JSON,
    },
)
CONFIG_RULE_ENVELOPES = st.fixed_dictionaries(
    {"resultToken": texts | VOCABULARY_JSON},
    optional={
        "invokingEvent": VOCABULARY_JSON | VOCABULARY_JSON.map(json.dumps) | NASTY_JSON_TEXT,
        "ruleParameters": VOCABULARY_JSON | VOCABULARY_JSON.map(json.dumps) | NASTY_JSON_TEXT,
        "accountId": texts,
        "awsRegion": texts,
        "configRuleArn": texts,
        "configRuleName": texts,
        "eventLeftScope": leaves,
    },
)
RANDOM_EVENTS = ANY_JSON | EVENTBRIDGE_ENVELOPES | CONFIG_RULE_ENVELOPES

# ---------------------------------------------------------------------------------------------
# Mutations of real samples
# ---------------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]
MUTATIONS = ("delete", "retype", "truncate", "none", "wrap", "empty")


def _paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _get(root: Any, path: Path_) -> Any:
    for part in path:
        root = root[part]
    return root


def _replace(root: Any, path: Path_, new: Any) -> Any:
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _delete(root: Any, path: Path_) -> Any:
    if not path:
        return {}
    parent = _get(root, path[:-1])
    if isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])  # type: ignore[arg-type]
    return root


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _injured(draw: st.DrawFn, current: Any, mutation: str) -> tuple[bool, Any]:
    """(delete it?, else the value that replaces ``current``)."""
    if mutation == "delete":
        return True, None
    if mutation == "retype":
        kind = _kind(current)
        return False, draw(ANY_JSON.filter(lambda value: _kind(value) != kind))
    if mutation == "truncate" and isinstance(current, str):
        return False, current[: draw(st.integers(0, max(0, len(current) - 1)))]
    if mutation == "none":
        return False, None
    if mutation == "wrap":
        return False, [current]
    if mutation == "empty":
        return False, type(current)() if isinstance(current, str | list | dict) else 0
    return False, current


def _reencoded(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    """Config's JSON-string fields back as strings: whole, cut short, left as objects, or nonsense."""
    for field in JSON_FIELDS:
        if field not in event:
            continue
        encoding = draw(st.sampled_from(["json", "json", "truncated json", "as is", "nasty"]))
        if encoding.endswith("json"):
            text = json.dumps(event[field])
            cut = draw(st.integers(0, len(text))) if encoding == "truncated json" else len(text)
            event[field] = text[:cut]
        elif encoding == "nasty":
            event[field] = draw(NASTY_JSON_TEXT)
    return event


@st.composite
def mutated(draw: st.DrawFn, names: tuple[str, ...] | None = None) -> Any:
    """A sample from events/ with one to four random injuries, inside its JSON strings too."""
    name = draw(st.sampled_from(names or tuple(SAMPLES)))
    event = _decoded(copy.deepcopy(SAMPLES[name]))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(_paths(event))))
        delete, value = _injured(draw, _get(event, path), draw(st.sampled_from(MUTATIONS)))
        event = _delete(event, path) if delete else _replace(event, path, value)
    return _reencoded(draw, event) if isinstance(event, dict) else event


def _with(sample: str, path: Path_, value: Any) -> Any:
    """A sample with one value replaced (inside its JSON-string fields too): for @example pins."""
    event = _decoded(copy.deepcopy(SAMPLES[sample]))
    _replace(event, path, value)
    for field in JSON_FIELDS:
        if isinstance(event.get(field), dict | list):
            event[field] = json.dumps(event[field])
    return event


# Inputs that broke a property: each is pinned on the tests below (minimal form and in a sample).
BIG_INT_SEVERITY = {
    "detail-type": GUARDDUTY_FINDING,
    "account": "0",
    "region": "0",
    "detail": {"type": "0", "severity": 10**400},
}
UNHASHABLE_ITEM_STATUS = {
    "resultToken": "0",
    "accountId": "0",
    "invokingEvent": {
        "messageType": "ConfigurationItemChangeNotification",
        "configurationItem": {"resourceType": "0", "resourceId": "0", "configurationItemStatus": []},
    },
}
HUGE_INT_INVOKING_EVENT = {"resultToken": "0", "invokingEvent": HUGE_INT_TEXT}
DEEP_INVOKING_EVENT = {"resultToken": "0", "invokingEvent": DEEP_JSON_TEXT}
GUARDDUTY_SAMPLE_BIG_SEVERITY = _with("guardduty/ec2_instance_finding.json", ("detail", "severity"), 10**400)
CONFIG_RULE_SAMPLE_LIST_STATUS = _with(
    "config_rule/configuration_item_change_s3_bucket.json",
    ("invokingEvent", "configurationItem", "configurationItemStatus"),
    [],
)
CONFIG_RULE_SAMPLE_HUGE_INT = _with(
    "config_rule/configuration_item_change_s3_bucket.json", ("ruleParameters",), HUGE_INT_TEXT
)
CONFIG_RULE_SAMPLE_DEEP = _with("config_rule/scheduled_notification.json", ("invokingEvent",), DEEP_JSON_TEXT)


# The evaluate handler's alerts: an SNS attribute that is not UTF-8, a message over SNS's 256 KB.
SURROGATE_RESOURCE_TYPE = {
    "detail-type": GUARDDUTY_FINDING,
    "account": "0",
    "region": "0",
    "detail": {"type": "0", "severity": 0, "resource": {"resourceType": "\ud800"}},
}
HUGE_DESCRIPTION = {
    "detail-type": GUARDDUTY_FINDING,
    "account": "0",
    "region": "0",
    "detail": {"type": "0", "severity": 0, "description": Repeated("x" * 300_000)},
}

KNOWN_BAD = [BIG_INT_SEVERITY, UNHASHABLE_ITEM_STATUS, HUGE_INT_INVOKING_EVENT, DEEP_INVOKING_EVENT]
KNOWN_BAD_SAMPLES = [
    GUARDDUTY_SAMPLE_BIG_SEVERITY,
    CONFIG_RULE_SAMPLE_LIST_STATUS,
    CONFIG_RULE_SAMPLE_HUGE_INT,
    CONFIG_RULE_SAMPLE_DEEP,
]
# What the config_rule function can actually be sent: Config rule invocations.
KNOWN_BAD_CONFIG_RULE = [
    UNHASHABLE_ITEM_STATUS,
    HUGE_INT_INVOKING_EVENT,
    DEEP_INVOKING_EVENT,
    CONFIG_RULE_SAMPLE_LIST_STATUS,
    CONFIG_RULE_SAMPLE_HUGE_INT,
    CONFIG_RULE_SAMPLE_DEEP,
]


def pinned(*events: Any) -> Callable[[Callable[..., None]], Any]:
    """Replay inputs that once broke these properties on every run, before any random one."""

    def decorate(test: Callable[..., None]) -> Any:
        for event in reversed(events):
            test = example(event=event)(test)
        return test

    return decorate


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def outcome(event: Any) -> Invocation | NothingToEvaluate:
    """normalise()'s answer, the skip included; any other exception propagates (and fails)."""
    try:
        return normalise(event)
    except NothingToEvaluate as exc:
        return exc


def _target_signature(target: Target) -> tuple[Any, ...]:
    ref = target.ref
    where = None if ref is None else (ref.resource_id, ref.region, ref.account, ref.arn_hint)
    return target.scope.cfn_type, sorted(target.check_ids), where


def signature(result: Invocation | BaseException) -> tuple[Any, ...]:
    """What a second delivery of the event must reproduce exactly."""
    if isinstance(result, BaseException):
        reason = result.reason if isinstance(result, NothingToEvaluate) else str(result)
        return type(result).__name__, reason, getattr(result, "event_id", None)
    return (
        "Invocation",
        result.account,
        result.region,
        result.sweep,
        result.trigger,
        result.config_rule,
        [_target_signature(t) for t in result.targets],
        None if result.guardduty is None else result.guardduty.resource_names,
    )


def assert_targets_are_addressable(invocation: Invocation) -> None:
    registered = set(REGISTRY)
    for target in invocation.targets:
        assert target.check_ids <= registered
        ref = target.ref
        if ref is None:
            continue
        assert ref.type is target.scope
        assert isinstance(ref.resource_id, str) and ref.resource_id
        assert isinstance(ref.region, str) and ref.region
        assert isinstance(ref.account, str) and ref.account


def test_samples_cover_every_source():
    """The mutation properties are only as good as the samples they start from."""
    folders = {name.split("/")[0] for name in SAMPLES}
    assert {*EVALUABLE, "invalid"} <= folders
    parsed = {
        name.split("/")[0] for name, sample in SAMPLES.items() if isinstance(outcome(sample), Invocation)
    }
    assert set(EVALUABLE) <= parsed
    for name in SAMPLES:
        if name.startswith("invalid/"):
            assert isinstance(outcome(SAMPLES[name]), NothingToEvaluate), name


# ---------------------------------------------------------------------------------------------
# 1, 2, 6: normalise
# ---------------------------------------------------------------------------------------------


@given(event=RANDOM_EVENTS)
@pinned(*KNOWN_BAD)
def test_normalise_parses_or_explains_any_json(event):
    result = outcome(event)
    if isinstance(result, NothingToEvaluate):
        assert isinstance(result.reason, str) and result.reason
    else:
        assert_targets_are_addressable(result)


@given(event=mutated())
@pinned(*KNOWN_BAD_SAMPLES)
def test_normalise_parses_or_explains_any_damaged_sample(event):
    result = outcome(event)
    if isinstance(result, NothingToEvaluate):
        assert isinstance(result.reason, str) and result.reason
        assert result.event_id is None or isinstance(result.event_id, str)
    else:
        assert_targets_are_addressable(result)


@given(event=mutated() | RANDOM_EVENTS)
def test_same_event_delivered_twice_yields_the_same_targets(event):
    """At-least-once delivery: the redelivered copy (serialised again, as Lambda hands it over)
    names the same resources, and normalise leaves the event it was given untouched."""
    pristine = copy.deepcopy(event)

    def attempt(delivered: Any) -> Invocation | BaseException:
        # Determinism is this property; whether an exception is allowed is the others'.
        try:
            return normalise(delivered)
        except Exception as exc:
            return exc

    first = attempt(event)
    assert json.dumps(event) == json.dumps(pristine)  # not ==: NaN is never equal to itself
    second = attempt(json.loads(json.dumps(event)))
    assert signature(second) == signature(first)


# ---------------------------------------------------------------------------------------------
# 5: huge events
# ---------------------------------------------------------------------------------------------

CLOUDTRAIL_SAMPLES = sorted(name for name in SAMPLES if name.startswith("cloudtrail/"))


def _timed(event: Any) -> tuple[Invocation | NothingToEvaluate, float]:
    start = time.perf_counter()
    result = outcome(event)
    return result, time.perf_counter() - start


@pytest.mark.parametrize("name", CLOUDTRAIL_SAMPLES)
def test_huge_cloudtrail_event_is_parsed_fast_and_the_same(name):
    event = copy.deepcopy(SAMPLES[name])
    params = event["detail"].get("requestParameters")
    params = params if isinstance(params, dict) else {}
    event["detail"]["requestParameters"] = params
    params["policyBlob"] = "x" * ONE_MB
    params["items"] = [{"name": f"item-{i}", "arn": f"arn:aws:s3:::item-{i}"} for i in range(10_000)]
    event["detail"]["resources"] = [{"ARN": f"arn:aws:s3:::bucket-{i}"} for i in range(10_000)]

    result, elapsed = _timed(event)

    assert elapsed < 2.0
    # Unrelated bulk changes nothing about which resources the call names.
    assert signature(result) == signature(outcome(SAMPLES[name]))


def test_guardduty_finding_naming_ten_thousand_buckets_is_parsed_fast():
    event = copy.deepcopy(SAMPLES["guardduty/s3_bucket_anonymous_access_granted.json"])
    resource = event["detail"]["resource"]
    bucket = resource["s3BucketDetails"][0]
    resource["s3BucketDetails"] = [dict(bucket, name=f"aiw-{i}") for i in range(10_000)]
    event["detail"]["description"] = "x" * ONE_MB

    result, elapsed = _timed(event)

    assert elapsed < 2.0
    assert isinstance(result, Invocation)
    assert (
        len({t.ref for t in result.targets if t.ref and t.ref.type.cfn_type == "AWS::S3::Bucket"}) == 10_000
    )


def test_config_rule_invocation_with_a_huge_item_is_parsed_fast():
    event = _decoded(copy.deepcopy(SAMPLES["config_rule/configuration_item_change_s3_bucket.json"]))
    item = event["invokingEvent"]["configurationItem"]
    item["configuration"] = {"blob": "x" * ONE_MB}
    item["relationships"] = [{"resourceId": f"r-{i}", "name": "Is associated with"} for i in range(10_000)]
    event["invokingEvent"] = json.dumps(event["invokingEvent"])

    result, elapsed = _timed(event)

    assert elapsed < 2.0
    assert isinstance(result, Invocation)
    assert [t.ref.resource_id for t in result.targets if t.ref] == ["aiw-datasets-plain"]


# ---------------------------------------------------------------------------------------------
# 3, 4: the Lambda handlers, end to end against moto
# ---------------------------------------------------------------------------------------------

CONTEXT = types.SimpleNamespace(
    function_name="aiwarden-evaluate",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:aiwarden-evaluate",
    aws_request_id="6f1c8a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
    function_version="$LATEST",
    get_remaining_time_in_millis=lambda: 60_000,
)
COMPLIANCE_TYPES = {"COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"}
PUT_EVALUATIONS = get_session().get_service_model("config").operation_model("PutEvaluations").input_shape
# The fixtures below (env vars, one moto backend, one loaded handler) are deliberately shared by
# every example: an invocation must not depend on a fresh process or account.
HANDLER_SETTINGS = settings(
    max_examples=HANDLER_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclasses.dataclass
class Lambda:
    """A handler module; each call captures the structured log lines that call printed."""

    module: types.ModuleType
    lines: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def __call__(self, event: Any) -> Any:
        buffer = io.StringIO()
        self.module.logger.registered_handler.stream = buffer
        try:
            return self.module.handler(event, CONTEXT)
        finally:
            # "\n" only: a logged event value may hold other line breaks (U+0085, U+2028) verbatim.
            self.lines = [json.loads(line) for line in buffer.getvalue().split("\n") if line.startswith("{")]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"<handler {self.module.__name__}>")  # not every log line of the last call


def load_app(name: str, monkeypatch: pytest.MonkeyPatch) -> Lambda:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    # A service name of our own: Powertools keeps one handler per name, and test_handler's is its.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"aiwarden-{name}-properties")
    spec = importlib.util.spec_from_file_location(
        f"aiwarden_{name}_app_properties", REPO / "functions" / name / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reset_client_cache()
    return Lambda(module)


@pytest.fixture
def keep_aiwarden_logger() -> Iterator[None]:
    """app.py reconfigures the "aiwarden" logger (handler, level, propagate): undo it afterwards."""
    package_logger = logging.getLogger("aiwarden")
    saved = (package_logger.handlers[:], package_logger.level, package_logger.propagate)
    yield
    package_logger.handlers, package_logger.level, package_logger.propagate = saved


@pytest.fixture
def evaluate_lambda(aws: Clients, monkeypatch, keep_aiwarden_logger) -> Lambda:
    topic = aws.client("sns").create_topic(Name="aiwarden-alerts")["TopicArn"]
    monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
    return load_app("evaluate", monkeypatch)


@dataclasses.dataclass
class ConfigRuleLambda(Lambda):
    puts: list[tuple[str, list[dict[str, Any]]]] = dataclasses.field(default_factory=list)


@pytest.fixture
def config_rule_lambda(aws: Clients, monkeypatch, keep_aiwarden_logger) -> ConfigRuleLambda:
    app = ConfigRuleLambda(load_app("config_rule", monkeypatch).module)

    def put_evaluations(config: Any, token: str, evaluations: list[dict[str, Any]]) -> int:
        # moto has no PutEvaluations outside its own test mode: record what would be sent.
        app.puts.append((token, evaluations))
        return len(evaluations)

    monkeypatch.setattr(engine, "put_evaluations", put_evaluations)
    return app


@HANDLER_SETTINGS
@given(event=mutated() | RANDOM_EVENTS)
@pinned(*KNOWN_BAD, *KNOWN_BAD_SAMPLES, SURROGATE_RESOURCE_TYPE, HUGE_DESCRIPTION)
def test_evaluate_handler_raises_only_to_retry_and_logs_each_skip_once(evaluate_lambda, event):
    pristine = copy.deepcopy(event)
    try:
        result = evaluate_lambda(event)
    except EvaluationFailed:
        # A retry is for work that could not be done, never for an event that names none.
        assert isinstance(outcome(pristine), Invocation)
        return
    json.dumps(result)  # Lambda must be able to serialise the answer
    expected = outcome(pristine)
    if isinstance(expected, Invocation):
        assert "skipped" not in result
        assert result["event_id"] == expected.trigger.event_id
        return
    assert result["skipped"] == type(expected).__name__
    assert result["reason"] == expected.reason
    assert result["evaluated"] == 0
    (logged,) = [line for line in evaluate_lambda.lines if "reason" in line]
    assert logged["reason"] == expected.reason
    assert logged.get("event_id") == expected.event_id
    assert logged["level"] == ("WARNING" if isinstance(expected, UnsupportedEvent) else "INFO")


@HANDLER_SETTINGS
@given(event=mutated(tuple(name for name in SAMPLES if name.startswith("config_rule/"))))
@pinned(*KNOWN_BAD_CONFIG_RULE)
def test_config_rule_handler_raises_only_to_retry_and_puts_valid_evaluations(config_rule_lambda, event):
    config_rule_lambda.puts.clear()
    try:
        result = config_rule_lambda(event)
    except EvaluationFailed:
        result = None  # evaluations are put before it raises: they are checked all the same
    expected = outcome(copy.deepcopy(event))
    for token, batch in config_rule_lambda.puts:
        assert isinstance(expected, Invocation) and expected.config_rule is not None
        assert token == expected.config_rule.result_token
        report = ParamValidator().validate({"ResultToken": token, "Evaluations": batch}, PUT_EVALUATIONS)
        assert not report.has_errors(), report.generate_report()
        for evaluation in batch:
            assert evaluation["ComplianceType"] in COMPLIANCE_TYPES
            assert isinstance(evaluation["Annotation"], str)
            assert len(evaluation["Annotation"]) <= ANNOTATION_LIMIT
    if result is None:
        assert isinstance(expected, Invocation)
        return
    json.dumps(result)  # Lambda must be able to serialise the answer
    if not isinstance(expected, Invocation) or expected.config_rule is None:
        assert result["error"] == "not a Config rule invocation"
        assert config_rule_lambda.puts == []
        return
    assert result["evaluations_put"] == sum(len(batch) for _, batch in config_rule_lambda.puts)
