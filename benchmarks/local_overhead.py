#!/usr/bin/env python
"""Per-job overhead of the local backend: near-empty jobs through Petri against the floor.

Usage: .venv/bin/python benchmarks/local_overhead.py [--jobs 60] [--slots 2]
           [--algorithm sleep-and-score]

Serves Petri embedded for real (`manage.py serve` on SQLite in a temporary folder, the
scheduler in-process on the local backend with --slots slots), submits one experiment of
--jobs jobs over the API (sleep-and-score with duration 0: nothing but the entrypoint's own
start), and measures from the submit to the last job's end. Side by side, the floor: the same
entrypoint run directly --jobs times, --slots at a time, with the same parameters file. Prints
both and their ratio (the goal is at most 1.5x), the CPU time each side used (the direct runs;
every process of the server's meanwhile), and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5
PARAMS = {"x": 1.0, "y": -2.0, "steps": 1, "duration": 0.0, "fail": False, "mode": "fast"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_token(env: dict) -> str:
    code = (
        "from django.contrib.auth import get_user_model;"
        "from webapp.accounts.tokens import issue_token;"
        "u=get_user_model().objects.create_user('bench', password='bench-pass-123');"
        "print(issue_token(u, 'bench')[1])"
    )
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def call(url: str, token: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{url}: {exc.code} {exc.read().decode(errors='replace')}") from None


@contextmanager
def served(
    workdir: Path, slots: int, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, str, dict]]:
    """Petri served embedded for real on SQLite in ``workdir``: yields (its URL, a token, the
    environment its commands run with)."""
    port = free_port()
    env = {
        **os.environ,
        "PETRI_VAR_DIR": str(workdir / "var"),
        "DATABASE_URL": f"sqlite:///{workdir / 'petri.sqlite3'}",
        "PETRI_MAX_RUNNING": str(slots),
        "PETRI_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput")
    manage(env, "sync_algorithms")
    token = make_token(env)
    log = (workdir / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((workdir / "serve.log").read_text()) from None
                time.sleep(0.1)
        yield url, token, env
    finally:
        server.terminate()
        server.wait(30)
        log.close()


@contextmanager
def serving(workdir: Path, slots: int) -> Iterator[tuple[str, str]]:
    """``served``, yielding only (its URL, a token)."""
    with served(workdir, slots) as (url, token, _):
        yield url, token


# How often the script asks whether the experiment ended. The figure comes from the jobs'
# timestamps, so a slower poll loses no precision; a fast one would load the very server
# it measures (a GET of the experiment costs the server about 10 ms of CPU, a near-empty job
# about 20: at 0.25 s the polls took 4-6% of its time in a 60-job run).
POLL_SECONDS = 1.0


def run_experiment(url: str, token: str, spec: dict) -> float:
    """Submit ``spec``; seconds from the submit to the last job's end (all must succeed)."""
    started = time.monotonic()
    experiment = call(f"{url}/api/experiments/", token, spec)
    while True:
        body = call(f"{url}/api/experiments/{experiment['id']}/", token)
        if body["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(POLL_SECONDS)
    polled = time.monotonic() - started
    if body["status"] != "succeeded":
        raise SystemExit(f"the experiment ended {body['status']}: {body['counts']}")
    listed = call(f"{url}/api/jobs/?experiment={experiment['id']}&page_size=1000", token)
    while listed.get("next"):
        more = call(listed["next"], token)
        listed = {**more, "results": listed["results"] + more["results"]}
    last = max(datetime.fromisoformat(j["finished_at"]) for j in listed["results"])
    first = datetime.fromisoformat(body["created_at"])
    return min(polled, (last - first).total_seconds())


def descendants_cpu() -> float:
    """CPU seconds of this script's descendants still running (the server, its scheduler,
    runner host, zygotes and Celery worker), with what their reaped children used."""
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    ours, me = 0, os.getpid()
    for pid, ticks in used.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != me:
            ancestor = parents.get(ancestor)
        if ancestor == me:
            ours += ticks
    return ours / os.sysconf("SC_CLK_TCK")


def settle(quiet: float = 0.05, every: float = 0.5, limit: float = 60.0) -> None:
    """Wait until the just-started server is idle (its Celery worker still imports for a few
    seconds after the server answers), so the experiment is not measured against its start."""
    deadline = time.monotonic() + limit
    used = descendants_cpu()
    while time.monotonic() < deadline:
        time.sleep(every)
        used, last = descendants_cpu(), used
        if used - last < quiet:
            return


def children_cpu() -> float:
    """CPU seconds of this script's reaped children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def through_petri(algorithm: str, jobs: int, slots: int, workdir: Path) -> tuple[float, float]:
    """Seconds from the submit to the last job's end, and the CPU seconds Petri used meanwhile."""
    with serving(workdir, slots) as (url, token):
        params = {k: v for k, v in PARAMS.items() if algorithm == "sleep-and-score"}
        spec = {"algorithm": algorithm, "parameters": params, "repeats": jobs}
        settle()
        before = descendants_cpu()
        seconds = run_experiment(url, token, spec)
        return seconds, descendants_cpu() - before


def run_once(
    algorithm: str,
    params: dict,
    run_dir: Path,
    dataset: Path | None = None,
    truth: Path | None = None,
) -> dict:
    """The algorithm's entrypoint run directly once in ``run_dir``, as the local backend
    would run it; the metrics it wrote (empty when none)."""
    (run_dir / "out").mkdir(parents=True)
    (run_dir / "params.json").write_text(json.dumps(params))
    env = {
        **os.environ,
        "PETRI_PARAMS_FILE": str(run_dir / "params.json"),
        "PETRI_OUTPUT_DIR": str(run_dir / "out"),
        # As the local backend runs it: the algorithm kit beside the runner on the path.
        "PYTHONPATH": str(ROOT / "base-image" / "runner"),
    }
    if dataset is not None:
        env["PETRI_DATASET_FILE"] = str(dataset)
    if truth is not None:
        env["PETRI_TRUTH_FILE"] = str(truth)
    argv = [sys.executable, "main.py"]
    subprocess.run(
        argv, cwd=ROOT / "algorithms" / algorithm, env=env, check=True, capture_output=True
    )
    metrics = run_dir / "out" / "metrics.json"
    return json.loads(metrics.read_text()) if metrics.exists() else {}


def run_directly(
    algorithm: str,
    jobs: int,
    slots: int,
    workdir: Path,
    params: dict,
    dataset: Path | None = None,
    truth: Path | None = None,
) -> float:
    """The floor: the algorithm's entrypoint run ``jobs`` times, ``slots`` at a time."""

    def one(i: int) -> None:
        run_once(algorithm, params, workdir / f"direct-{i}", dataset, truth)

    started = time.monotonic()
    with ThreadPoolExecutor(slots) as pool:
        list(pool.map(one, range(jobs)))
    return time.monotonic() - started


def directly(algorithm: str, jobs: int, slots: int, workdir: Path) -> float:
    return run_directly(algorithm, jobs, slots, workdir, PARAMS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--algorithm", default="sleep-and-score")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="petri-overhead-") as tmp:
        workdir = Path(tmp)
        before = children_cpu()
        floor = directly(args.algorithm, args.jobs, args.slots, workdir)
        floor_cpu = children_cpu() - before
        petri, petri_cpu = through_petri(args.algorithm, args.jobs, args.slots, workdir)
    ratio = petri / floor
    load = os.getloadavg()[0]
    print(f"{'measure':<40}{'seconds':>10}  per job  (CPU per job)")
    for name, wall, cpu in (
        ("direct runs (the floor)", floor, floor_cpu),
        ("through Petri (local backend)", petri, petri_cpu),
    ):
        per_job, cpu_per_job = wall / args.jobs * 1000, cpu / args.jobs * 1000
        print(f"{name:<40}{wall:>10.2f}  {per_job:.0f} ms  ({cpu_per_job:.0f} ms)")
    print(f"{'ratio (goal <= 1.5x)':<40}{ratio:>10.2f}x {'met' if ratio <= GOAL else 'not met'}")
    # On a loaded machine the seconds swing with the neighbours; CPU time much less so.
    print(f"{'ratio of CPU time':<40}{petri_cpu / floor_cpu:>10.2f}x")
    print(f"{'load average (1 min)':<40}{load:>10.2f}")
    print(
        json.dumps(
            {
                "jobs": args.jobs,
                "slots": args.slots,
                "floor_s": round(floor, 3),
                "petri_s": round(petri, 3),
                "ratio": round(ratio, 3),
                "floor_cpu_s": round(floor_cpu, 3),
                "petri_cpu_s": round(petri_cpu, 3),
                "load": round(load, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
