"""Metric names the dashboard and alarms in template.yaml rely on."""

from __future__ import annotations

from typing import Any

from aiwarden import telemetry
from tests.conftest import REPO


class Recorder:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.values[name] = self.values.get(name, 0) + value


def test_summary_becomes_metrics():
    metrics = Recorder()
    telemetry.record(
        {
            "evaluated": 4,
            "statuses": {"FAIL": 2, "ERROR": 1, "PASS": 1},
            "fail_by_severity": {"CRITICAL": 1, "HIGH": 1},
            "remediations": {"remediated": 1, "would-remediate": 2},
            "alerts_sent": 2,
            "event_to_alert_ms": 1234.0,
        },
        metrics,
    )
    assert metrics.values["FindingsCritical"] == 1 and metrics.values["FindingsLow"] == 0
    assert metrics.values["EvaluationErrors"] == 1
    assert metrics.values["RemediationsRemediated"] == 1
    assert metrics.values["RemediationsWouldRemediate"] == 2
    assert metrics.values["EventToAlertLatency"] == 1234.0


def test_skipped_event_is_counted_once():
    metrics = Recorder()
    telemetry.record({"evaluated": 0, "skipped": "UnsupportedEvent", "reason": "x"}, metrics)
    assert metrics.values == {"EventsSkipped": 1}


def test_dashboard_and_alarms_use_emitted_metric_names():
    template = (REPO / "template.yaml").read_text()
    for name in (
        "FindingsCritical",
        "Alerts",
        "RemediationsRemediated",
        "EventToAlertLatency",
        "EvaluationErrors",
    ):
        assert f'"{name}"' in template or f"MetricName: {name}" in template, name
