"""How the runner reacts to the server's answers: retries, attempt over, fatal errors."""

from __future__ import annotations

from pathlib import Path

from runner_testkit import (
    EVENTS,
    FILES,
    JOB,
    RESULT,
    SLEEPER,
    FakeApi,
    has_log_line,
    is_running,
    make_spec,
    pids_from_log,
    runner_env,
    write_algorithm,
)


def test_runner_retries_transient_failures_until_the_server_recovers(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(
        algorithms_dir,
        "ok",
        """
        import os, pathlib
        print("working")
        pathlib.Path(os.environ["PETRI_OUTPUT_DIR"], "out.txt").write_text("done")
        """,
    )
    with FakeApi(make_spec("ok")) as api:
        api.fail("GET", JOB, 503, 503)
        api.fail("POST", EVENTS, 502)
        api.fail("PUT", FILES, 429)
        api.fail("POST", RESULT, 500)
        proc = launch(runner_env(api.url, algorithms_dir))
        _, stderr = proc.communicate(timeout=60)

    assert (proc.returncode, stderr) == (0, "")
    assert [r.status for r in api.requests if r.path == JOB] == [503, 503, 200]
    assert [r.status for r in api.requests if r.path == RESULT] == [500, 200]
    assert api.uploads() == {"out.txt": b"done"}
    assert [r["status"] for r in api.results()] == ["succeeded"]
    assert "working" in api.log_lines(), "the batch that got a 502 was sent again"


def test_runner_gives_up_with_exit_3_when_the_retry_budget_runs_out(
    algorithms_dir: Path, launch
) -> None:
    with FakeApi(make_spec("ok")) as api:
        api.fail_always("GET", JOB, 503)
        env = runner_env(api.url, algorithms_dir, PETRI_RUNNER_RETRY_SECONDS="1")
        proc = launch(env)
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 3
    assert len(stderr.strip().splitlines()) == 1
    assert "503" in stderr
    assert len(api.requests) >= 2


def test_runner_gives_up_with_exit_3_when_nothing_listens(algorithms_dir: Path, launch) -> None:
    with FakeApi(make_spec("ok")) as api:
        url = api.url  # the port is free again once the server is closed
    proc = launch(runner_env(url, algorithms_dir, PETRI_RUNNER_RETRY_SECONDS="0.5"))
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 3
    assert stderr.startswith("petri-runner: giving up: GET /api/runner/job/")


def test_conflict_on_events_stops_the_runner_with_exit_4_and_kills_the_entrypoint(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(algorithms_dir, "sleeper", SLEEPER)
    with FakeApi(make_spec("sleeper")) as api:
        proc = launch(runner_env(api.url, algorithms_dir))
        api.wait_for(has_log_line(api, "pids "))
        api.fail_always("POST", EVENTS, 409)
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 4
    assert len(stderr.strip().splitlines()) == 1
    assert "409" in stderr and "attempt is over" in stderr
    assert api.results() == []
    assert not any(is_running(pid) for pid in pids_from_log(api))


def test_unauthorized_spec_request_ends_the_attempt_with_exit_4(
    algorithms_dir: Path, launch
) -> None:
    with FakeApi(make_spec("ok")) as api:
        proc = launch(runner_env(api.url, algorithms_dir, PETRI_JOB_TOKEN="stale-token"))
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 4
    assert "401" in stderr and "Invalid token." in stderr
    assert [(r.method, r.path) for r in api.requests] == [("GET", JOB)]


def test_other_client_errors_are_fatal_with_exit_5_and_the_servers_message(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(algorithms_dir, "ok", "print('working')")
    with FakeApi(make_spec("ok")) as api:
        api.fail_always("POST", RESULT, 400)
        proc = launch(runner_env(api.url, algorithms_dir))
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 5
    assert stderr.strip() == (
        "petri-runner: fatal: POST /api/runner/result/ answered HTTP 400: "
        "injected 400 for POST /api/runner/result/"
    )


def test_a_spec_the_runner_cannot_use_is_fatal(algorithms_dir: Path, launch) -> None:
    spec = make_spec("ok")
    spec["algorithm"]["name"] = "../escape"
    with FakeApi(spec) as api:
        proc = launch(runner_env(api.url, algorithms_dir))
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 5
    assert "algorithm name '../escape'" in stderr
    assert len(api.requests) == 1
