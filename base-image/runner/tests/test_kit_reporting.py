"""petri_kit's progress, metric, log and fail lines, as the runner reads them."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from pathlib import Path

import petri_kit as kit
import pytest
from petri_runner.directives import LogLine, Metrics, Progress, parse_line
from runner_testkit import FakeApi, make_spec, runner_env, write_algorithm


def said(action) -> list[str]:
    """The stdout lines ``action()`` printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        action()
    return out.getvalue().splitlines()


def test_progress_is_a_directive_the_runner_reads_with_its_value() -> None:
    lines = said(lambda: (kit.progress(0), kit.progress(0.125), kit.progress(1)))
    assert [parse_line(line) for line in lines] == [Progress(0.0), Progress(0.125), Progress(1.0)]


def test_metric_lines_carry_every_value_exactly_and_the_step() -> None:
    (line,) = said(lambda: kit.metric(loss=2 / 3, acc=1, step=12))
    assert parse_line(line) == Metrics({"loss": 2 / 3, "acc": 1.0}, 12)
    (line,) = said(lambda: kit.metric(loss=0.5))
    assert parse_line(line) == Metrics({"loss": 0.5}, None)


@pytest.mark.parametrize(
    "call",
    [
        lambda: kit.metric(),
        lambda: kit.metric(loss=float("nan")),
        lambda: kit.metric(loss=float("inf")),
        lambda: kit.metric(loss=True),
        lambda: kit.metric(loss="0.3"),
        lambda: kit.metric(step=1.5, loss=0.3),
        lambda: kit.metric(**{"a b": 1.0}),
        lambda: kit.progress(float("nan")),
    ],
    ids=["none", "nan", "inf", "bool", "text", "fractional-step", "space-in-name", "nan-progress"],
)
def test_what_the_runner_could_not_read_is_refused_before_it_is_printed(call) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(ValueError):
        call()
    assert out.getvalue() == ""


def test_a_log_line_is_kept_as_it_is() -> None:
    assert [parse_line(line) for line in said(lambda: kit.log("loaded 3 rows"))] == [
        LogLine("loaded 3 rows")
    ]


def test_fail_says_why_on_stderr_and_exits_with_the_algorithm_error_reason() -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(kit.AlgorithmFailed) as caught:
        kit.fail("the dataset is empty")
    assert err.getvalue() == "error: the dataset is empty\n"
    assert (caught.value.code, caught.value.message) == (1, "the dataset is empty")
    assert caught.value.reason == kit.FAILURE_REASON == "algorithm_error"
    # A SystemExit: no `except Exception` in an algorithm swallows it.
    assert not isinstance(caught.value, Exception)


def test_an_uncaught_fail_ends_the_process_with_its_exit_code(tmp_path: Path) -> None:
    script = tmp_path / "main.py"
    script.write_text("import petri_kit as kit\nkit.fail('no luck', exit_code=7)\n")
    runner_dir = Path(kit.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(script)],
        env={"PYTHONPATH": str(runner_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (7, "", "error: no luck\n")


def test_library_output_turns_prints_and_warnings_into_labelled_log_lines() -> None:
    def noisy() -> None:
        with kit.library_output("causal-learn"):
            print("::progress 0.9")  # a library's print must not pass for a directive
            kit.progress(0.5)
            warnings.warn("ill-conditioned", stacklevel=1)
            warnings.warn("ill-conditioned", stacklevel=1)
            kit.metric(loss=1.0, step=1)

    assert said(noisy) == [
        "::progress 0.5",
        "::metric loss=1.0 step=1",
        "causal-learn: ::progress 0.9",
        "warning: ill-conditioned",
    ]


def test_a_failing_kit_algorithm_reaches_the_runner_as_an_algorithm_error(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(
        algorithms_dir,
        "kit-fails",
        """
        import petri_kit as kit
        job = kit.Job.from_env()
        kit.progress(0.5)
        names, rows = kit.read_csv(job.require_dataset("kit-fails"))
        """,
    )
    with FakeApi(make_spec("kit-fails")) as api:
        proc = launch(runner_env(api.url, algorithms_dir))
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    (result,) = api.results()
    assert (result["status"], result["exit_code"]) == ("failed", 1)
    assert result["failure_reason"] == kit.FAILURE_REASON
    assert "error: kit-fails needs a dataset (PETRI_DATASET_FILE is not set)" in result["error"]
    assert [e["value"] for e in api.events("progress")] == [0.5]
