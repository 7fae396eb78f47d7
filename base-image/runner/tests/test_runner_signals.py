"""SIGTERM/SIGINT to the runner: the entrypoint dies with it and no result is posted."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from runner_testkit import (
    JOB,
    SLEEPER,
    FakeApi,
    has_log_line,
    is_running,
    make_spec,
    pids_from_log,
    runner_env,
    write_algorithm,
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_the_runner_kills_the_entrypoint_and_posts_no_result(
    algorithms_dir: Path, launch, signum: signal.Signals
) -> None:
    write_algorithm(algorithms_dir, "sleeper", SLEEPER)
    with FakeApi(make_spec("sleeper")) as api:
        proc = launch(runner_env(api.url, algorithms_dir))
        api.wait_for(has_log_line(api, "pids "))
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 143
    assert stderr == f"petri-runner: stopped by signal {signum.name}; no result posted\n"
    assert api.results() == []
    assert not any(is_running(pid) for pid in pids_from_log(api))


def test_sigterm_while_retrying_the_spec_exits_at_once(algorithms_dir: Path, launch) -> None:
    with FakeApi(make_spec("sleeper")) as api:
        api.fail_always("GET", JOB, 503)
        proc = launch(runner_env(api.url, algorithms_dir, PETRI_RUNNER_RETRY_SECONDS="600"))
        api.wait_for(lambda: len(api.requests) >= 2)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)

    assert proc.returncode == 143
    assert "Traceback" not in stderr
