"""Compliance reports: status per practice of the security guide and per framework control,
with every failing resource, the reason (lineage included) and the fix.

Rendered as Markdown or self-contained HTML by ``aiwarden report``; the demo writes one.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiwarden.model import Finding, Practice, Severity, Status
from aiwarden.registry import Check, all_checks

FRAMEWORKS = {
    "fsbp": ("AWS-FSBP", "AWS Foundational Security Best Practices (Security Hub)"),
    "cis": ("CIS-AWS-5.0", "CIS AWS Foundations Benchmark v5.0"),
    "nist": ("NIST-800-53r5", "NIST SP 800-53 Rev. 5"),
    "hipaa": ("HIPAA", "HIPAA Security Rule (45 CFR 164.308/164.312)"),
    "gdpr": ("GDPR", "GDPR (Art. 25, 30, 32)"),
}


@dataclass
class Row:
    """Compliance of one group (a practice or a control) across the checks mapped to it."""

    name: str
    checks: list[str]
    failing: int = 0
    passing: int = 0
    exempt: int = 0
    errors: int = 0

    @property
    def status(self) -> str:
        if self.failing:
            return "FAIL"
        if self.errors:
            return "INCOMPLETE"
        if self.passing or self.exempt:
            return "PASS"
        return "NO RESOURCES"


@dataclass
class Report:
    title: str
    account: str
    region: str
    generated_at: str
    framework: str | None
    practices: list[Row] = field(default_factory=list)
    controls: list[Row] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def _tally(row: Row, findings: Iterable[Finding]) -> Row:
    for f in findings:
        if f.status is Status.FAIL:
            row.failing += 1
        elif f.status is Status.PASS:
            row.passing += 1
        elif f.status is Status.EXEMPT:
            row.exempt += 1
        elif f.status is Status.ERROR:
            row.errors += 1
    return row


def build(findings: list[Finding], account: str, region: str, framework: str | None = None) -> Report:
    checks = all_checks()
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check_id, []).append(f)
    title = "AI Warden compliance report"
    key = None
    if framework:
        key, label = FRAMEWORKS[framework]
        title += f": {label}"
    report = Report(
        title=title,
        account=account,
        region=region,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        framework=framework,
    )
    for practice in Practice:
        mapped = [c for c in checks if c.practice is practice]
        if mapped:
            row = Row(practice.value, [c.id for c in mapped])
            report.practices.append(_tally(row, (f for c in mapped for f in by_check.get(c.id, []))))
    if key:
        controls: dict[str, list[Check]] = {}
        for check in checks:
            for control in check.controls.get(key, []):
                controls.setdefault(control, []).append(check)
        for control in sorted(controls, key=_control_sort_key):
            row = Row(control, [c.id for c in controls[control]])
            report.controls.append(
                _tally(row, (f for c in controls[control] for f in by_check.get(c.id, [])))
            )
    report.failures = sorted(
        (f for f in findings if f.status in (Status.FAIL, Status.ERROR)),
        key=lambda f: (f.severity.rank, f.status is Status.ERROR, f.check_id, f.ref.resource_id),
    )
    for f in findings:
        if f.status is not Status.NOT_APPLICABLE:
            report.totals[f.status.value] = report.totals.get(f.status.value, 0) + 1
    return report


def _control_sort_key(control: str) -> tuple[str, ...]:
    return tuple(part.zfill(6) if part.isdigit() else part for part in control.replace("(", ".").split("."))


def render_markdown(report: Report) -> str:
    lines = [
        f"# {report.title}",
        "",
        f"Account {report.account}, {report.region}, generated {report.generated_at}. "
        + ", ".join(f"{n} {s}" for s, n in sorted(report.totals.items())),
        "",
        "## By practice",
        "",
        "| practice | status | failing | passing | exempt | checks |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {r.status} | {r.failing} | {r.passing} | {r.exempt} | {len(r.checks)} |"
        for r in report.practices
    ]
    if report.controls:
        lines += ["", "## By control", "", "| control | status | failing | checks |", "|---|---|---|---|"]
        lines += [f"| {r.name} | {r.status} | {r.failing} | {', '.join(r.checks)} |" for r in report.controls]
    lines += ["", f"## Failing resources ({len(report.failures)})", ""]
    for f in report.failures:
        lines += [
            f"### [{f.severity.value}] {f.check_id}: {f.ref.resource_id}",
            "",
            f"- **Resource:** `{f.ref.type.cfn_type}` `{f.ref.arn or f.ref.resource_id}` ({f.ref.region})",
            f"- **Status:** {f.status.value}. {f.reason}",
            f"- **Fix:** {f.remediation_advice}",
            "",
        ]
    return "\n".join(lines) + "\n"


_SEVERITY_COLOURS = {
    Severity.CRITICAL: "#7f1d1d",
    Severity.HIGH: "#b91c1c",
    Severity.MEDIUM: "#c2410c",
    Severity.LOW: "#a16207",
    Severity.INFORMATIONAL: "#475569",
}
_STATUS_COLOURS = {"FAIL": "#b91c1c", "PASS": "#15803d", "INCOMPLETE": "#c2410c", "NO RESOURCES": "#64748b"}


def render_html(report: Report) -> str:
    e = html.escape

    def status(value: str) -> str:
        return (
            f'<span class="pill" style="background:{_STATUS_COLOURS.get(value, "#64748b")}">{e(value)}</span>'
        )

    practice_rows = "".join(
        f"<tr><td>{e(r.name)}</td><td>{status(r.status)}</td><td>{r.failing}</td><td>{r.passing}</td>"
        f"<td>{r.exempt}</td><td>{len(r.checks)}</td></tr>"
        for r in report.practices
    )
    control_rows = "".join(
        f"<tr><td>{e(r.name)}</td><td>{status(r.status)}</td><td>{r.failing}</td>"
        f"<td>{e(', '.join(r.checks))}</td></tr>"
        for r in report.controls
    )
    failures = "".join(
        f'<div class="finding"><h3><span class="pill" style="background:{_SEVERITY_COLOURS[f.severity]}">'
        f"{e(f.severity.value)}</span> {e(f.check_id)}: {e(f.ref.resource_id)}</h3>"
        f"<p><code>{e(f.ref.type.cfn_type)}</code> <code>{e(f.ref.arn or f.ref.resource_id)}</code> "
        f"({e(f.ref.region)})</p><p><b>{e(f.status.value)}.</b> {e(f.reason)}</p>"
        f"<p><b>Fix:</b> {e(f.remediation_advice)}</p></div>"
        for f in report.failures
    )
    totals = ", ".join(f"{n} {s}" for s, n in sorted(report.totals.items()))
    controls = (
        f"<h2>By control</h2><table><tr><th>control</th><th>status</th><th>failing</th><th>checks</th></tr>"
        f"{control_rows}</table>"
        if report.controls
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(report.title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#0f172a;padding:0 1rem}}
table{{border-collapse:collapse;width:100%;margin:1rem 0}}
th,td{{border-bottom:1px solid #e2e8f0;padding:.4rem;text-align:left;vertical-align:top}}
.pill{{color:#fff;border-radius:.6rem;padding:.1rem .5rem;font-size:.8rem;font-weight:600}}
.finding{{border-left:4px solid #e2e8f0;padding:.2rem 1rem;margin:1rem 0}}
code{{background:#f1f5f9;padding:0 .2rem}}
</style></head><body>
<h1>{e(report.title)}</h1>
<p>Account {e(report.account)}, {e(report.region)}, generated {e(report.generated_at)}. {e(totals)}</p>
<h2>By practice</h2>
<table><tr><th>practice</th><th>status</th><th>failing</th><th>passing</th><th>exempt</th><th>checks</th></tr>
{practice_rows}</table>
{controls}
<h2>Failing resources ({len(report.failures)})</h2>
{failures or "<p>None.</p>"}
</body></html>
"""
