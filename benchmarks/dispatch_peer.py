"""The dispatch benchmark's peer (procrastinate, in a virtualenv of its own) and its scratch
PostgreSQL databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def database_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def bench_name(base: str, suffix: str) -> str:
    """A scratch database named after DATABASE_URL's, so runs from two worktrees never collide."""
    return f"{urlparse(base).path.lstrip('/') or 'petri'}_{suffix}"


def recreate_database(base: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(database_url(base, "postgres"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    conn.close()


def bench_procrastinate(base_url: str, count: int) -> dict:
    """The same number of no-op tasks drained by procrastinate workers, in their own venv."""
    venv = ROOT / "var" / "bench-venv-procrastinate"
    python = venv / "bin" / "python"
    requirements = ROOT / "benchmarks" / "requirements-procrastinate.txt"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ],
            check=True,
        )
    best = None
    runs = {}
    scratch = bench_name(base_url, "bench_procrastinate")
    for concurrency in (1, 10):
        recreate_database(base_url, scratch)
        out = subprocess.run(
            [
                str(python),
                str(ROOT / "benchmarks" / "procrastinate_drain.py"),
                database_url(base_url, scratch),
                str(count),
                str(concurrency),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        run = json.loads(out.strip().splitlines()[-1])
        run["jobs_per_s"] = run["jobs"] / run["seconds"]
        runs[f"concurrency_{concurrency}"] = run
        if best is None or run["jobs_per_s"] > best["jobs_per_s"]:
            best = run
    recreate_database(base_url, scratch)
    return {**best, "runs": runs}
