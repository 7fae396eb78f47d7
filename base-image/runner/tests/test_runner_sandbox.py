"""The sandbox around the entrypoint: its environment, its mounts, its limits, its failures."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from petri_runner import sandbox, selfcheck
from petri_runner.config import sandbox_from_env
from petri_runner.errors import ConfigError
from runner_testkit import FakeApi, make_spec, runner_env, wait_until, write_algorithm

SECRETS = {
    "DATABASE_URL": "postgres://petri:hunter2@db/petri",
    "REDIS_URL": "redis://:pw@redis/0",
    "PETRI_JOB_TOKEN": "12.1.token",
    "PETRI_SECRET_KEY": "django-key",
    "PETRI_EMAIL_PASSWORD": "smtp",
    "PETRI_GOOGLE_CLIENT_SECRET": "oauth",
    "AWS_SECRET_ACCESS_KEY": "aws",
}
GIVEN = {"PETRI_PARAMS_FILE": "/w/params.json", "PETRI_OUTPUT_DIR": "/w/output"}
LIMITS = sandbox.Limits(memory_bytes=2**30, cpu_seconds=60, processes=64, file_bytes=2**20)
BWRAP = sandbox.Sandbox(kind="bwrap", limits=LIMITS)


def layout(base: Path) -> sandbox.Layout:
    return sandbox.Layout(base / "work", base / "output", base / "input", base / "params.json")


def test_the_sandboxed_environment_is_an_allow_list_without_any_secret(tmp_path: Path) -> None:
    runner = {
        **SECRETS,
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "OMP_NUM_THREADS": "2",
    }

    env = sandbox.algorithm_env(runner, GIVEN, BWRAP, tmp_path)

    assert not set(SECRETS) & set(env)
    assert {k: env[k] for k in ("PATH", "LANG", "LC_ALL", "OMP_NUM_THREADS")} == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "OMP_NUM_THREADS": "2",
    }
    assert env["HOME"] == str(tmp_path)
    assert env["PYTHONPATH"] == str(sandbox.runner_dir())
    assert (env["PETRI_PARAMS_FILE"], env["PETRI_OUTPUT_DIR"]) == ("/w/params.json", "/w/output")


def test_without_the_sandbox_the_image_env_stays_but_no_petri_variable(tmp_path: Path) -> None:
    runner = {"PETRI_JOB_TOKEN": "t", "PETRI_API_URL": "http://x", "CUDA_HOME": "/opt/cuda"}

    env = sandbox.algorithm_env(runner, GIVEN, sandbox.Sandbox(), tmp_path)

    assert env["CUDA_HOME"] == "/opt/cuda"
    assert "PETRI_JOB_TOKEN" not in env and "PETRI_API_URL" not in env
    assert env["PETRI_OUTPUT_DIR"] == "/w/output"


def test_limits_become_prlimit_options_and_no_limits_no_prlimit() -> None:
    argv = LIMITS.prlimit_argv()

    assert argv[0].endswith("prlimit") and argv[-1] == "--"
    assert set(argv[1:-1]) == {
        "--core=0",
        f"--as={2**30}",
        f"--cpu=60:{60 + sandbox.CPU_KILL_AFTER_SECONDS}",
        "--nproc=64",
        f"--fsize={2**20}",
    }
    assert sandbox.Limits().prlimit_argv() == []
    unconfined = sandbox.Sandbox(limits=LIMITS)
    assert sandbox.command(["python", "main.py"], layout(Path("/w")), unconfined) == [
        *argv,
        "python",
        "main.py",
    ]


def test_bwrap_isolates_everything_and_makes_only_work_and_output_writable() -> None:
    paths = layout(Path("/tmp/petri-x"))

    argv = sandbox.command(["python", "main.py"], paths, BWRAP)

    assert argv[0] == BWRAP.bwrap and argv[-2:] == ["python", "main.py"]
    options = argv[1 : argv.index("--")]
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts"):
        assert flag in options
    assert {"--die-with-parent", "--new-session"} <= set(options)
    assert options[options.index("--proc") + 1] == "/proc"
    writable = [options[i + 2] for i, o in enumerate(options) if o in ("--bind", "--bind-try")]
    assert writable == [str(paths.work), str(paths.output)]
    read_only = {options[i + 2] for i, o in enumerate(options) if o == "--ro-bind"}
    assert {str(paths.inputs), str(paths.params_file), str(sandbox.runner_dir())} <= read_only
    assert "/etc" not in read_only and "/" not in read_only and "/home" not in read_only
    assert options[options.index("--chdir") + 1] == str(paths.work)
    assert options[options.index("--remount-ro") + 1] == "/"
    # The RAM-backed scratch dirs are capped by the memory limit (RLIMIT_AS does not see them).
    for scratch in ("/tmp", "/dev/shm"):
        at = options.index(scratch)
        assert options[at - 3 : at] == ["--size", str(2**30), "--tmpfs"]
    # Inside: limits first, then no new privileges (and, as root, a plain uid), then the argv.
    inner = argv[argv.index("--") + 1 :]
    assert inner[0].endswith("prlimit")
    assert any(part.endswith("setpriv") for part in inner)
    assert "--no-new-privs" in inner


@pytest.mark.skipif(os.geteuid() != 0, reason="what root does differently")
def test_as_root_the_entrypoint_drops_to_a_plain_uid_without_capabilities() -> None:
    argv = sandbox.command(["x"], layout(Path("/w")), sandbox.Sandbox(kind="bwrap", uid=1234))

    assert {"--reuid=1234", "--regid=1234", "--clear-groups", "--bounding-set=-all"} <= set(argv)
    assert sandbox.Sandbox(kind="bwrap").drops_to == sandbox.NOBODY


@pytest.mark.parametrize(
    ("returncode", "tail", "expected", "reason"),
    [
        (-signal.SIGXCPU, [], "CPU time limit of 60 s", None),
        (1, ["OSError: [Errno 27] File too large"], "size limit of 1 MB", None),
        (1, ["MemoryError"], "memory limit of 1024 MB", "oom_killed"),
        (1, ["OSError: [Errno 28] No space left on device"], "each holds 1024 MB", None),
        (1, ["BlockingIOError: [Errno 11] Resource temporarily unavailable"], "64 processes", None),
    ],
)
def test_a_failure_past_a_limit_names_the_limit(returncode, tail, expected, reason) -> None:
    explanation = sandbox.explain(returncode, tail, LIMITS)

    assert explanation is not None and expected in explanation.message
    assert explanation.reason == reason


def test_an_ordinary_failure_blames_no_limit() -> None:
    assert sandbox.explain(3, ["ValueError: bad alpha"], LIMITS) is None
    assert sandbox.explain(1, ["MemoryError"], sandbox.Limits()) is None


def test_bwraps_128_plus_signal_is_read_back_as_the_signal() -> None:
    assert sandbox.normalize_returncode(128 + signal.SIGKILL, BWRAP) == -signal.SIGKILL
    assert sandbox.normalize_returncode(3, BWRAP) == 3
    assert sandbox.normalize_returncode(137, sandbox.Sandbox()) == 137


def test_the_sandbox_variables_are_checked() -> None:
    with pytest.raises(ConfigError, match="PETRI_SANDBOX must be one of"):
        sandbox_from_env({"PETRI_SANDBOX": "docker"})
    with pytest.raises(ConfigError, match="PETRI_SANDBOX_MEMORY_BYTES"):
        sandbox_from_env({"PETRI_SANDBOX": "bwrap", "PETRI_SANDBOX_MEMORY_BYTES": "lots"})
    read = sandbox_from_env({"PETRI_SANDBOX": "bwrap", "PETRI_SANDBOX_MAX_PROCESSES": "9"})
    assert (read.enabled, read.limits.processes, read.limits.memory_bytes) == (True, 9, None)
    assert sandbox_from_env({}).enabled is False


@pytest.mark.requires("bwrap")
def test_the_self_check_passes_with_bwrap_and_names_a_missing_one() -> None:
    assert selfcheck.self_check(BWRAP) is None
    problem = selfcheck.self_check(sandbox.Sandbox(kind="bwrap", bwrap="/nonexistent/bwrap"))
    assert problem is not None and "/nonexistent/bwrap" in problem


@pytest.mark.requires("bwrap")
def test_a_sandboxed_entrypoint_past_its_timeout_is_stopped_with_all_it_started(
    algorithms_dir: Path, launch
) -> None:
    marker = f"petri-marker-{uuid.uuid4().hex}"
    write_algorithm(
        algorithms_dir,
        "sleeper",
        f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "{marker}"])
        print("started", flush=True)
        time.sleep(120)
        """,
    )
    with FakeApi(make_spec("sleeper", timeout=2)) as api:
        proc = launch(runner_env(api.url, algorithms_dir, PETRI_SANDBOX="bwrap"))
        proc.communicate(timeout=60)

    [result] = api.results()
    assert result["failure_reason"] == "deadline_exceeded"
    assert "started" in api.log_lines()
    assert any(line.startswith("petri-runner: sandbox: bwrap") for line in api.log_lines())
    wait_until(lambda: not _host_processes_with(marker), timeout=10)


def _host_processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


NOBODY_PROBE = """
    import os, time
    try:
        open("/etc/petri-probe", "w")
    except OSError as exc:
        print("etc:", exc.strerror, flush=True)
    print("uid:", os.getuid(), "processes:", len([p for p in os.listdir("/proc") if p.isdigit()]))
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
"""


@pytest.mark.requires("bwrap")
@pytest.mark.skipif(os.geteuid() != 0, reason="run by a normal user, every test here is this one")
def test_a_runner_run_by_a_normal_user_confines_in_a_user_namespace() -> None:
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that a normal user may run")
    # Root's test directories are private: this runner (nobody) needs world-readable ones.
    algorithms = Path(tempfile.mkdtemp(prefix="petri-nobody-"))
    try:
        algorithms.chmod(0o755)
        write_algorithm(algorithms, "bomb", NOBODY_PROBE).chmod(0o755)
        spec = make_spec("bomb", timeout=30)
        spec["algorithm"]["entrypoint"] = [python, "main.py"]
        with FakeApi(spec) as api:
            env = runner_env(
                api.url,
                algorithms,
                PETRI_SANDBOX="bwrap",
                PETRI_SANDBOX_MAX_PROCESSES="20",
                PATH="/usr/bin:/bin",
                HOME="/",
            )
            runner = subprocess.run(
                [python, "-m", "petri_runner"],
                env=env,
                user=sandbox.NOBODY,
                group=sandbox.NOBODY,
                extra_groups=[],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert runner.returncode == 0, runner.stderr
    finally:
        shutil.rmtree(algorithms, ignore_errors=True)

    [result] = api.results()
    assert "reached its limit of 20 processes" in result["error"]
    lines = api.log_lines()
    assert "etc: Read-only file system" in lines
    assert f"uid: {sandbox.NOBODY} processes: 2" in lines
