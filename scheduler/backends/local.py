"""Runs each attempt as a ``python -m petri_runner`` subprocess on this machine."""

from __future__ import annotations

import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from jobs.models import RUNNER_LOST_EXIT_CODES, FailureReason
from scheduler.backends.base import Backend, BackendError, BackendState, JobSpec, Node

log = logging.getLogger(__name__)

TERMINATE_GRACE_SECONDS = 5.0


class LocalBackend(Backend):
    name = "local"

    def __init__(
        self, *, max_running: int, runner_dir: Path, algorithms_dir: Path, log_dir: Path
    ) -> None:
        self.max_running = max_running
        self.runner_dir = runner_dir
        self.algorithms_dir = algorithms_dir
        self.log_dir = log_dir
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def _alive(self) -> int:
        return sum(proc.poll() is None for proc in self._procs.values())

    def capacity(self) -> int | None:
        with self._lock:
            return max(0, self.max_running - self._alive())

    def _log_path(self, handle: str) -> Path:
        return self.log_dir / f"{handle}.log"

    def submit(self, spec: JobSpec) -> None:
        with self._lock:
            existing = self._procs.get(spec.handle)
            if existing is not None and existing.poll() is None:
                return
            self.log_dir.mkdir(parents=True, exist_ok=True)
            env = {
                **os.environ,
                "PETRI_API_URL": spec.api_url,
                "PETRI_JOB_TOKEN": spec.token,
                "PETRI_ALGORITHMS_DIR": str(self.algorithms_dir),
                "PYTHONPATH": str(self.runner_dir),
                # So an entrypoint's "python" is this interpreter, with Petri's packages.
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
            try:
                with self._log_path(spec.handle).open("ab") as out:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "petri_runner"],
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
            except OSError as exc:
                raise BackendError(f"cannot start the runner: {exc}") from exc
            self._procs[spec.handle] = proc
            log.info("started %s as pid %s", spec.handle, proc.pid)

    def cancel(self, handle: str) -> None:
        with self._lock:
            proc = self._procs.pop(handle, None)
        if proc is None or proc.poll() is not None:
            return
        # The runner leads its own session; signal the whole group so the algorithm goes too.
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=TERMINATE_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        states = {}
        with self._lock:
            for handle in handles:
                proc = self._procs.get(handle)
                if proc is None:
                    states[handle] = BackendState(
                        handle,
                        "gone",
                        reason=FailureReason.LOST,
                        message="no runner process for this attempt",
                    )
                    continue
                code = proc.poll()
                if code is None:
                    states[handle] = BackendState(handle, "running")
                    continue
                del self._procs[handle]
                reason = (
                    FailureReason.LOST
                    if code in RUNNER_LOST_EXIT_CODES or code < 0
                    else FailureReason.ALGORITHM_ERROR
                )
                states[handle] = BackendState(
                    handle,
                    "exited",
                    exit_code=code,
                    reason=reason,
                    message=f"runner exited with status {code} without a result; "
                    f"its last lines:\n{self._tail(handle)}",
                )
        return states

    def _tail(self, handle: str, lines: int = 20) -> str:
        path = self._log_path(handle)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def logs(self, handle: str) -> str | None:
        path = self._log_path(handle)
        return path.read_text(errors="replace") if path.exists() else None

    def nodes(self) -> list[Node]:
        """This machine as the one node; each running attempt counts as one core requested."""
        with self._lock:
            running = self._alive()
        host = socket.gethostname()
        return [
            Node(
                name=host,
                cpu_allocatable=float(os.cpu_count() or 1),
                cpu_requested=float(running),
                memory_allocatable=_memory_bytes(),
                memory_requested=0,
                labels={"kubernetes.io/hostname": host, "kubernetes.io/arch": platform.machine()},
            )
        ]

    def shutdown(self) -> None:
        with self._lock:
            handles = list(self._procs)
        for handle in handles:
            self.cancel(handle)


def _memory_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
