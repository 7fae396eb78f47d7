"""Plain-text tables, progress bars and result rows for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STATUS_ORDER = [
    "waiting",
    "dispatching",
    "pending",
    "running",
    "cancelling",
    "succeeded",
    "failed",
    "cancelled",
]
BAR_WIDTH = 30


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value + 0.0:.6g}"  # + 0.0 turns -0.0 into 0
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers keep their own text."""
    text = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, text)])


def progress_bars(counts: dict[str, int]) -> list[str]:
    """One bar per status that has jobs, each the share of all jobs in that status."""
    total = sum(counts.values()) or 1
    width = max(len(s) for s in STATUS_ORDER)
    lines = []
    for status in STATUS_ORDER:
        n = counts.get(status, 0)
        if not n:
            continue
        filled = round(BAR_WIDTH * n / total)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        lines.append(f"{status.ljust(width)} [{bar}] {n}/{total}")
    return lines


def result_columns(jobs: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Parameter and metric names over all jobs, in first-seen and sorted order."""
    params: dict[str, None] = {}
    metrics: set[str] = set()
    for job in jobs:
        params.update(dict.fromkeys(job.get("parameters") or {}))
        metrics.update((job.get("metrics") or {}).keys())
    return list(params), sorted(metrics)


def result_rows(jobs: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    params, metrics = result_columns(jobs)
    # A metric named like a parameter is told apart rather than overwriting it.
    metric_headers = [f"metric.{m}" if m in params else m for m in metrics]
    headers = ["job", "status", *params, *metric_headers, "runtime"]
    rows = []
    for job in jobs:
        values = job.get("parameters") or {}
        measured = job.get("metrics") or {}
        rows.append(
            [
                job["id"],
                job["status"],
                *(values.get(p) for p in params),
                *(measured.get(m) for m in metrics),
                job.get("runtime"),
            ]
        )
    return headers, rows
