"""CloudWatch metrics (embedded metric format via Powertools) from an invocation's summary.

The handlers pass their Powertools ``Metrics``; keeping the mapping here means every function
emits the same names, which the template's dashboard and alarms rely on.
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "AIWarden"


def record(summary: dict[str, Any], metrics: Any) -> None:
    """Add this invocation's figures to ``metrics`` (aws_lambda_powertools.Metrics)."""
    from aws_lambda_powertools.metrics import MetricUnit

    if summary.get("skipped"):
        metrics.add_metric(name="EventsSkipped", unit=MetricUnit.Count, value=1)
        return
    statuses = summary.get("statuses", {})
    metrics.add_metric(name="Evaluations", unit=MetricUnit.Count, value=summary.get("evaluated", 0))
    metrics.add_metric(name="EvaluationErrors", unit=MetricUnit.Count, value=statuses.get("ERROR", 0))
    metrics.add_metric(name="Alerts", unit=MetricUnit.Count, value=summary.get("alerts_sent", 0))
    for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"):
        count = summary.get("fail_by_severity", {}).get(severity, 0)
        metrics.add_metric(name=f"Findings{severity.title()}", unit=MetricUnit.Count, value=count)
    for outcome, count in summary.get("remediations", {}).items():
        name = "Remediations" + "".join(part.title() for part in outcome.split("-"))
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    if "event_to_alert_ms" in summary:
        metrics.add_metric(
            name="EventToAlertLatency", unit=MetricUnit.Milliseconds, value=summary["event_to_alert_ms"]
        )
