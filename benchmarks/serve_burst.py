#!/usr/bin/env python
"""A burst of concurrent requests against `manage.py serve`: answered vs dropped, by backlog.

Serves Petri (daphne, `--no-scheduler`) on a throwaway SQLite database on 127.0.0.1, once with
Twisted's old listen backlog (50) and once with Petri's (PETRI_LISTEN_BACKLOG, default 1024),
and sends each one --requests concurrent POSTs (all released at once by a barrier; each on its
own connection, bounded by --timeout). A request is answered when any HTTP status came back,
dropped otherwise (reset, refused, timed out). Prints both side by side and one JSON line.

    .venv/bin/python benchmarks/serve_burst.py                      # 200 requests, 3 rounds each
    .venv/bin/python benchmarks/serve_burst.py --requests 300 --rounds 1 --new-backlog 4096
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_BACKLOG = 50  # Twisted's listenTCP default, which daphne's endpoint used


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETRI_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(PETRI_VAR_DIR=str(var_dir), PETRI_LOG_LEVEL="ERROR", PETRI_SCHEDULER_IN_WEB="false")
    return env


def _serve(var_dir: Path, backlog: int, log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    command = [sys.executable, str(ROOT / "manage.py"), "serve", "--no-scheduler"]
    command += ["--port", str(port), "--backlog", str(backlog)]
    with log.open("ab") as out:
        server = subprocess.Popen(command, env=_env(var_dir), stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start:\n{log.read_text()[-3000:]}") from None
            threading.Event().wait(0.1)  # a poll, with its deadline above


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _burst(port: int, requests: int, timeout: float) -> dict:
    """``requests`` POSTs released together; each a new connection, as a burst of clients."""
    barrier = threading.Barrier(requests)
    outcomes: list[tuple[str, float]] = [("dropped", 0.0)] * requests
    # A POST the API answers without touching accounts: a token request missing its fields.
    body = b"{}"

    def one(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            barrier.wait()
            started = time.monotonic()
            connection.request(
                "POST", "/api/auth/token/", body, {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            outcomes[index] = (f"http {response.status}", time.monotonic() - started)
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as exc:
            outcomes[index] = (f"dropped: {type(exc).__name__}", 0.0)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = sorted(seconds for kind, seconds in outcomes if kind.startswith("http"))
    kinds: dict[str, int] = {}
    for kind, _ in outcomes:
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "answered": len(answered),
        "dropped": requests - len(answered),
        "max_s": round(answered[-1], 2) if answered else None,
        "outcomes": kinds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="bursts per backlog")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--new-backlog", type=int, default=None, help="default: the setting's")
    args = parser.parse_args()
    if not 1 <= args.requests <= 1000:
        raise SystemExit("--requests must be between 1 and 1000")

    sys.path.insert(0, str(ROOT))
    var_dir = Path(tempfile.mkdtemp(prefix="petri-serve-burst-"))
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
            env=_env(var_dir),
            check=True,
        )
        if args.new_backlog is None:
            os.environ.update(_env(var_dir))
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
            from django.conf import settings

            args.new_backlog = settings.PETRI_LISTEN_BACKLOG
        somaxconn = Path("/proc/sys/net/core/somaxconn").read_text().strip()
        results: dict[int, list[dict]] = {}
        for backlog in (OLD_BACKLOG, args.new_backlog):
            server, port = _serve(var_dir, backlog, var_dir / f"serve-{backlog}.log")
            try:
                results[backlog] = [
                    _burst(port, args.requests, args.timeout) for _ in range(args.rounds)
                ]
            finally:
                _stop(server)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    old, new = results[OLD_BACKLOG], results[args.new_backlog]
    print(
        f"{args.requests} concurrent POSTs per burst, {args.rounds} bursts per backlog, "
        f"timeout {args.timeout:g} s, somaxconn {somaxconn}"
    )
    print(f"{'':24}{'backlog ' + str(OLD_BACKLOG):>22}{'backlog ' + str(args.new_backlog):>22}")
    for round_index in range(args.rounds):
        cells = [
            f"{run[round_index]['answered']} / {run[round_index]['dropped']}" for run in (old, new)
        ]
        print(
            f"{'round ' + str(round_index + 1) + ' answered / dropped':24}"
            f"{cells[0]:>22}{cells[1]:>22}"
        )
    slowest = [max((r["max_s"] or 0) for r in run) for run in (old, new)]
    print(f"{'slowest answer (s)':24}{slowest[0]:>22}{slowest[1]:>22}")
    print(
        json.dumps(
            {
                "benchmark": "serve_burst",
                "requests": args.requests,
                "somaxconn": int(somaxconn),
                "old_backlog": OLD_BACKLOG,
                "new_backlog": args.new_backlog,
                "old": old,
                "new": new,
            }
        )
    )


if __name__ == "__main__":
    main()
