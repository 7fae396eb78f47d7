"""One job attempt, from fetching its spec to posting its result."""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote

from petri_runner import isolate, oom, process, sandbox, unpack, warm
from petri_runner.api import ApiClient
from petri_runner.config import Config
from petri_runner.directives import Metrics, Progress, parse_line
from petri_runner.events import MAX_LINE_CHARS, Event, EventReporter, make_event
from petri_runner.outputs import MetricsFileError, iter_output_files, read_metrics_file
from petri_runner.result import (
    BACKEND_ERROR,
    DEADLINE_EXCEEDED,
    Result,
    describe_exit,
    failed_exit,
)
from petri_runner.signals import TerminationGuard
from petri_runner.spec import JobSpec, parse_spec
from petri_runner.workspace import Workspace

JOB_PATH = "/api/runner/job/"
EVENTS_PATH = "/api/runner/events/"
FILES_PATH = "/api/runner/files/"
RESULT_PATH = "/api/runner/result/"

LOG_TAIL_LINES = 20
# Output files this small go inside the result's body (base64) instead of a PUT each.
INLINE_FILE_BYTES = 128 * 1024
INLINE_TOTAL_BYTES = 512 * 1024
# Once the entrypoint's group is gone, its pipe normally reaches EOF at once; a process that
# left the group (setsid) may hold it open forever, so reading stops after this long.
READER_DRAIN_SECONDS = 5.0
# How soon the started event leaves unless the result (or another batch) takes it first.
STARTED_WITHIN_SECONDS = 0.25


class AttemptRunner:
    """Runs the attempt that ``config``'s token belongs to."""

    def __init__(self, config: Config, guard: TerminationGuard) -> None:
        self._config = config
        self._guard = guard
        self._api = ApiClient(config.api_url, config.token, config.retry_seconds)
        self._wake = threading.Event()  # set when the entrypoint exits or sending fails
        self._proc: subprocess.Popen[bytes] | warm.WarmProcess | None = None
        self._reporter: EventReporter | None = None
        self._metrics: dict[str, float] = {}
        self._tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self._oom_kills: int | None = None
        self._reader: threading.Thread | None = None
        self._inline_files: list[dict[str, str]] = []

    def run(self) -> None:
        """Run to an accepted result; RunnerError or Terminated when that cannot happen."""
        # Handed by the backend (the local one does), or fetched.
        raw = self._config.job_spec or self._api.get_json(self._api.endpoint(JOB_PATH))
        spec = parse_spec(raw)
        workspace = Workspace.create(self._config.work_dir, spool=self._config.warm_spool)
        cleaner: threading.Thread | None = None
        try:
            self._reporter = EventReporter(
                self._post_events,
                heartbeat_interval=spec.heartbeat_interval,
                on_error=self._wake.set,
            )
            self._reporter.start()
            result = self._attempt(spec, workspace)
            payload = result.payload()
            # The log's last batch and small output files ride along with the result: one
            # round trip where three or more were. The server stores them before the result.
            last = self._reporter.finish()
            if last:
                payload["events"] = last
            if self._inline_files:
                payload["files"] = self._inline_files
            # The entrypoint is gone and the payload holds what the result needs: the folder
            # goes while the result travels (removing directories costs milliseconds on some
            # disks, and the runner's exit is what frees the slot).
            keep = self._config.keep_workdir
            cleaner = process.start_thread("petri-cleanup", lambda: workspace.cleanup(keep))
            self._api.post_json(self._api.endpoint(RESULT_PATH), payload)
        finally:
            with self._guard.deferred():
                if self._reporter is not None:
                    self._reporter.stop()  # a no-op after close(); on errors, stop talking
                self._stop_entrypoint()
                if cleaner is None:
                    workspace.cleanup(keep=self._config.keep_workdir)
                else:
                    cleaner.join()

    def _attempt(self, spec: JobSpec, workspace: Workspace) -> Result:
        algorithm = spec.algorithm
        self._note(f"job {spec.job}, attempt {spec.attempt}, algorithm {algorithm.name}")
        if spec.artifact_url:
            workspace.prepare(None, spec.parameters)
            refused = self._unpack_artifact(spec.artifact_url, workspace)
            if refused is not None:
                return refused
        else:
            source = self._config.algorithms_dir / algorithm.name
            if not source.is_dir():
                message = f"algorithm {algorithm.name!r} is not installed in {source.parent}"
                self._note(message)
                return Result.failed(message, exit_code=None)
            workspace.prepare(source, spec.parameters)
        if spec.dataset_url:
            self._note("downloading dataset")
            self._api.download(self._api.resolve(spec.dataset_url), workspace.dataset_file)
        if spec.truth_url:
            self._note("downloading ground truth")
            self._api.download(self._api.resolve(spec.truth_url), workspace.truth_file)
        confinement = self._config.sandbox
        warm_argv = self._warm_argv(spec, workspace)
        cold_env = sandbox.algorithm_env(
            os.environ, self._given(spec, workspace, workspace.base), confinement, workspace.work
        )
        layout = sandbox.Layout(
            workspace.work, workspace.output, workspace.inputs, workspace.params_file
        )
        try:
            sandbox.prepare(layout, confinement)
            argv = sandbox.command(algorithm.entrypoint, layout, confinement)
        except (OSError, sandbox.SandboxError) as exc:
            message = f"cannot set up the sandbox: {exc}"
            self._note(message)
            return Result.failed(message, exit_code=None, reason=BACKEND_ERROR)

        self._note(f"starting {shlex.join(algorithm.entrypoint)}")
        # Sent by the background thread, so no round trip delays the start, within a moment:
        # a job that ends sooner carries it in its result, one request where two were (and
        # the server takes the start time from the event, so it is right either way).
        self._require_reporter().queue(make_event("started"), within=STARTED_WITHIN_SECONDS)
        self._oom_kills = oom.oom_kills()
        started = None
        if warm_argv is not None:
            warm_env = sandbox.algorithm_env(
                os.environ,
                self._given(spec, workspace, Path(isolate.JOB_ROOT)),
                confinement,
                Path(isolate.JOB_ROOT) / "work",
            )
            started = self._start_warm(warm_argv, workspace, warm_env)
        if started is None:
            self._note(sandbox.describe(self._config.sandbox))
            started = self._start_cold(argv, workspace, cold_env)
        if isinstance(started, Result):
            return started
        returncode, timed_out = self._finish_entrypoint(started, spec.timeout)
        proc = self._proc
        if isinstance(proc, warm.WarmProcess) and proc.lost:
            # The zygote died under the job: run it again cold, from a clean output folder.
            self._note("the warm zygote died during the job; running it again cold")
            for leftover in workspace.output.iterdir():
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            self._metrics.clear()
            self._note(sandbox.describe(self._config.sandbox))
            started = self._start_cold(argv, workspace, cold_env)
            if isinstance(started, Result):
                return started
            returncode, timed_out = self._finish_entrypoint(started, spec.timeout)

        result = self._judge(returncode, timed_out, spec.timeout, workspace)
        self._upload_outputs(workspace)
        return result

    def _given(self, spec: JobSpec, workspace: Workspace, root: Path) -> dict[str, str]:
        """The contract's PETRI_* files, as the entrypoint sees them under ``root``."""

        def seen(path: Path) -> str:
            return str(root / path.relative_to(workspace.base))

        given = {
            "PETRI_PARAMS_FILE": seen(workspace.params_file),
            "PETRI_OUTPUT_DIR": seen(workspace.output),
        }
        if spec.dataset_url:
            given["PETRI_DATASET_FILE"] = seen(workspace.dataset_file)
        if spec.truth_url:
            given["PETRI_TRUTH_FILE"] = seen(workspace.truth_file)
        return given

    def _warm_argv(self, spec: JobSpec, workspace: Workspace) -> list[str] | None:
        """The script argv a zygote can run for this job, or None when it runs cold."""
        config = self._config
        if config.warm_socket is None or config.warm_spool is None or spec.artifact_url:
            return None  # uploaded code always runs cold
        if workspace.base.parent != config.warm_spool:
            return None
        return warm.script_argv(spec.algorithm.entrypoint)

    def _start_warm(
        self, argv: list[str], workspace: Workspace, env: dict[str, str]
    ) -> warm.WarmProcess | None:
        """Fork the job from the algorithm's zygote; None (and a note) when it cannot."""
        assert self._config.warm_socket is not None
        limits = self._config.sandbox.limits
        with self._guard.deferred():
            try:
                proc = warm.start(
                    self._config.warm_socket, workspace.base.name, argv, env, limits.named()
                )
            except warm.WarmUnavailable as exc:
                self._note(f"no warm zygote ({exc}); running cold")
                return None
            self._proc = proc
            self._start_watchers(proc)
        self._note(
            "sandbox: a fork of the algorithm's warm zygote (bwrap, no network, only its own "
            f"directory visible); limits: {limits.summary()}"
        )
        return proc

    def _start_cold(
        self, argv: list[str], workspace: Workspace, env: dict[str, str]
    ) -> subprocess.Popen[bytes] | Result:
        # Deferred: a termination between Popen and keeping its handle would orphan the job.
        with self._guard.deferred():
            try:
                proc = self._proc = process.start(argv, workspace.work, env)
            except OSError as exc:
                message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
                self._note(message)
                return Result.failed(message, exit_code=None)
            self._start_watchers(proc)
        return proc

    def _start_watchers(self, proc: subprocess.Popen[bytes] | warm.WarmProcess) -> None:
        self._wake.clear()
        stdout = proc.stdout
        assert stdout is not None
        self._reader = process.start_thread(
            "petri-output", lambda: process.read_lines(stdout, self._on_line)
        )
        process.start_thread("petri-exit", self._watch_exit)

    def _finish_entrypoint(
        self, proc: subprocess.Popen[bytes] | warm.WarmProcess, timeout: float | None
    ) -> tuple[int | None, bool]:
        """Wait for the entrypoint, stop what it left; (its return code, whether it timed out)."""
        timed_out = self._wait(timeout)
        if timed_out:
            self._note(f"time limit of {timeout:g} s exceeded, stopping the process group")
        elif isinstance(proc, subprocess.Popen) and process.group_alive(proc.pid):
            self._note("stopping processes the entrypoint left running")
        with self._guard.deferred():
            self._stop_entrypoint()
        self._require_reporter().unbounded()
        if self._reader is not None:
            self._reader.join(READER_DRAIN_SECONDS)
        if isinstance(proc, subprocess.Popen):
            returncode = sandbox.normalize_returncode(proc.returncode, self._config.sandbox)
        else:
            returncode = proc.returncode
        if not timed_out and not getattr(proc, "lost", False):
            self._note(describe_exit(returncode))
        return returncode, timed_out

    def _unpack_artifact(self, url: str, workspace: Workspace) -> Result | None:
        """Download the uploaded code and unpack it into the work dir; a Result if refused."""
        self._note("downloading uploaded code")
        self._api.download(self._api.resolve(url), workspace.artifact_file)
        try:
            count = unpack.unpack(
                workspace.artifact_file,
                workspace.work,
                max_bytes=self._config.max_unpacked_bytes,
                max_files=self._config.max_files,
            )
        except (unpack.UnsafeArchive, OSError) as exc:
            unpack.clear(workspace.work)
            message = f"uploaded code refused: {exc}"
            self._note(message)
            return Result.failed(message, exit_code=None)
        finally:
            workspace.artifact_file.unlink(missing_ok=True)
        self._note(f"unpacked {count} entries of uploaded code")
        return None

    def _wait(self, timeout: float | None) -> bool:
        """Wait for the entrypoint to exit; True if ``timeout`` ran out first."""
        proc, reporter = self._proc, self._require_reporter()
        assert proc is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while proc.returncode is None:
            if reporter.error is not None:
                raise reporter.error
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return True
            self._wake.wait(remaining)
        return False

    def _judge(
        self, returncode: int | None, timed_out: bool, timeout: float | None, workspace: Workspace
    ) -> Result:
        metrics = dict(self._metrics)
        metrics_problem = None
        try:
            metrics.update(read_metrics_file(workspace.output) or {})
        except MetricsFileError as exc:
            metrics_problem = str(exc)
        if timed_out:
            return Result.failed(
                f"exceeded the time limit of {timeout:g} s",
                exit_code=None,
                metrics=metrics,
                reason=DEADLINE_EXCEEDED,
            )
        assert returncode is not None
        oom_killed = returncode == -signal.SIGKILL and self._oom_killed()
        hit = None
        if returncode and not oom_killed:
            hit = sandbox.explain(returncode, self._tail, self._config.sandbox.limits)
        limit = None if hit is None else (hit.message, hit.reason)
        failed = failed_exit(returncode, metrics, self._tail, oom_killed=oom_killed, limit=limit)
        if failed is not None:
            return failed
        if metrics_problem is not None:
            self._note(metrics_problem)
            return Result.failed(metrics_problem, exit_code=0, metrics=metrics)
        return Result("succeeded", 0, metrics)

    def _oom_killed(self) -> bool:
        before, after = self._oom_kills, oom.oom_kills()
        return before is not None and after is not None and after > before

    def _upload_outputs(self, workspace: Workspace) -> None:
        files = list(iter_output_files(workspace.output))
        if files:
            self._note(f"uploading {len(files)} output file(s)")
        room = INLINE_TOTAL_BYTES
        for name, path in files:
            if (error := self._require_reporter().error) is not None:
                raise error
            size = path.stat().st_size
            if size <= min(INLINE_FILE_BYTES, room):
                room -= size
                content = base64.b64encode(path.read_bytes()).decode("ascii")
                self._inline_files.append({"name": name, "content": content})
                continue
            url = self._api.endpoint(FILES_PATH + quote(name, safe="/"))
            self._api.upload(url, path)

    def _on_line(self, line: str) -> None:
        """Handle one line of the entrypoint's output (reader thread)."""
        reporter = self._require_reporter()
        directive = parse_line(line)
        if isinstance(directive, Progress):
            reporter.progress(directive.value)
        elif isinstance(directive, Metrics):
            for name, value in directive.values.items():
                self._metrics[name] = value
                reporter.metric(name, value, directive.step)
        else:
            self._tail.append(directive.text[:MAX_LINE_CHARS])
            reporter.log(directive.text)

    def _watch_exit(self) -> None:
        assert self._proc is not None
        self._proc.wait()
        self._wake.set()

    def _stop_entrypoint(self) -> None:
        proc = self._proc
        if isinstance(proc, warm.WarmProcess):
            proc.kill()
        elif proc is not None and (proc.returncode is None or process.group_alive(proc.pid)):
            process.terminate_group(proc)

    def _post_events(self, events: list[Event]) -> None:
        self._api.post_json(self._api.endpoint(EVENTS_PATH), {"events": events})

    def _note(self, message: str) -> None:
        self._require_reporter().log(f"petri-runner: {message}")

    def _require_reporter(self) -> EventReporter:
        assert self._reporter is not None, "the reporter starts before anything reports"
        return self._reporter
