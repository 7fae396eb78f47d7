"""Starting the entrypoint in its own process group, reading its output, and stopping it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

KILL_GRACE_SECONDS = 5.0
# Enough bytes for MAX_LINE_CHARS characters of any UTF-8; the rest of a longer line is dropped.
MAX_LINE_BYTES = 40_000
_POLL_SECONDS = 0.05


def start(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start the entrypoint as the leader of a new session, stdout and stderr merged."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Its own process group, so that it and all its children can be signalled at once.
        start_new_session=True,
    )


def read_lines(stream: BinaryIO, on_line: Callable[[str], None]) -> None:
    """Call ``on_line`` for each line of ``stream`` until EOF, decoded leniently."""
    while chunk := stream.readline(MAX_LINE_BYTES):
        if not chunk.endswith(b"\n"):
            # An overlong line: keep its head, skip to the next newline.
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
        on_line(chunk.decode("utf-8", errors="replace").rstrip("\r\n"))


def start_thread(name: str, target: Callable[[], None]) -> threading.Thread:
    """Run ``target`` in a daemon thread, so a stuck pipe never keeps the runner alive."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg also reaches zombies, and orphaned zombies may never be reaped when nobody
    # reaps for PID 1 in a container; /proc tells them apart where it exists.
    return _live_member_in_proc(pgid)


def terminate_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the entrypoint's process group, SIGKILL it after ``grace`` s, reap the leader.

    Returns once no process of the group runs any more (or, should even SIGKILL not finish
    them within ``grace``, once the leader is reaped).
    """
    pgid = proc.pid  # the leader of a new session: its pid is the group id
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not _signal_group(pgid, signum):
            break
        _wait_for_group(proc, pgid, grace)
        if not _waiting_for(proc, pgid):
            break
    proc.wait()


def _wait_for_group(proc: subprocess.Popen[bytes], pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _waiting_for(proc, pgid) and (remaining := deadline - time.monotonic()) > 0:
        try:
            proc.wait(timeout=min(_POLL_SECONDS, remaining))
        except subprocess.TimeoutExpired:
            continue
        if _waiting_for(proc, pgid):
            # The leader is gone but other members linger: poll for them.
            time.sleep(min(_POLL_SECONDS, remaining))


def _waiting_for(proc: subprocess.Popen[bytes], pgid: int) -> bool:
    return proc.returncode is None or group_alive(pgid)


def _signal_group(pgid: int, signum: int) -> bool:
    """Signal the group; False when it no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    return True


def _live_member_in_proc(pgid: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc: trust killpg
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                stat = stat_file.read().decode("ascii", errors="replace")
        except OSError:
            continue
        # The command name may contain spaces and parentheses; the fields after it do not.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False
