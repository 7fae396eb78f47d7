"""The sleep-and-score test algorithm run end to end as a subprocess."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "linear-gaussian-6"


def test_score_is_the_negated_distance_to_the_optimum(run_algorithm):
    run = run_algorithm("sleep-and-score", {"x": 3.0, "y": 1.0, "duration": 0})
    assert run.returncode == 0, run.stderr
    assert run.metrics == {"score": -13.0, "steps": 5, "rows": 0}


def test_score_is_zero_at_the_optimum(run_algorithm):
    run = run_algorithm("sleep-and-score", {"x": 1, "y": -2, "duration": 0})
    assert run.metrics["score"] == 0


def test_defaults_score_minus_five(run_algorithm):
    run = run_algorithm("sleep-and-score")
    assert run.returncode == 0, run.stderr
    assert run.metrics["score"] == -5.0


def test_each_step_reports_progress_a_loss_and_a_log_line(run_algorithm):
    run = run_algorithm("sleep-and-score", {"steps": 4, "duration": 0.01})
    assert run.progress == [0.25, 0.5, 0.75, 1.0]
    assert [m["step"] for m in run.metric_lines] == [1, 2, 3, 4]
    losses = [m["loss"] for m in run.metric_lines]
    assert losses == sorted(losses, reverse=True)
    assert sum(1 for line in run.lines if line.startswith("step ")) == 4


def test_it_sleeps_for_the_duration(run_algorithm):
    started = time.monotonic()
    run = run_algorithm("sleep-and-score", {"steps": 3, "duration": 0.6})
    assert run.returncode == 0
    assert time.monotonic() - started >= 0.6


def test_it_counts_the_dataset_rows(run_algorithm):
    run = run_algorithm("sleep-and-score", {"duration": 0}, dataset=DEMO / "data.csv")
    assert run.metrics["rows"] == 1000


def test_it_writes_output_txt_with_the_mode(run_algorithm):
    run = run_algorithm("sleep-and-score", {"mode": "careful", "duration": 0})
    text = (run.output_dir / "output.txt").read_text()
    assert "mode=careful" in text
    assert "score=-5.0" in text


@pytest.mark.parametrize("code", [1, 7, 255])
def test_fail_exits_with_the_exit_code_and_writes_no_metrics(run_algorithm, code):
    run = run_algorithm("sleep-and-score", {"fail": True, "exit_code": code, "duration": 0})
    assert run.returncode == code
    assert "error" in run.stderr
    assert run.progress[-1] == 1.0
    assert not (run.output_dir / "metrics.json").exists()
