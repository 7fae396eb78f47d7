#!/usr/bin/env python
"""Dispatch throughput and latency of Petri's queue, side by side with its peers.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/petri .venv/bin/python benchmarks/dispatch.py
Creates (and drops) its own databases next to the one DATABASE_URL names; prints a table and
one JSON line. Add --profile to print what bounds Petri's dispatch rate.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path

from cpu_clock import CpuClock, per_job_us
from dispatch_peer import bench_name, bench_procrastinate, database_url, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
JOBS = 20_000


def bench_raw_sql(count: int) -> dict:
    """The physical limit: batched UPDATE ... SKIP LOCKED RETURNING on an equivalent table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE raw_queue (id bigserial PRIMARY KEY, status text NOT NULL,
                priority int NOT NULL, owner_id int NOT NULL, not_before timestamptz NOT NULL,
                claimed_at timestamptz, scheduler text);
            CREATE INDEX raw_waiting ON raw_queue (owner_id, priority DESC, id)
                WHERE status = 'waiting';""")
        cursor.execute(
            """INSERT INTO raw_queue (status, priority, owner_id, not_before)
                          SELECT 'waiting', 0, g %% 2, now() FROM generate_series(1, %s) g""",
            [count],
        )
        cursor.execute("ANALYZE raw_queue")
        clock = CpuClock.start(connection)
        began, taken = time.perf_counter(), 0
        while True:
            cursor.execute("""
                UPDATE raw_queue SET status = 'dispatching', claimed_at = now(), scheduler = 'raw'
                WHERE id IN (SELECT id FROM raw_queue WHERE status = 'waiting'
                             AND not_before <= now() ORDER BY priority DESC, id
                             LIMIT 500 FOR UPDATE SKIP LOCKED)
                RETURNING id""")
            rows = cursor.fetchall()
            if not rows:
                break
            taken += len(rows)
        seconds = time.perf_counter() - began
    cpu = clock.stop()
    return {"jobs": taken, "seconds": seconds, "jobs_per_s": taken / seconds, "cpu": cpu}


def make_users_and_catalog():
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from jobs.catalog import sync_algorithms
    from jobs.models import Quota

    sync_algorithms(settings.PETRI_ALGORITHMS_DIR)
    users = []
    for name in ("ada", "grace"):
        user, _ = get_user_model().objects.get_or_create(username=name)
        Quota.objects.update_or_create(user=user, defaults={"max_running": 10_000_000})
        users.append(user)
    return users


def queue_jobs(users, count: int) -> None:
    from jobs.models import Algorithm
    from jobs.services import submit_experiment

    algorithm = Algorithm.objects.get(name="sleep-and-score")
    per_user = count // len(users)
    for user in users:
        submit_experiment(
            owner=user,
            algorithm=algorithm,
            repeats=per_user // 1000,
            parameters={"steps": {"start": 1, "stop": 1000, "step": 1}},
        )


def bench_petri(users, count: int, profile: bool) -> dict:
    """One scheduler, noop backend, fair share and per-user limits on."""
    from django.db import connection

    from jobs.models import Job
    from scheduler.backends.noop import NoopBackend
    from scheduler.loop import Scheduler

    Job.objects.all().delete()
    queue_jobs(users, count)
    scheduler = Scheduler(NoopBackend(), identity="bench", reconcile_interval=3600)
    profiler = cProfile.Profile() if profile else None
    statements, ticks = [0], 1

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    clock = CpuClock.start(connection)
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    with connection.execute_wrapper(count):
        while scheduler.tick():
            ticks += 1
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - began
    cpu = clock.stop()
    dispatched = Job.objects.filter(status="pending").count()
    if profiler:
        print("\nWhat bounds Petri's dispatch (cProfile, cumulative):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)
    return {
        "jobs": dispatched,
        "seconds": seconds,
        "jobs_per_s": dispatched / seconds,
        "cpu": cpu,
        "statements_per_tick": statements[0] / ticks,  # the last, empty tick included
    }


def bench_latency(users, samples: int) -> dict:
    """Enqueue-to-dispatch with an idle scheduler that only NOTIFY can wake in time."""
    from django.db import connections

    from jobs.models import Algorithm, Job
    from jobs.services import handle_for, submit_experiment
    from scheduler.backends.noop import NoopBackend
    from scheduler.loop import Scheduler, run_forever
    from scheduler.wakeup import Waker

    Job.objects.all().delete()
    seen: dict[str, float] = {}
    arrived = threading.Condition()

    class TimingBackend(NoopBackend):
        def submit(self, spec):
            super().submit(spec)
            with arrived:
                seen[spec.handle] = time.perf_counter()
                arrived.notify_all()

    stop, waker = threading.Event(), Waker()
    scheduler = Scheduler(TimingBackend(), identity="latency", reconcile_interval=3600)

    def loop():
        try:
            run_forever(scheduler, stop, waker, poll_interval=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop)
    thread.start()
    algorithm = Algorithm.objects.get(name="sleep-and-score")
    latencies = []
    try:
        time.sleep(0.5)  # let the scheduler go idle inside its wait
        for _ in range(samples):
            experiment = submit_experiment(owner=users[0], algorithm=algorithm)
            committed = time.perf_counter()
            handle = handle_for(experiment.jobs.get().pk, 1)
            with arrived:
                if not arrived.wait_for(lambda: handle in seen, timeout=10):  # noqa: B023
                    raise RuntimeError("a job was not dispatched within 10 s")
            latencies.append((seen[handle] - committed) * 1000)
            time.sleep(0.02)  # the next job arrives at an idle scheduler
    finally:
        stop.set()
        waker.wake()
        thread.join()
    latencies.sort()
    return {
        "samples": samples,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
    }


def _median_claim_ms(repeats: int = 15) -> float:
    from django.db import transaction

    from jobs.services import claim_waiting_jobs

    times = []
    for _ in range(repeats):
        with transaction.atomic():
            began = time.perf_counter()
            claim_waiting_jobs(scheduler="bench", backend="noop", limit=500)
            times.append((time.perf_counter() - began) * 1000)
            transaction.set_rollback(True)
    return statistics.median(times)


def bench_claim_history(users) -> dict:
    """Claim latency (batch of 500 from 5,000 waiting) with no history and a million finished."""
    from django.db import connection

    from jobs.models import Experiment, Job

    Job.objects.all().delete()
    queue_jobs(users[:1], 5_000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE jobs_job")  # both measurements on fresh statistics
    empty = _median_claim_ms()
    experiment = Experiment.objects.first()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO jobs_job (experiment_id, owner_id, priority, index, repeat, parameters,
                   status, attempt, max_attempts, not_before, created_at, finished_at,
                   scheduler, backend, handle, runner_token_hash, failure_reason, error,
                   wait_reason)
               SELECT %s, %s, 0, g, 0, '{}', 'succeeded', 1, 3, now(), now(), now(),
                   'old', 'noop', 'petri-old', '', '', '', ''
               FROM generate_series(1, 1000000) g""",
            [experiment.pk, users[0].pk],
        )
        cursor.execute("VACUUM ANALYZE jobs_job")
    full = _median_claim_ms()
    with connection.cursor() as cursor:
        # The ORM's delete would load a million rows to cascade; these have nothing to cascade.
        cursor.execute("DELETE FROM jobs_job WHERE status = 'succeeded'")
    return {"empty_ms": empty, "million_finished_ms": full, "ratio": full / empty}


def bench_submit(users) -> dict:
    """A 10,000-combination sweep through the API (HTTP handling in-process)."""
    from rest_framework.test import APIClient

    from jobs.models import Job
    from webapp.accounts.tokens import issue_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(users[0], 'bench')[1]}")
    body = {
        "algorithm": "sleep-and-score",
        "parameters": {
            "steps": {"start": 1, "stop": 1000, "step": 1},
            "x": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        },
    }
    times = []
    for _ in range(3):
        Job.objects.all().delete()
        began = time.perf_counter()
        response = client.post("/api/experiments/", body, format="json")
        times.append(time.perf_counter() - began)
        assert response.status_code == 201 and response.json()["job_count"] == 10_000
    return {"jobs": 10_000, "seconds": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--skip-procrastinate",
        action="store_true",
        help="leave out the peer (its 20,000 tasks take many minutes on a loaded machine)",
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks/dispatch.py needs DATABASE_URL=postgres://...")
    scratch = bench_name(base, "bench")
    recreate_database(base, scratch)
    os.environ["DATABASE_URL"] = database_url(base, scratch)
    os.environ.setdefault("PETRI_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    users = make_users_and_catalog()
    measures = {
        "raw_sql_limit": lambda: bench_raw_sql(args.jobs),
        "petri": lambda: bench_petri(users, args.jobs, args.profile),
        "procrastinate": lambda: (
            None if args.skip_procrastinate else bench_procrastinate(base, args.jobs)
        ),
        "latency": lambda: bench_latency(users, 200),
        "claim_history": lambda: bench_claim_history(users),
        "submit_10k": lambda: bench_submit(users),
    }
    results = {}
    for name, measure in measures.items():
        results[name] = measure()
        # As it goes, so a run cut short on a loaded machine still shows what it measured.
        print(
            f"{name}: {json.dumps(results[name])} (load {os.getloadavg()[0]:.1f})", file=sys.stderr
        )
    petri = results["petri"]["jobs_per_s"]
    peer = results["procrastinate"]
    results["targets"] = {
        "petri_vs_procrastinate": petri / peer["jobs_per_s"] if peer else None,
        "petri_vs_raw": petri / results["raw_sql_limit"]["jobs_per_s"],
    }
    cpu = per_job_us(results["petri"]), per_job_us(results["raw_sql_limit"])
    results["targets"]["petri_vs_raw_cpu"] = sum(cpu[1]) / sum(cpu[0]) if all(cpu) else None
    print_table(results)
    print(json.dumps(results))
    from django.db import connections

    connections.close_all()
    recreate_database(base, scratch)


def _cpu_row(r: dict) -> tuple[str, str, str]:
    petri, raw = per_job_us(r["petri"]), per_job_us(r["raw_sql_limit"])
    if petri is None or raw is None:
        return ("CPU a job (py+pg)", "unmeasured", "Postgres is not on this machine")
    return (
        "CPU a job (py+pg)",
        f"{sum(petri):.0f} us",
        f"raw {sum(raw):.0f} us: {sum(raw) / sum(petri):.2f} of raw (py {petri[0]:.0f} + pg "
        f"{petri[1]:.0f}); {r['petri']['statements_per_tick']:.1f} statements a tick",
    )


def print_table(r: dict) -> None:
    t = r["targets"]
    rows = [
        ("raw_sql_limit", f"{r['raw_sql_limit']['jobs_per_s']:,.0f} jobs/s", "physical limit"),
        (
            "petri (1 scheduler, noop)",
            f"{r['petri']['jobs_per_s']:,.0f} jobs/s",
            f">= 1/5 raw: {t['petri_vs_raw']:.2f} of raw",
        ),
        _cpu_row(r),
        (
            "procrastinate (best worker)",
            f"{r['procrastinate']['jobs_per_s']:,.0f} jobs/s" if r["procrastinate"] else "skipped",
            f"petri >= 30x: {t['petri_vs_procrastinate']:.1f}x" if r["procrastinate"] else "",
        ),
        ("latency p50 (NOTIFY)", f"{r['latency']['p50_ms']:.1f} ms", "< 20 ms"),
        ("latency p99 (NOTIFY)", f"{r['latency']['p99_ms']:.1f} ms", "< 100 ms"),
        ("claim, no history", f"{r['claim_history']['empty_ms']:.1f} ms", ""),
        (
            "claim, 1M finished rows",
            f"{r['claim_history']['million_finished_ms']:.1f} ms",
            f"<= 1.5x empty: {r['claim_history']['ratio']:.2f}x",
        ),
        ("submit 10,000-job sweep (API)", f"{r['submit_10k']['seconds']:.2f} s", "< 1 s"),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'measure':<{width}}  {'figure':>16}  target")
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure:>16}  {target}")


if __name__ == "__main__":
    main()
