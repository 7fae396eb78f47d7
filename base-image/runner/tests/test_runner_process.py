"""Reading the entrypoint's output and stopping its process group."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path

from petri_runner import process
from runner_testkit import is_running

IGNORES_SIGTERM = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
while True:
    time.sleep(1)
"""


def start_python(code: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    return process.start([sys.executable, "-c", code], tmp_path, {})


def test_read_lines_decodes_leniently_and_cuts_overlong_lines() -> None:
    long_line = b"z" * (process.MAX_LINE_BYTES * 3) + b"\n"
    stream = io.BytesIO(b"plain\r\n" + b"bad \xff byte\n" + long_line + b"last without newline")
    lines: list[str] = []
    process.read_lines(stream, lines.append)

    assert lines == [
        "plain",
        "bad \ufffd byte",
        "z" * process.MAX_LINE_BYTES,
        "last without newline",
    ]


def test_entrypoint_runs_in_its_own_session_with_merged_output(tmp_path: Path) -> None:
    code = (
        "import os, sys; print(os.getsid(0) == os.getpid(), flush=True);sys.stderr.write('err\\n')"
    )
    proc = start_python(code, tmp_path)
    out, _ = proc.communicate(timeout=30)

    assert out.decode().splitlines() == ["True", "err"]


def test_terminate_group_kills_a_group_that_ignores_sigterm_after_the_grace(
    tmp_path: Path,
) -> None:
    proc = start_python(IGNORES_SIGTERM, tmp_path)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())

    process.terminate_group(proc, grace=0.3)

    assert proc.returncode == -signal.SIGKILL
    assert not process.group_alive(proc.pid)
    assert not is_running(grandchild)


def test_terminate_group_returns_once_a_cooperative_group_has_exited(tmp_path: Path) -> None:
    proc = start_python("import time; print('up', flush=True); time.sleep(120)", tmp_path)
    assert proc.stdout is not None
    proc.stdout.readline()

    process.terminate_group(proc, grace=60)

    assert proc.returncode == -signal.SIGTERM
    assert not process.group_alive(proc.pid)
