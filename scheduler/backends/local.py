"""Runs each attempt as a ``python -m petri_runner`` subprocess on this machine."""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from jobs import wakeups
from jobs.models import RUNNER_LOST_EXIT_CODES, FailureReason
from scheduler.backends.base import Backend, BackendError, BackendState, JobSpec, Node
from scheduler.backends.local_env import SandboxSettings, limits_env, runner_env
from scheduler.backends.runner_host import HostedRunner, HostError, RunnerHost
from scheduler.backends.warm import WarmPool

log = logging.getLogger(__name__)

TERMINATE_GRACE_SECONDS = 5.0
SELF_CHECK_SECONDS = 60.0
# The largest runner spec handed in the environment (Linux caps one variable at 128 KiB); a
# larger one the runner fetches itself.
MAX_HANDED_SPEC_BYTES = 64 * 1024


class LocalBackend(Backend):
    name = "local"
    hands_spec = True
    wakes_on_exit = True  # the runner host, or the cold runner's watcher thread

    def __init__(
        self,
        *,
        max_running: int,
        runner_dir: Path,
        algorithms_dir: Path,
        log_dir: Path,
        sandbox: SandboxSettings | None = None,
    ) -> None:
        self.max_running = max_running
        self.runner_dir = runner_dir
        self.algorithms_dir = algorithms_dir
        self.log_dir = log_dir
        self.sandbox = sandbox or SandboxSettings()
        self._procs: dict[str, subprocess.Popen | HostedRunner] = {}
        self._uids: dict[str, int] = {}
        self._lock = threading.Lock()
        # Its own lock: the self-check takes a few hundred milliseconds (up to a minute), and
        # capacity() and reconcile() need not wait for it.
        self._sandbox_lock = threading.Lock()
        self._sandbox_checked = False
        self._sandbox_problem: str | None = None
        self.host = RunnerHost(
            runner_env=self._runner_env,
            log_path=log_dir / "runner-host.log",
            on_exit=wakeups.wake_in_process,
        )
        self.warm = WarmPool(
            algorithms_dir=algorithms_dir,
            log_dir=log_dir,
            runner_env=self._runner_env,
            bwrap=self.sandbox.bwrap,
            uid=self.sandbox.warm_uid if os.geteuid() == 0 else None,
        )

    def _alive(self) -> int:
        return sum(proc.poll() is None for proc in self._procs.values())

    def capacity(self) -> int | None:
        with self._lock:
            return max(0, self.max_running - self._alive())

    def _log_path(self, handle: str) -> Path:
        return self.log_dir / f"{handle}.log"

    def submit(self, spec: JobSpec) -> None:
        problem = self.sandbox_problem()
        if spec.uploaded and problem is not None:
            raise BackendError(
                "uploaded code runs only inside the local sandbox, and this server has none: "
                f"{problem}. Ask an operator to install bubblewrap, or run it on Kubernetes."
            )
        with self._lock:
            existing = self._procs.get(spec.handle)
            if existing is not None and existing.poll() is None:
                return
            self.log_dir.mkdir(parents=True, exist_ok=True)
            env = self._runner_env(spec.api_url, spec.token)
            env.update(limits_env(spec, self.sandbox))
            handed = json.dumps(spec.runner_spec) if spec.runner_spec is not None else ""
            if handed and len(handed.encode()) <= MAX_HANDED_SPEC_BYTES:
                env["PETRI_JOB_SPEC"] = handed  # saves the runner its GET of the spec
            if problem is None:
                env["PETRI_SANDBOX"] = "bwrap"
                env["PETRI_SANDBOX_BWRAP"] = self.sandbox.bwrap
                # Catalog code only, and only in the sandbox: uploaded code always runs cold.
                warm = (
                    {}
                    if spec.uploaded or not self.sandbox.warm
                    else self.warm.runner_env(spec.algorithm)
                )
                env.update(warm)
                if os.geteuid() == 0:
                    uid = self.warm.uid if warm else self._take_uid(spec.handle)
                    env["PETRI_SANDBOX_UID"] = str(uid)
            else:
                env["PETRI_SANDBOX"] = "none"  # catalog code only: the runner says so in the log
            try:
                hosted = self.host.start(spec.handle, env, self._log_path(spec.handle))
            except (HostError, OSError) as exc:
                log.warning("starting %s the cold way: %s", spec.handle, exc)
                hosted = None
            if hosted is not None:
                self._procs[spec.handle] = hosted
                log.info(
                    "started %s as pid %s (forked by the runner host)", spec.handle, hosted.pid
                )
                return  # the host wakes the scheduler when the runner exits
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
        # A slot frees when the runner exits, a moment after its result is in: wake the idle
        # scheduler then, or it would wait out its poll before filling the slot.
        threading.Thread(target=_wake_on_exit, args=(proc,), daemon=True).start()

    def prepare(self) -> None:
        """Check the sandbox and start the runner host in the background: done at the first
        submit, they held the first job back by a few hundred milliseconds."""
        threading.Thread(target=self._prepare, name="petri-local-prepare", daemon=True).start()

    def _prepare(self) -> None:
        self.sandbox_problem()
        try:
            self.host.warm_up()
        except OSError as exc:  # the first submit tries again, and runs cold if it must
            log.warning("cannot start the runner host yet: %s", exc)

    def sandbox_problem(self) -> str | None:
        """Why algorithms cannot be sandboxed here, or None when they can (checked once)."""
        with self._sandbox_lock:
            if not self._sandbox_checked:
                self._sandbox_problem = self._check_sandbox()
                self._sandbox_checked = True
                if self._sandbox_problem is not None:
                    log.warning(
                        "no sandbox for local jobs (%s): uploaded code is refused and catalog "
                        "algorithms run unconfined",
                        self._sandbox_problem,
                    )
            return self._sandbox_problem

    def _check_sandbox(self) -> str | None:
        if self.sandbox.kind == "none":
            return "the sandbox is turned off (PETRI_LOCAL_SANDBOX=none)"
        env = self._runner_env()
        env.update(PETRI_SANDBOX="bwrap", PETRI_SANDBOX_BWRAP=self.sandbox.bwrap)
        if os.geteuid() == 0:
            env["PETRI_SANDBOX_UID"] = str(self.sandbox.uid_base)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "petri_runner.selfcheck"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=SELF_CHECK_SECONDS,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the sandbox self-check did not run: {exc}"
        if done.returncode != 0:
            return (done.stderr or done.stdout).strip() or f"status {done.returncode}"
        return None

    def _runner_env(self, api_url: str = "", token: str = "") -> dict[str, str]:
        return runner_env(self.algorithms_dir, self.runner_dir, api_url, token)

    def _take_uid(self, handle: str) -> int:
        """A uid no other running job of this backend has, so each counts its own processes."""
        alive = {h for h, proc in self._procs.items() if proc.poll() is None}
        for gone in set(self._uids) - alive - {handle}:
            del self._uids[gone]
        taken = set(self._uids.values())
        uid = next(
            self.sandbox.uid_base + n
            for n in range(len(taken) + 1)
            if self.sandbox.uid_base + n not in taken
        )
        self._uids[handle] = uid
        return uid

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
            # Exited runners of attempts no longer active (their results are in) are done with:
            # kept, they would make every capacity() walk each runner this server ever started.
            asked = set(handles)
            for handle in [h for h, p in self._procs.items() if h not in asked]:
                if self._procs[handle].poll() is not None:
                    del self._procs[handle]
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
        self.host.shutdown()
        self.warm.shutdown()


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


def _wake_on_exit(proc: subprocess.Popen) -> None:
    proc.wait()
    wakeups.wake_in_process()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
