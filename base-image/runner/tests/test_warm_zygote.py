"""The warm zygote: jobs forked from it are fresh, confined to their own folder, and limited."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from petri_runner import warm
from runner_testkit import wait_until

pytestmark = pytest.mark.requires("bwrap")

RUNNER_DIR = Path(__file__).resolve().parent.parent
# As root the zygote drops to this uid; as a normal user it runs as that user.
ZYGOTE_UID = 1_765_535
CANARY = "zygote-canary-secret"


@dataclass
class Zygote:
    proc: subprocess.Popen
    spool: Path
    socket: str
    log: Path

    def job(self, script: str) -> str:
        """A job folder in the spool whose work/main.py is ``script``; returns its name."""
        name = f"petri-{uuid.uuid4().hex[:12]}"
        base = self.spool / name
        for sub in ("work", "output", "input"):
            (base / sub).mkdir(parents=True)
        (base / "work" / "main.py").write_text(textwrap.dedent(script))
        (base / "params.json").write_text("{}\n")
        base.chmod(0o755)
        if os.geteuid() == 0:
            for path in (base / "work", base / "work" / "main.py", base / "output"):
                os.chown(path, ZYGOTE_UID, ZYGOTE_UID)
        return name

    def run(self, name: str, limits: dict[str, int] | None = None) -> tuple[int | None, str]:
        proc = self.start(name, limits)
        output = proc.stdout.read().decode()
        return proc.wait(30), output

    def start(self, name: str, limits: dict[str, int] | None = None) -> warm.WarmProcess:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(RUNNER_DIR), "JOB_NAME": name}
        return warm.start(self.socket, name, ["main.py"], env, limits or {})

    def pid(self) -> int:
        """The zygote's own pid: the Python under bwrap (and its PID namespace's init)."""
        pids = [self.proc.pid]
        while pids:
            pid = pids.pop()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if cmdline[0].endswith((b"python", b"python3")) or b"python3." in cmdline[0]:
                return pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids.extend(int(child) for child in children)
        raise AssertionError("no zygote process")


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    base = Path(tempfile.mkdtemp(prefix="petri-wz-"))
    spool, sockets = base / "spool", base / "sockets"
    spool.mkdir()
    sockets.mkdir()
    for path in (base, spool, sockets):
        path.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(RUNNER_DIR),
        "PETRI_SANDBOX": "bwrap",
        "DATABASE_URL": CANARY,
        "PETRI_SECRET_KEY": CANARY,
    }
    if os.geteuid() == 0:
        os.chown(sockets, ZYGOTE_UID, ZYGOTE_UID)
        env["PETRI_SANDBOX_UID"] = str(ZYGOTE_UID)
    log = base / "zygote.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "petri_runner.zygote",
                "launch",
                str(spool),
                str(sockets),
                "test-algo",
                "json",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    socket = str(sockets / "test-algo.sock")
    try:
        wait_until(lambda: "ready" in log.read_text() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, log.read_text()
        yield Zygote(proc, spool, socket, log)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def test_a_forked_job_runs_its_script_in_its_own_folder_with_only_its_environment(zygote):
    name = zygote.job(
        """
        import os, sys
        print("cwd", os.getcwd())
        print("env", sorted(os.environ))
        print("json preloaded", "json" in sys.modules)
        open("/job/output/out.txt", "w").write("done")
        sys.exit(3)
        """
    )
    code, output = zygote.run(name)

    assert code == 3
    assert "cwd /job/work" in output
    assert "env ['JOB_NAME', 'PATH', 'PYTHONPATH']" in output
    assert "json preloaded True" in output
    assert (zygote.spool / name / "output" / "out.txt").read_text() == "done"


def test_module_state_a_job_changes_is_not_seen_by_the_next(zygote):
    first = zygote.job(
        """
        import json, petri_kit
        petri_kit.CHANGED_BY_A_JOB = True
        json.dumps = None
        print("changed")
        """
    )
    second = zygote.job(
        """
        import json, petri_kit
        print("changed" if hasattr(petri_kit, "CHANGED_BY_A_JOB") else "fresh", json.dumps([1]))
        """
    )
    assert zygote.run(first) == (0, "changed\n")
    assert zygote.run(second) == (0, "fresh [1]\n")


def test_memory_a_job_leaks_is_not_kept_by_the_zygote_or_the_next_job(zygote):
    def rss_kb(pid: int) -> int:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(
            next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
        )

    before = rss_kb(zygote.pid())
    leak = zygote.job(
        """
        import petri_kit
        petri_kit.LEAK = [bytearray(1024 * 1024) for _ in range(200)]
        print("leaked", len(petri_kit.LEAK))
        """
    )
    assert zygote.run(leak) == (0, "leaked 200\n")
    after = rss_kb(zygote.pid())
    check = zygote.job(
        """
        import petri_kit
        rss = int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20
        print(hasattr(petri_kit, "LEAK"), rss < 150)
        """
    )

    assert after - before < 20 * 1024
    assert zygote.run(check) == (0, "False True\n")


def test_a_job_cannot_see_another_jobs_files_or_the_zygote(zygote):
    victim = zygote.job(
        """
        import time
        open("secret.txt", "w").write("the victim's secret")
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    running = zygote.start(victim)
    assert running.stdout.readline() == b"ready\n"
    prober = zygote.job(
        f"""
        import os
        print("spool", os.listdir("/petri-jobs"))
        print("sockets", os.listdir("/run/petri-warm"))
        for path in ("/petri-jobs/{victim}/work/secret.txt", "/tmp/secret.txt"):
            try:
                open(path).read()
                print("read", path)
            except OSError as exc:
                print("refused", type(exc).__name__)
        for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
            for what in ("cwd", "root", "environ", "mem"):
                try:
                    os.listdir(f"/proc/{{pid}}/{{what}}") if what != "environ" and what != "mem" \\
                        else open(f"/proc/{{pid}}/{{what}}", "rb").read(1)
                    print("reached", pid, what)
                except OSError:
                    pass
        print("caps", open("/proc/self/status").read().split("CapEff:")[1].split()[0])
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            print("umount", libc.umount2(b"/petri-jobs", 2), ctypes.get_errno() != 0)
        except OSError as exc:
            print("umount", exc)
        """
    )
    try:
        code, output = zygote.run(prober)
    finally:
        running.kill()

    assert code == 0, output
    assert "spool []" in output
    assert "sockets []" in output
    assert "read" not in output.replace("reached", "")
    assert output.count("refused") == 2
    assert "reached" not in output
    assert "caps 0000000000000000" in output
    assert "umount -1 True" in output


def test_a_job_gets_its_limits_and_a_tmp_of_its_own(zygote):
    name = zygote.job(
        """
        import os, resource
        print(resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_CPU))
        open("/tmp/mine", "w").write("x")
        try:
            bytearray(600 * 1024 * 1024)
            print("allocated")
        except MemoryError:
            print("MemoryError")
        """
    )
    limits = {"memory_bytes": 512 * 1024 * 1024, "processes": 77, "cpu_seconds": 30}
    code, output = zygote.run(name, limits)
    assert (code, output) == (0, "77 (30, 35)\nMemoryError\n")
    other = zygote.job("import os; print(os.listdir('/tmp'))")
    assert zygote.run(other) == (0, "[]\n")


def test_hanging_up_kills_the_job_and_its_children(zygote):
    name = zygote.job(
        """
        import subprocess, time
        subprocess.Popen(["sleep", "300"])
        print("started", flush=True)
        time.sleep(300)
        """
    )
    job = zygote.start(name)
    assert job.stdout.readline() == b"started\n"
    job.kill()
    assert job.returncode == -9 and not job.lost
    # The pipe's last writer (the child's sleep) is gone too: the output ends.
    assert job.stdout.read() == b""


def test_a_dead_zygote_is_reported_as_unavailable_or_lost(zygote):
    name = zygote.job("import time; print('up', flush=True); time.sleep(300)")
    job = zygote.start(name)
    assert job.stdout.readline() == b"up\n"
    zygote.proc.kill()
    zygote.proc.wait(10)
    assert job.wait(30) == -9 and job.lost
    with pytest.raises(warm.WarmUnavailable):
        zygote.start(zygote.job("print('never')"))


def test_the_zygote_never_has_the_servers_environment(zygote):
    environ = Path(f"/proc/{zygote.proc.pid}/environ").read_bytes().decode()
    names = {entry.split("=", 1)[0] for entry in environ.split("\0") if entry}

    assert CANARY not in environ
    assert not names & {"DATABASE_URL", "PETRI_SECRET_KEY", "PETRI_SANDBOX"}
    assert "PYTHONPATH" in names
