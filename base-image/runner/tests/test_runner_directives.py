"""The ``::progress`` and ``::metric`` directives, and lines that only look like them."""

from __future__ import annotations

import pytest
from petri_runner.directives import LogLine, Metrics, Progress, parse_line


@pytest.mark.parametrize(
    ("line", "value"),
    [("::progress 0.4", 0.4), ("::progress 1", 1.0), ("  ::progress 0  ", 0.0)],
)
def test_progress_directive_carries_its_value(line: str, value: float) -> None:
    assert parse_line(line) == Progress(value)


@pytest.mark.parametrize(("line", "value"), [("::progress 1.5", 1.0), ("::progress -2", 0.0)])
def test_progress_outside_zero_to_one_is_clamped(line: str, value: float) -> None:
    assert parse_line(line) == Progress(value)


def test_metric_directive_yields_every_name_with_its_step() -> None:
    assert parse_line("::metric loss=0.31 acc=0.9 step=12") == Metrics(
        {"loss": 0.31, "acc": 0.9}, 12
    )


def test_metric_directive_step_is_optional_and_may_come_first() -> None:
    assert parse_line("::metric loss=1e-3") == Metrics({"loss": 0.001}, None)
    assert parse_line("::metric step=3 loss=2") == Metrics({"loss": 2.0}, 3)


@pytest.mark.parametrize(
    "line",
    [
        "::progress",
        "::progress half",
        "::progress 0.1 0.2",
        "::progress nan",
        "::progressive 0.5",
        "::metric",
        "::metric loss",
        "::metric loss=",
        "::metric =0.3",
        "::metric loss=abc",
        "::metric loss=inf",
        "::metric loss=0.3 step=1.5",
        "::metric step=3",
        "::metrics loss=0.3",
        "progress 0.5",
        "",
    ],
)
def test_malformed_or_lookalike_directives_are_ordinary_log_lines(line: str) -> None:
    assert parse_line(line) == LogLine(line)


def test_log_lines_keep_their_text_exactly() -> None:
    assert parse_line("  indented\ttext ") == LogLine("  indented\ttext ")
