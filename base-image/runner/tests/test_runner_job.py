"""End to end: the real runner, a real entrypoint, and a fake API over HTTP."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from runner_testkit import (
    DATASET,
    EVENTS,
    FILES,
    JOB,
    RESULT,
    SLEEPER,
    TOKEN,
    TRUTH,
    FakeApi,
    is_running,
    make_spec,
    pids_from_log,
    runner_env,
    write_algorithm,
)

DATASET_CSV = b"a,b\n1,2\n3,4\n"
TRUTH_JSON = b'{"edges": [["a", "b"]]}'

SUCCESSFUL = """
    import json, os, pathlib, sys
    params = json.loads(pathlib.Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    out = pathlib.Path(os.environ["PETRI_OUTPUT_DIR"])
    print("hello from", params["name"])
    print("::progress 0.25")
    print("::metric loss=0.5 step=1")
    print("::progress 0.5")
    print("::metric loss=0.25 acc=0.75 step=2")
    print("::metric loss=oops")
    print("::progress 7")
    sys.stderr.write("a warning on stderr\\n")
    echo = {
        "params": params,
        "dataset": pathlib.Path(os.environ["PETRI_DATASET_FILE"]).read_text(),
        "truth": pathlib.Path(os.environ["PETRI_TRUTH_FILE"]).read_text(),
        "cwd": os.getcwd(),
        "helper": pathlib.Path("helper.txt").read_text(),
        "unbuffered": os.environ.get("PYTHONUNBUFFERED"),
    }
    (out / "echo.json").write_text(json.dumps(echo))
    (out / "metrics.json").write_text(json.dumps({"acc": 0.875, "f1": 0.5}))
    (out / "sub" / "dir").mkdir(parents=True)
    # Past the size sent inside the result: this one goes by PUT, its name quoted in the URL.
    (out / "sub" / "dir" / "a b%.bin").write_bytes(bytes(range(256)) * 1024)
    os.symlink(out / "echo.json", out / "link.json")
"""


def run_to_end(launch, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    proc = launch(env)
    _, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stderr


def test_successful_job_delivers_inputs_reports_everything_and_posts_its_result(
    tmp_path: Path, algorithms_dir: Path, launch
) -> None:
    folder = write_algorithm(algorithms_dir, "pc-test", SUCCESSFUL)
    (folder / "helper.txt").write_text("copied along")
    spec = make_spec(
        "pc-test",
        parameters={"name": "pc-test", "alpha": 0.05},
        dataset_url=DATASET,
    )
    base = tmp_path / "base"
    with FakeApi(spec, dataset=DATASET_CSV, truth=TRUTH_JSON) as api:
        spec["truth_url"] = api.url + TRUTH  # absolute URLs are accepted too
        env = runner_env(api.url, algorithms_dir, PETRI_WORK_DIR=str(base))
        code, stderr = run_to_end(launch, env)

    assert (code, stderr) == (0, "")
    assert api.requests[0].method == "GET" and api.requests[0].path == JOB
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    assert all(r.status < 300 for r in api.requests)

    events = api.events()
    assert all(datetime.fromisoformat(e["time"]).utcoffset().total_seconds() == 0 for e in events)
    kinds = [e["type"] for e in events]
    assert kinds.count("started") == 1
    lines = api.log_lines()
    assert "petri-runner: downloading dataset" in lines
    assert lines.index("hello from pc-test") > lines.index("petri-runner: downloading dataset")
    first_algorithm_log = next(
        i for i, e in enumerate(events) if e["type"] == "log" and "hello from pc-test" in e["lines"]
    )
    assert kinds.index("started") < first_algorithm_log
    assert "::metric loss=oops" in lines
    assert "a warning on stderr" in lines
    assert not any(line.startswith("::progress") for line in lines)

    progress = [e["value"] for e in api.events("progress")]
    assert progress and all(0 <= v <= 1 for v in progress) and progress[-1] == 1.0
    metrics = [(e["name"], e["value"], e["step"]) for e in api.events("metric")]
    assert metrics == [("loss", 0.5, 1), ("loss", 0.25, 2), ("acc", 0.75, 2)]

    uploads = api.uploads()
    assert set(uploads) == {"echo.json", "metrics.json", "sub/dir/a b%.bin"}
    assert uploads["sub/dir/a b%.bin"] == bytes(range(256)) * 1024
    puts = api.accepted("PUT", FILES)
    assert FILES + "sub/dir/a%20b%25.bin" in [r.path for r in puts]
    assert all(r.headers["Content-Type"] == "application/octet-stream" for r in puts)
    echo = json.loads(uploads["echo.json"])
    assert echo == {
        "params": {"name": "pc-test", "alpha": 0.05},
        "dataset": DATASET_CSV.decode(),
        "truth": TRUTH_JSON.decode(),
        "cwd": str(base / "work"),
        "helper": "copied along",
        "unbuffered": "1",
    }

    assert api.results() == [
        {
            "status": "succeeded",
            "exit_code": 0,
            "metrics": {"loss": 0.25, "acc": 0.875, "f1": 0.5},
            "error": None,
            "failure_reason": None,
        }
    ]
    assert api.requests[-1].path == RESULT
    assert (base / "params.json").exists(), "a given PETRI_WORK_DIR is left in place"


def test_failing_entrypoint_is_reported_with_the_tail_of_its_log(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(
        algorithms_dir,
        "fails",
        """
        import os, sys
        print("inputs", "PETRI_DATASET_FILE" in os.environ, "PETRI_TRUTH_FILE" in os.environ)
        for i in range(30):
            print(f"line {i}")
        sys.exit(3)
        """,
    )
    with FakeApi(make_spec("fails")) as api:
        env = runner_env(api.url, algorithms_dir, PETRI_DATASET_FILE="/stale/from/runner/env")
        code, _ = run_to_end(launch, env)

    assert code == 0
    assert "inputs False False" in api.log_lines()
    [result] = api.results()
    assert result["status"] == "failed"
    assert result["exit_code"] == 3
    assert result["failure_reason"] == "algorithm_error"
    first, *tail = result["error"].splitlines()
    assert first.startswith("exited with status 3")
    assert tail == [f"line {i}" for i in range(10, 30)]


@pytest.mark.parametrize(
    "content",
    ['["not", "an object"]', '{"acc": "high"}', '{"acc": true}', '{"acc": NaN}', "{broken"],
)
def test_invalid_metrics_json_fails_an_attempt_that_exited_cleanly(
    algorithms_dir: Path, launch, content: str
) -> None:
    write_algorithm(
        algorithms_dir,
        "bad-metrics",
        f"""
        import os, pathlib
        print("::metric loss=0.5")
        pathlib.Path(os.environ["PETRI_OUTPUT_DIR"], "metrics.json").write_text({content!r})
        """,
    )
    with FakeApi(make_spec("bad-metrics")) as api:
        code, _ = run_to_end(launch, runner_env(api.url, algorithms_dir))

    assert code == 0
    [result] = api.results()
    assert result["status"] == "failed"
    assert result["exit_code"] == 0
    assert result["failure_reason"] == "algorithm_error"
    assert "metrics.json" in result["error"]
    assert result["metrics"] == {"loss": 0.5}
    assert "metrics.json" in api.uploads()


def test_entrypoint_past_its_timeout_is_killed_with_its_whole_process_group(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(algorithms_dir, "sleeper", SLEEPER)
    with FakeApi(make_spec("sleeper", timeout=1)) as api:
        code, _ = run_to_end(launch, runner_env(api.url, algorithms_dir))

    assert code == 0
    [result] = api.results()
    assert result["status"] == "failed"
    assert result["failure_reason"] == "deadline_exceeded"
    assert result["exit_code"] is None
    assert "time limit of 1 s" in result["error"]
    assert not any(is_running(pid) for pid in pids_from_log(api))


def test_a_runner_handed_its_spec_does_not_fetch_it(algorithms_dir: Path, launch) -> None:
    write_algorithm(algorithms_dir, "handed", "print('ran with the handed spec')")
    with FakeApi(make_spec("not-this-one")) as api:
        handed = json.dumps(make_spec("handed"))
        code, _ = run_to_end(launch, runner_env(api.url, algorithms_dir, PETRI_JOB_SPEC=handed))

    assert code == 0
    assert not [r for r in api.requests if r.path == JOB]
    [result] = api.results()
    assert result["status"] == "succeeded"
    assert "ran with the handed spec" in api.log_lines()


def test_missing_algorithm_folder_fails_the_attempt(algorithms_dir: Path, launch) -> None:
    with FakeApi(make_spec("not-installed")) as api:
        code, _ = run_to_end(launch, runner_env(api.url, algorithms_dir))

    assert code == 0
    [result] = api.results()
    assert result["status"] == "failed"
    assert "'not-installed' is not installed" in result["error"]


def test_entrypoint_that_cannot_start_fails_the_attempt(algorithms_dir: Path, launch) -> None:
    write_algorithm(algorithms_dir, "broken", "print('never runs')")
    spec = make_spec("broken")
    spec["algorithm"]["entrypoint"] = ["./no-such-program", "x"]
    with FakeApi(spec) as api:
        code, _ = run_to_end(launch, runner_env(api.url, algorithms_dir))

    assert code == 0
    [result] = api.results()
    assert result["status"] == "failed"
    assert result["exit_code"] is None
    assert result["error"].startswith("cannot start './no-such-program'")
    assert len(api.events("started")) == 1


def test_log_lines_are_batched_in_order_and_long_lines_truncated(
    algorithms_dir: Path, launch
) -> None:
    write_algorithm(
        algorithms_dir,
        "chatty",
        """
        for i in range(1200):
            print(f"line {i}")
        print("x" * 20000)
        """,
    )
    with FakeApi(make_spec("chatty")) as api:
        code, _ = run_to_end(launch, runner_env(api.url, algorithms_dir))

    assert code == 0
    algorithm_lines = [line for line in api.log_lines() if not line.startswith("petri-runner:")]
    assert algorithm_lines == [f"line {i}" for i in range(1200)] + ["x" * 10_000]
    posts = api.event_posts()
    assert len(posts) <= 10, "lines travel in batches, not one request each"
    for batch in posts:
        assert sum(len(e["lines"]) for e in batch if e["type"] == "log") <= 500


@pytest.mark.parametrize("keep", [False, True])
def test_temporary_work_dir_is_removed_unless_kept(
    algorithms_dir: Path, launch, keep: bool
) -> None:
    write_algorithm(algorithms_dir, "where", "import os; print('cwd', os.getcwd())")
    with FakeApi(make_spec("where")) as api:
        env = runner_env(api.url, algorithms_dir, PETRI_KEEP_WORKDIR="1" if keep else None)
        code, _ = run_to_end(launch, env)

    assert code == 0
    [cwd] = [line.split(" ", 1)[1] for line in api.log_lines() if line.startswith("cwd ")]
    base = Path(cwd).parent
    assert base.name.startswith("petri-")
    assert base.exists() == keep
    if keep:
        shutil.rmtree(base)


def test_heartbeats_are_sent_while_the_entrypoint_is_quiet(
    tmp_path: Path, algorithms_dir: Path, launch
) -> None:
    stop_file = tmp_path / "stop"
    write_algorithm(
        algorithms_dir,
        "quiet",
        """
        import json, os, pathlib, time
        params = json.loads(pathlib.Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
        while not os.path.exists(params["stop_file"]):
            time.sleep(0.02)
        """,
    )
    spec = make_spec("quiet", heartbeat_interval=0.2, parameters={"stop_file": str(stop_file)})
    with FakeApi(spec) as api:
        proc = launch(runner_env(api.url, algorithms_dir))
        api.wait_for(lambda: len(api.events("heartbeat")) >= 3)
        stop_file.touch()
        proc.communicate(timeout=60)

    assert proc.returncode == 0
    assert [r["status"] for r in api.results()] == ["succeeded"]
    heartbeat_posts = [b for b in api.event_posts() if b[0]["type"] == "heartbeat"]
    assert all(len(batch) == 1 for batch in heartbeat_posts), "a heartbeat goes out on its own"
    assert api.accepted("POST", EVENTS)
