#!/usr/bin/env python
"""Kubernetes API calls per dispatched job and per reconcile tick, on a real cluster.

Usage: KUBECONFIG=<the kit's state>/kubeconfig .venv/bin/python benchmarks/kube_api_calls.py
       [--jobs 100] [--history 200]
Needs a running cluster (the kit: ../shared/kube, see docs/kubernetes.md). Works in a namespace
of its own (deleted at the end) and its own SQLite database; runner pods get a node selector no
node matches, so nothing runs. "History" is Petri Jobs in the namespace that the database does
not run (what finished Jobs are until their TTL): reconcile must not pay for them. Prints each
figure next to its floor and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(var: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{var}/petri.sqlite3"
    os.environ["PETRI_VAR_DIR"] = str(var)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("sync_algorithms", verbosity=0)


def wait_for(condition, timeout: float, what: str):
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        pause.wait(0.2)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--history", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("KUBECONFIG"):
        sys.exit("set KUBECONFIG to a running cluster's (the kit's state/kubeconfig)")
    setup_django(Path(tempfile.mkdtemp(prefix="petri-kube-bench-")))

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from kubernetes import client as k8s

    from jobs.models import Algorithm, Job, JobStatus
    from jobs.services import installation_id, submit_experiment
    from scheduler.backends.base import JobSpec
    from scheduler.backends.kubernetes import JobOptions, KubernetesBackend, LimitedApiClient
    from scheduler.backends.kubernetes.client import TokenBucket, load_configuration
    from scheduler.backends.kubernetes.manifests import job_manifest
    from scheduler.loop import Scheduler

    namespace = f"petri-bench-{secrets.token_hex(3)}"
    api = LimitedApiClient(load_configuration(), TokenBucket(1000, 1000))
    core, batch = k8s.CoreV1Api(api), k8s.BatchV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    options = JobOptions(
        runner_image="localhost/petri-runner:0.1.0", node_selector={"petri.dev/pool": "parked"}
    )
    backend = KubernetesBackend(
        api, namespace=namespace, options=options, installation=installation_id
    )
    try:
        installation = installation_id()
        for n in range(args.history):
            old = JobSpec(
                job_id=900_000 + n,
                attempt=1,
                handle=f"petri-{installation}-{900_000 + n}-1",
                token="x",
                api_url="http://10.244.0.1:9",
                algorithm="x",
                installation=installation,
            )
            batch.create_namespaced_job(namespace, job_manifest(old, options))
        user = get_user_model().objects.create(username="bench")
        submit_experiment(
            owner=user,
            algorithm=Algorithm.objects.get(name="sleep-and-score"),
            parameters={"x": list(range(-10, 10)), "duration": 0},
            repeats=max(1, args.jobs // 20),
            resources={"cpu": 0.1, "memory": "64Mi"},
        )
        jobs = Job.objects.count()
        scheduler = Scheduler(
            backend, identity="bench", api_url="http://10.244.0.1:9", reconcile_interval=3600
        )
        api.calls.clear()
        began = time.perf_counter()
        wait_for(
            lambda: (
                scheduler.dispatch(timezone.now()),
                not Job.objects.filter(
                    status__in=(JobStatus.WAITING, JobStatus.DISPATCHING)
                ).exists(),
            )[1],
            300,
            "dispatch",
        )
        dispatch_seconds = time.perf_counter() - began
        dispatch_calls = sum(api.calls.values())
        ticks = 5
        read: list[int] = []
        listing = backend._list
        backend._list = lambda *a, **k: (items := listing(*a, **k), read.append(len(items)))[0]
        api.calls.clear()
        for _ in range(ticks):
            scheduler.reconcile(timezone.now())
        tick_calls = sum(api.calls.values()) / ticks
        objects_per_tick = sum(read) / ticks
        every_petri_job = len(listing(batch.list_namespaced_job))
        by_method = dict(api.calls)
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")
        api.close()

    per_job = dispatch_calls / jobs
    rows = [
        ("API calls per dispatched job", f"{per_job:.2f}", "2 (create Job + Secret)"),
        (
            f"API calls per reconcile tick ({jobs} active, {args.history} history)",
            f"{tick_calls:.2f}",
            "1 (2 while pods are not running)",
        ),
        (
            "objects read per reconcile tick (Jobs + pods)",
            f"{objects_per_tick:.0f}",
            f"{2 * jobs} (a LIST of every Petri Job, as before, reads {every_petri_job} Jobs)",
        ),
        ("dispatch rate (jobs/s)", f"{jobs / dispatch_seconds:.1f}", "-"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>9}  floor")
    for name, value, floor in rows:
        print(f"{name:<{width}}  {value:>9}  {floor}")
    print(
        json.dumps(
            {
                "jobs": jobs,
                "history": args.history,
                "calls_per_job": per_job,
                "calls_per_tick": tick_calls,
                "tick_calls_by_method": by_method,
            }
        )
    )


if __name__ == "__main__":
    main()
