"""A fake runner API and helpers to run the real runner against it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

RUNNER_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "job-token-abc123"
JOB = "/api/runner/job/"
EVENTS = "/api/runner/events/"
FILES = "/api/runner/files/"
RESULT = "/api/runner/result/"
DATASET = "/api/runner/dataset/"
TRUTH = "/api/runner/truth/"


@dataclass
class Recorded:
    """One request the fake API received, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class FakeApi:
    """The runner endpoints over real HTTP, recording every request.

    Faults can be injected per (method, path): ``fail`` answers the next calls with the given
    statuses, ``fail_always`` answers every later call with one.
    """

    def __init__(self, spec: Any, *, dataset: bytes = b"", truth: bytes = b"") -> None:
        self.spec = spec
        self.downloads = {DATASET: dataset, TRUTH: truth}
        self.requests: list[Recorded] = []
        self.cond = threading.Condition()
        self._faults: dict[tuple[str, str], list[int]] = {}
        self._always: dict[tuple[str, str], int] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, method: str, path: str, *statuses: int) -> None:
        with self.cond:
            self._faults.setdefault((method, path), []).extend(statuses)

    def fail_always(self, method: str, path: str, status: int) -> None:
        with self.cond:
            self._always[(method, path)] = status

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until ``predicate`` (called with the lock held) is true after some request."""
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"condition not met within {timeout} s")

    # Views over what was accepted (status 2xx).

    def accepted(self, method: str, prefix: str) -> list[Recorded]:
        with self.cond:
            return [
                r
                for r in self.requests
                if r.method == method and r.path.startswith(prefix) and 200 <= r.status < 300
            ]

    def event_posts(self) -> list[list[dict[str, Any]]]:
        """Every accepted batch of events, in order: the runner's last rides with its result."""
        with self.cond:
            posts = [
                r
                for r in self.requests
                if r.method == "POST" and r.path in (EVENTS, RESULT) and 200 <= r.status < 300
            ]
        return [r.json()["events"] for r in posts if r.json().get("events")]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = [e for batch in self.event_posts() for e in batch]
        return [e for e in found if kind is None or e["type"] == kind]

    def log_lines(self) -> list[str]:
        return [line for e in self.events("log") for line in e["lines"]]

    def results(self) -> list[dict[str, Any]]:
        """The results posted, without the events and files riding along (see those views)."""
        return [
            {k: v for k, v in body.items() if k not in ("events", "files")}
            for body in self._result_bodies()
        ]

    def _result_bodies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.accepted("POST", RESULT)]

    def uploads(self) -> dict[str, bytes]:
        """Output files, whether PUT one by one or sent (small) inside the result."""
        found = {unquote(r.path[len(FILES) :]): r.body for r in self.accepted("PUT", FILES)}
        for result in self._result_bodies():
            for inline in result.get("files") or []:
                found[inline["name"]] = base64.b64decode(inline["content"])
        return found

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        path = urlsplit(handler.path).path
        key = (handler.command, FILES if path.startswith(FILES) else path)
        with self.cond:
            status, payload = self._answer(handler, key, path)
            headers = {k: v for k, v in handler.headers.items()}
            self.requests.append(Recorded(handler.command, path, headers, body, status))
            self.cond.notify_all()
        content_type = "application/json"
        if isinstance(payload, bytes):
            content_type = "application/octet-stream"
        else:
            payload = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _answer(
        self, handler: BaseHTTPRequestHandler, key: tuple[str, str], path: str
    ) -> tuple[int, Any]:
        queued = self._faults.get(key)
        status = queued.pop(0) if queued else self._always.get(key)
        if status is not None:
            return status, {"detail": f"injected {status} for {key[0]} {key[1]}"}
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"detail": "Invalid token."}
        if key == ("GET", JOB):
            return 200, self.spec
        if handler.command == "GET" and path in self.downloads:
            return 200, self.downloads[path]
        if key in (("POST", EVENTS), ("POST", RESULT), ("PUT", FILES)):
            return (201 if key[0] == "PUT" else 200), {"ok": True}
        return 404, {"detail": "Not found."}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server looks for
        self.server.fake.handle(self)  # type: ignore[attr-defined]

    do_POST = do_PUT = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


def make_spec(name: str, **overrides: Any) -> dict[str, Any]:
    """A job spec for algorithm ``name``, run with the test's Python."""
    spec: dict[str, Any] = {
        "job": 12,
        "attempt": 1,
        "algorithm": {
            "name": name,
            "entrypoint": [sys.executable, "main.py"],
            "language": "python",
        },
        "parameters": {},
        "dataset_url": None,
        "truth_url": None,
        "timeout": None,
        "heartbeat_interval": 15,
    }
    spec.update(overrides)
    return spec


def write_algorithm(algorithms_dir: Path, name: str, code: str) -> Path:
    """Write ``<algorithms_dir>/<name>/main.py``."""
    folder = algorithms_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(textwrap.dedent(code))
    return folder


def runner_env(api_url: str, algorithms_dir: Path, **overrides: str | None) -> dict[str, str]:
    """The runner's environment; an override of None removes the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETRI_")}
    env.update(
        PYTHONPATH=str(RUNNER_ROOT),
        PETRI_API_URL=api_url,
        PETRI_JOB_TOKEN=TOKEN,
        PETRI_ALGORITHMS_DIR=str(algorithms_dir),
        PETRI_RUNNER_RETRY_SECONDS="30",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start_runner(env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``python -m petri_runner`` in its own session, as a backend would."""
    return subprocess.Popen(
        [sys.executable, "-m", "petri_runner"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


def pids_from_log(api: FakeApi, marker: str = "pids") -> list[int]:
    """The pids an entrypoint printed as ``pids <pid> <pid>...``."""
    for line in api.log_lines():
        if line.startswith(marker + " "):
            return [int(p) for p in line.split()[1:]]
    raise AssertionError("no pids line in the log")


def has_log_line(api: FakeApi, prefix: str) -> Callable[[], bool]:
    """A wait_for predicate: some accepted log line starts with ``prefix``."""

    def check() -> bool:
        return any(line.startswith(prefix) for line in api.log_lines())

    return check


# An entrypoint that starts a grandchild in its group, reports both pids, then sleeps.
SLEEPER = """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print("pids", __import__("os").getpid(), child.pid, flush=True)
    while True:
        print("tick", flush=True)
        time.sleep(0.05)
"""
