#!/usr/bin/env python
"""Websocket fan-out: many clients watch one experiment while job events are published at once.

Serves Petri with daphne (`manage.py serve --no-scheduler`) on a throwaway SQLite database and the
Redis channel layer, connects --clients websocket clients to /ws/experiments/<id>/ from worker
processes, publishes --events job.updated events at once, and reports how many deliveries arrived
and how long after their publication (p50/p95/max). A frame may be a ``batch`` of messages and
tables: each job.updated in it, message or row, is one delivery, timed at the frame's arrival.
Target: every event delivered, p95 < 250 ms.

    .venv/bin/python benchmarks/ws_fanout.py                        # 500 clients, 1,000 events
    .venv/bin/python benchmarks/ws_fanout.py --via signal           # one announcement of 1,000 jobs
    .venv/bin/python benchmarks/ws_fanout.py --clients 50 --events 100 --redis redis://host:6379/3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from served import Served

TARGET_P95_MS = 250.0


# Worker: a process holding a share of the websocket clients ------------------------------------


class _Client:
    """One connection: frames are timestamped as they arrive and parsed once they stop coming.

    500 simulated clients share two cores with the server. Parsing a frame of 1,000 events
    (milliseconds in CPython) would delay the arrival of the next client's frame, which a
    browser on its own machine does not; so frames are parsed only after a quiet spell.
    """

    def __init__(self, ws, events: int) -> None:
        self.ws, self.events = ws, events
        self.received: dict[int, float] = {}  # job id -> when its first job.updated arrived
        self.unparsed: list[tuple[float, bytes]] = []
        self.frames = self.bytes = 0
        self.error: str | None = None

    async def receive(self, quiet: float) -> None:
        """Until no frame came for ``quiet`` seconds, or the connection closed."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                async with asyncio.timeout(quiet):
                    raw = await self.ws.recv(decode=False)
                self.unparsed.append((time.time(), raw))
                self.frames += 1
                self.bytes += len(raw)
        except TimeoutError:
            pass
        except ConnectionClosed as closed:
            self.error = repr(closed)

    def parse(self) -> None:
        for at, raw in self.unparsed:
            # A frame may be a batch, and a batch may hold tables: each job.updated counts,
            # at its frame's arrival.
            frame = json.loads(raw)
            for entry in frame["data"]["messages"] if frame["type"] == "batch" else [frame]:
                if entry["type"] != "job.updated":
                    continue
                if "rows" not in entry:
                    self.received.setdefault(entry["data"]["id"], at)
                    continue
                column = entry["columns"].index("id")
                for row in entry["rows"]:
                    self.received.setdefault(row[column], at)
        self.unparsed.clear()

    def done(self) -> bool:
        return self.error is not None or len(self.received) >= self.events

    def result(self) -> dict:
        result = {"received": self.received, "frames": self.frames, "bytes": self.bytes}
        return result if self.error is None else {**result, "error": self.error}


async def _receive_all(clients: list[_Client], timeout: float, quiet: float = 2.0) -> None:
    # One deadline for the whole run, not a silence limit: a busy server may leave a
    # connection quiet for long while it writes to the others, and that is latency, not loss.
    try:
        async with asyncio.timeout(timeout):
            waiting = clients
            while waiting:
                await asyncio.gather(*(client.receive(quiet) for client in waiting))
                for client in waiting:
                    client.parse()
                waiting = [client for client in waiting if not client.done()]
    except TimeoutError:
        pass  # whatever is missing by the deadline is lost
    for client in clients:
        client.parse()
        if client.error is None:
            await client.ws.close()


async def _worker(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(25)  # handshakes queue in daphne; past 5 s it drops them
    headers = {"Authorization": f"Token {args.token}"}

    async def open_one():
        async with gate:
            # No keepalive pings: a busy server answering late is measured, not disconnected.
            return await connect(
                args.url,
                additional_headers=headers,
                max_queue=None,
                ping_interval=None,
                open_timeout=120,
            )

    opened = await asyncio.gather(*(open_one() for _ in range(args.count)), return_exceptions=True)
    failed = [o for o in opened if isinstance(o, BaseException)]
    print("ready" if not failed else f"failed {len(failed)}: {failed[0]!r}", flush=True)
    clients = [o for o in opened if not isinstance(o, BaseException)]
    receivers = [_Client(ws, args.events) for ws in clients]
    await _receive_all(receivers, args.timeout)
    results = [receiver.result() for receiver in receivers]
    results += [{"error": repr(error), "received": {}, "frames": 0} for error in failed]
    Path(args.out).write_text(json.dumps(results))


# Coordinator ------------------------------------------------------------------------------------


def _seed(events: int) -> tuple[str, int, list[int]]:
    """A user with a token and one experiment of ``events`` running jobs."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from jobs.models import Algorithm, Job, JobStatus
    from jobs.services import submit_experiment
    from webapp.accounts.tokens import issue_token

    user = get_user_model().objects.create_user("bench", password="bench-pass")
    _, token = issue_token(user, "benchmark")
    algorithm = Algorithm.objects.create(
        name="bench",
        title="Benchmark",
        entrypoint=["true"],
        parameters=[{"name": "i", "type": "int", "default": 0, "minimum": 0, "maximum": 10**7}],
    )
    experiment = submit_experiment(
        owner=user, algorithm=algorithm, parameters={"i": list(range(events))}
    )
    jobs = Job.objects.filter(experiment=experiment)
    # As a running sweep looks: started, half done, no failure yet.
    jobs.update(status=JobStatus.RUNNING, attempt=1, progress=0.5, started_at=timezone.now())
    return token, experiment.pk, list(jobs.order_by("id").values_list("id", flat=True))


def _publish(via: str, experiment_id: int, job_ids: list[int]) -> dict[int, float]:
    """Publish one event per job, at once; returns when each was published."""
    from jobs.models import Job
    from jobs.signals import jobs_changed
    from webapp.realtime.events import JOB_FIELDS, job_message
    from webapp.realtime.hub import broadcast, experiment_group, user_group

    published: dict[int, float] = {}
    if via == "signal":
        # As a claim of that many jobs announces it: the receiver re-reads them all.
        started = time.time()
        jobs_changed.send(None, job_ids=job_ids, experiment_ids=[experiment_id])
        published = dict.fromkeys(job_ids, started)
    else:
        rows = list(Job.objects.filter(pk__in=job_ids).order_by("id").values(*JOB_FIELDS))
        groups = (experiment_group(experiment_id), user_group(rows[0]["owner_id"]))
        messages = [job_message(row) for row in rows]
        for row, message in zip(rows, messages, strict=True):
            published[row["id"]] = time.time()
            broadcast(groups, [message])
    return published


def _percentile(values: list[float], fraction: float) -> float:
    index = min(len(values) - 1, max(0, round(fraction * len(values)) - 1))
    return values[index]


def _report(args, published, results, publish_seconds) -> dict:
    latencies = sorted(
        (at - published[int(job)]) * 1000
        for client in results
        for job, at in client["received"].items()
        if int(job) in published
    )
    expected = args.clients * args.events
    errors = [client["error"] for client in results if "error" in client]
    failed = len(errors)
    summary = {
        "benchmark": "ws_fanout",
        "via": args.via,
        "clients": args.clients,
        "clients_failed": failed,
        "events": args.events,
        "expected": expected,
        "delivered": len(latencies),
        "frames": sum(client["frames"] for client in results),
        "kb_per_client": round(sum(c.get("bytes", 0) for c in results) / len(results) / 1000, 1),
        "publish_ms": round(publish_seconds * 1000, 1),
        "p50_ms": round(_percentile(latencies, 0.50), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }
    summary["target_met"] = bool(
        latencies and summary["delivered"] == expected and summary["p95_ms"] < TARGET_P95_MS
    )
    rows = [
        ("clients (failed)", f"{args.clients} ({failed})"),
        ("events published", f"{args.events} via {args.via}, in {summary['publish_ms']} ms"),
        ("deliveries", f"{len(latencies)} of {expected} ({100 * len(latencies) / expected:.1f}%)"),
        ("frames received", f"{summary['frames']} (one per connection flush; batches unwrapped)"),
        ("received per client", f"{summary['kb_per_client']} kB"),
        ("latency p50", f"{summary['p50_ms']} ms"),
        ("latency p95", f"{summary['p95_ms']} ms (target < {TARGET_P95_MS:.0f} ms)"),
        ("latency max", f"{summary['max_ms']} ms"),
        ("target met", "yes" if summary["target_met"] else "no"),
    ]
    if errors:
        rows.append(("first client error", errors[0][:200]))
    width = max(len(name) for name, _ in rows)
    print(f"\nws_fanout: {args.clients} clients on one experiment, Redis channel layer")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(json.dumps(summary))
    return summary


def _coordinate(args: argparse.Namespace) -> int:
    kept = {"keep": args.keep, "note": " (serve.log, worker-*.json)"}
    with Served("ws-fanout", redis=args.redis, database_url=args.database_url, **kept) as served:
        served.setup_django()
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        async_to_sync(get_channel_layer().flush)()  # leftovers of an earlier run in this db
        token, experiment_id, job_ids = _seed(args.events)
        base = served.start()

        url = f"ws{base.removeprefix('http')}/ws/experiments/{experiment_id}/"
        shares = [
            args.clients // args.workers + (i < args.clients % args.workers)
            for i in range(args.workers)
        ]
        outputs, workers = [], []
        for index, count in enumerate(s for s in shares if s):
            output = served.workdir / f"worker-{index}.json"
            outputs.append(output)
            command = [sys.executable, __file__, "--worker", "--url", url, "--token", token]
            command += ["--count", str(count), "--events", str(args.events), "--out", str(output)]
            command += ["--timeout", str(args.timeout)]
            workers.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        served.processes += workers
        for worker in workers:
            line = worker.stdout.readline().strip()
            if line != "ready":
                print(f"a worker could not connect all its clients: {line}", file=sys.stderr)

        started = time.monotonic()
        published = _publish(args.via, experiment_id, job_ids)
        publish_seconds = time.monotonic() - started
        for worker in workers:
            worker.wait(timeout=args.timeout + 30)
        results = [client for output in outputs for client in json.loads(output.read_text())]
        summary = _report(args, published, results, publish_seconds)
        return 0 if summary["delivered"] == summary["expected"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument(
        "--via",
        choices=("broadcast", "signal"),
        default="broadcast",
        help="one broadcast() per event, or one jobs_changed announcement of all the jobs",
    )
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"))
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for all")
    parser.add_argument("--keep", action="store_true", help="keep the server log and results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args))
        return 0
    return _coordinate(args)


if __name__ == "__main__":
    sys.exit(main())
