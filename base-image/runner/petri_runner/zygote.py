"""A warm zygote: imports one catalog algorithm's modules once, then forks a fresh child per job.

``python -m petri_runner.zygote SOCKET [MODULE ...]`` runs inside the local sandbox, started by
the local backend (scheduler/backends/warm.py). It imports the modules, then listens on the Unix
socket SOCKET (SOCK_SEQPACKET). A runner sends one request per connection: the job's directory
name under the spool, the script and its argv, the environment and the rlimits. The zygote forks;
the child confines itself to its job (isolate.py), takes its limits and environment, and runs
the script as ``python script`` would. The zygote answers ``{"pid": n}``, then ``{"exit": code}``
(negative: killed by that signal). Closing the connection early kills the job. One thread, no
signals: children are watched through pidfds.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import resource
import runpy
import selectors
import signal
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field

from petri_runner import isolate

MAX_REQUEST_BYTES = 256 * 1024
LIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
}
CPU_KILL_AFTER_SECONDS = 5


@dataclass
class _Job:
    conn: socket.socket
    pid: int | None = None
    pidfd: int | None = None
    children: set[int] = field(default_factory=set)


def preload(modules: list[str]) -> None:
    """Import what the algorithm named; a module that fails is reported and left cold."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any import error only costs warmth
            print(f"petri-zygote: cannot preload {name}: {exc}", file=sys.stderr, flush=True)


def serve(path: str) -> None:
    """Accept requests on ``path`` until killed; never returns in the zygote."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    jobs: dict[int, _Job] = {}  # by connection fd
    print(f"petri-zygote: ready on {path}", file=sys.stderr, flush=True)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                conn, _ = listener.accept()
                jobs[conn.fileno()] = _Job(conn)
                selector.register(conn, selectors.EVENT_READ, ("request", conn.fileno()))
                continue
            kind, ident = key.data
            job = jobs.get(ident)
            if job is None:
                continue
            if kind == "request":
                _on_request(job, selector, listener, jobs)
            else:
                _on_exit(job, selector, jobs)


def _on_request(job: _Job, selector: selectors.BaseSelector, listener, jobs) -> None:
    try:
        data, fds, _, _ = socket.recv_fds(job.conn, MAX_REQUEST_BYTES, 1)
    except OSError:
        data, fds = b"", []
    if job.pid is not None or not data:
        # A second message or the runner hanging up: the job is not wanted any more.
        for fd in fds:
            os.close(fd)
        _drop(job, selector, jobs, kill=True)
        return
    try:
        request = json.loads(data)
        if len(fds) != 1:
            raise ValueError("a request carries exactly one file descriptor (the output pipe)")
    except ValueError as exc:
        for fd in fds:
            os.close(fd)
        _send(job.conn, {"error": f"bad request: {exc}"})
        _drop(job, selector, jobs, kill=False)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        listener.close()
        for other in jobs.values():
            other.conn.close()
            if other.pidfd is not None:
                os.close(other.pidfd)
        selector.close()
        _run_child(request, fds[0])  # never returns
    os.close(fds[0])
    job.pid = pid
    job.pidfd = os.pidfd_open(pid)
    selector.register(job.pidfd, selectors.EVENT_READ, ("exit", job.conn.fileno()))
    _send(job.conn, {"pid": pid})


def _on_exit(job: _Job, selector: selectors.BaseSelector, jobs) -> None:
    assert job.pid is not None
    _, status = os.waitpid(job.pid, 0)
    _kill_group(job.pid)  # whatever the job left running goes with it
    _send(job.conn, {"exit": os.waitstatus_to_exitcode(status)})
    job.pid = None
    _drop(job, selector, jobs, kill=False)


def _drop(job: _Job, selector: selectors.BaseSelector, jobs, *, kill: bool) -> None:
    if job.pid is not None and kill:
        _kill_group(job.pid)
        # Reap it now: the pidfd is closed below, so nobody would wait for it later.
        try:
            os.waitpid(job.pid, 0)
        except ChildProcessError:
            pass
    if job.pidfd is not None:
        selector.unregister(job.pidfd)
        os.close(job.pidfd)
    jobs.pop(job.conn.fileno(), None)
    selector.unregister(job.conn)
    job.conn.close()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass  # the runner is gone; it learns nothing more


def _run_child(request: dict, out_fd: int) -> None:
    """The forked job: confine, limit, take its environment, run its script, exit."""
    code = 1
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        for fd in (devnull, out_fd):
            os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        limits = request.get("limits") or {}
        isolate.confine_to_job(str(request["job"]), limits.get("memory_bytes"))
        for name, value in limits.items():
            kind = LIMITS[name]
            hard = value + CPU_KILL_AFTER_SECONDS if name == "cpu_seconds" else value
            resource.setrlimit(kind, (value, hard))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.environ.clear()
        os.environ.update(request["env"])
        argv = [str(a) for a in request["argv"]]
        os.chdir(f"{isolate.JOB_ROOT}/work")
        sys.argv = argv
        sys.path.insert(0, os.getcwd())
        sys.stdout.reconfigure(line_buffering=True, write_through=True)
        sys.stderr.reconfigure(line_buffering=True, write_through=True)
        code = _run_script(argv[0])
    except BaseException:  # the job fails with its exit status
        try:
            traceback.print_exc()
        finally:
            code = 1
    finally:
        _finish(code)


def _run_script(script: str) -> int:
    """Run ``script`` as __main__; its exit status as ``python script`` would give it."""
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _finish(code: int) -> None:
    """End the child as an interpreter's exit would: threads joined, atexit run, streams out."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # waits for non-daemon threads
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


def launch(spool: str, socket_dir: str, name: str, modules: list[str]) -> None:
    """Replace this process with the zygote in the sandbox the PETRI_SANDBOX* variables name."""
    from pathlib import Path

    from petri_runner import sandbox
    from petri_runner.config import sandbox_from_env

    box = sandbox_from_env(os.environ)
    argv = sandbox.zygote_command(Path(spool), Path(socket_dir), f"{name}.sock", modules, box)
    # The zygote's environment is the allow list a job gets, never the launcher's own.
    env = sandbox.algorithm_env(os.environ, {}, box, Path("/tmp"))
    os.execve(argv[0], argv, env)


def main() -> None:
    """``python -m petri_runner.zygote (launch SPOOL SOCKETS NAME | serve SOCKET) [MODULE...]``."""
    args = sys.argv[1:]
    if len(args) >= 4 and args[0] == "launch":
        launch(args[1], args[2], args[3], args[4:])
    elif len(args) >= 2 and args[0] == "serve":
        # Jobs run as this uid: none may read or trace the zygote they would all inherit from.
        isolate.not_dumpable()
        preload(["petri_kit", *args[2:]])
        serve(args[1])
    else:
        print(main.__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
