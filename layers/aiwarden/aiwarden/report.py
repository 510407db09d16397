"""Plain-text tables for terminals (the CLI and the demo)."""

from __future__ import annotations

from collections.abc import Sequence

from aiwarden.model import Finding


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 90) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [min(max_width, max(len(row[i]) for row in cells)) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = []
        for value, width in zip(row, widths, strict=True):
            text = value if len(value) <= width else value[: width - 1] + "…"
            parts.append(text.ljust(width))
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells[1:])
    return "\n".join(out)


def findings_table(findings: Sequence[Finding]) -> str:
    if not findings:
        return "(no findings)"
    rows = [[f.status.value, f.severity.value, f.check_id, f.ref.resource_id, f.reason] for f in findings]
    return table(["STATUS", "SEVERITY", "CHECK", "RESOURCE", "REASON"], rows)
