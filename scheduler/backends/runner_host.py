"""The local backend's warm runner host (petri_runner/host.py): a runner per attempt, forked.

Starting ``python -m petri_runner`` costs an interpreter and its imports for every attempt; the
host pays them once and forks. Each runner still is a process of its own, leading its own
session, with its own log; ``HostedRunner`` answers ``pid``, ``poll()`` and ``wait()`` as the
Popen it replaces. If the host dies, its runners keep running; they are then watched by pid.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

START_SECONDS = 30.0
ORPHAN_POLL_SECONDS = 0.2
# What an orphaned runner's end is reported as: its status went to whoever reaped it.
LOST_STATUS = -9


class HostError(Exception):
    """The host could not start a runner; the caller starts it the cold way."""


class HostedRunner:
    """One runner forked by the host, seen from the backend."""

    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.pid = 0
        self.returncode: int | None = None
        self._started = threading.Event()
        self._ended = threading.Event()
        self._orphaned = False

    def _ended_with(self, code: int) -> None:
        self.returncode = code
        self._ended.set()

    def _orphan(self) -> None:
        """The host died: from now on the pid alone says whether the runner runs."""
        self._orphaned = True

    def poll(self) -> int | None:
        if self.returncode is None and self._orphaned and not _running(self.pid):
            self._ended_with(LOST_STATUS)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._orphaned:
            deadline = None if timeout is None else _now() + timeout
            while self.poll() is None:
                if deadline is not None and _now() >= deadline:
                    raise subprocess.TimeoutExpired(f"runner {self.handle}", timeout or 0)
                self._ended.wait(ORPHAN_POLL_SECONDS)
            return self.returncode  # type: ignore[return-value]
        if not self._ended.wait(timeout) and self.poll() is None:
            raise subprocess.TimeoutExpired(f"runner {self.handle}", timeout or 0)
        if self.returncode is None:  # orphaned while waiting
            return self.wait(timeout)
        return self.returncode


class RunnerHost:
    """Starts the host lazily, hands it attempts, and reads what it says back."""

    def __init__(
        self, *, runner_env: Callable[[], dict[str, str]], log_path: Path, on_exit: Callable
    ) -> None:
        self._runner_env = runner_env
        self._log_path = log_path
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._runners: dict[str, HostedRunner] = {}
        self._stopping = False

    def start(self, handle: str, env: dict[str, str], log_file: Path) -> HostedRunner:
        """Fork a runner for ``handle`` with ``env`` added to the host's own; HostError if not."""
        runner = HostedRunner(handle)
        with self._lock:
            proc = self._ensure()
            self._runners[handle] = runner
            line = json.dumps({"handle": handle, "env": env, "log": str(log_file)}) + "\n"
            try:
                assert proc.stdin is not None
                proc.stdin.write(line.encode())
                proc.stdin.flush()
            except OSError as exc:
                self._runners.pop(handle, None)
                raise HostError(f"the runner host is gone: {exc}") from None
        if not runner._started.wait(START_SECONDS) or not runner.pid:
            with self._lock:
                self._runners.pop(handle, None)
            raise HostError("the runner host did not start the runner in time")
        return runner

    @property
    def running(self) -> bool:
        """Whether the host process is up."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def warm_up(self) -> None:
        """Start the host now, so the first attempt does not wait for its imports."""
        with self._lock:
            if not self._stopping:
                self._ensure()

    def _ensure(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "petri_runner.host"],
                env=self._runner_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        log.info("started the runner host as pid %s", proc.pid)
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()
        self._proc = proc
        return proc

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                message = json.loads(line)
                handle = message["handle"]
            except (ValueError, KeyError, TypeError):
                log.warning("the runner host said %r", line[:200])
                continue
            with self._lock:
                runner = self._runners.get(handle)
                if runner is not None and "exit" in message:
                    del self._runners[handle]
            if runner is None:
                continue
            if "pid" in message:
                runner.pid = int(message["pid"])
                runner._started.set()
            elif "exit" in message:
                runner._ended_with(int(message["exit"]))
                self._on_exit()
        proc.wait()
        if self._stopping:
            return
        log.warning(
            "the runner host exited with %s; its runners are watched by pid", proc.returncode
        )
        with self._lock:
            orphans, self._runners = list(self._runners.values()), {}
        for runner in orphans:
            runner._orphan()
            runner._started.set()
        if orphans:
            threading.Thread(target=self._watch_orphans, args=(orphans,), daemon=True).start()

    def _watch_orphans(self, orphans: list[HostedRunner]) -> None:
        for runner in orphans:
            if runner.pid:
                runner.wait()
                self._on_exit()

    def shutdown(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            self._stopping = True
        if proc is not None and proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()  # the host ends; its runners are cancelled by the backend
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return fields[0] not in (b"Z", b"X")


def _now() -> float:
    return time.monotonic()
