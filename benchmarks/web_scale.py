#!/usr/bin/env python
"""Big sweeps in the browser: the experiment page of a running and of a finished experiment.

Inserts a running experiment of --running jobs and a finished one of --finished jobs straight
into a throwaway database (bulk INSERT), serves Petri (`manage.py serve --no-scheduler`) with the
Redis channel layer, and opens each experiment page in Debian's chromium (Playwright, headless).
For each it prints the time from navigation to the first table rows, the API requests and bytes
of the load, and, for the running one, frames per second while job updates are published at
--rate a second (a share of them for rows on the page, the rest for jobs it does not show),
with the requests those updates caused. Targets (issue 15): rows <= 2 s (running 10,000),
<= 3 s (finished 100,000), >= 30 fps under updates.

    .venv/bin/python benchmarks/web_scale.py
    .venv/bin/python benchmarks/web_scale.py --running 2000 --finished 10000 --rate 100
    .venv/bin/python benchmarks/web_scale.py --database-url postgres://postgres@127.0.0.1:5432/petri_x
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import timedelta

from served import Served

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
    " --disable-sync --no-first-run"
).split()
TARGET_RUNNING_S = 2.0
TARGET_FINISHED_S = 3.0
TARGET_FPS = 30.0
BATCH = 5000

# Records when the first job row appears, measured from navigation start (performance.now()).
FIRST_ROWS_SCRIPT = """
(() => {
  const seen = () => document.querySelector('#jobs tbody tr');
  const observer = new MutationObserver(() => {
    if (window.__firstRows === undefined && seen()) {
      window.__firstRows = performance.now();
      observer.disconnect();
    }
  });
  document.addEventListener('DOMContentLoaded', () =>
    observer.observe(document.body, { childList: true, subtree: true }));
})();
"""

FPS_SCRIPT = """
(ms) => new Promise((resolve) => {
  let frames = 0, worst = 0, last = performance.now();
  const start = last;
  const tick = (now) => {
    frames += 1;
    worst = Math.max(worst, now - last);
    last = now;
    if (now - start < ms) requestAnimationFrame(tick);
    else resolve({ fps: (frames * 1000) / (now - start), worst_frame_ms: worst });
  };
  requestAnimationFrame(tick);
})
"""


def _insert_experiment(owner, algorithm, jobs: int, running: bool):
    """One experiment of `jobs` jobs over a 2-parameter grid, inserted in batches."""
    from django.utils import timezone

    from jobs.models import Experiment, Job, JobStatus, Result

    side = max(1, int(jobs**0.5))
    alphas = [round(0.001 * (i + 1), 3) for i in range(side)]
    depths = list(range((jobs + side - 1) // side))
    experiment = Experiment.objects.create(
        owner=owner,
        algorithm=algorithm,
        name=f"{'running' if running else 'finished'} {jobs:,}",
        parameters={"alpha": alphas, "depth": depths},
        job_count=jobs,
        objective="f1",
        objective_order="max",
    )
    now = timezone.now()
    rng = random.Random(jobs)
    for start in range(0, jobs, BATCH):
        batch, results = [], []
        for index in range(start, min(jobs, start + BATCH)):
            parameters = {"alpha": alphas[index % side], "depth": depths[index // side]}
            # Running: a sweep a third of the way through (done, running, waiting).
            if not running:
                status = JobStatus.FAILED if index % 97 == 0 else JobStatus.SUCCEEDED
            elif index / jobs < 0.3:
                status = JobStatus.SUCCEEDED
            else:
                status = JobStatus.RUNNING if index / jobs < 0.32 else JobStatus.WAITING
            started = now - timedelta(seconds=rng.uniform(5, 600)) if status != "waiting" else None
            finished = (
                started + timedelta(seconds=rng.uniform(1, 5))
                if status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
                else None
            )
            batch.append(
                Job(
                    experiment=experiment,
                    owner=owner,
                    index=index,
                    parameters=parameters,
                    status=status,
                    progress=1.0 if finished else (0.4 if started else None),
                    started_at=started,
                    finished_at=finished,
                    failure_reason="algorithm_error" if status == JobStatus.FAILED else "",
                )
            )
        Job.objects.bulk_create(batch)
        inserted = Job.objects.filter(experiment=experiment, index__gte=start).order_by("index")
        for job in inserted.filter(status=JobStatus.SUCCEEDED).only("id", "index", "parameters"):
            metrics = {"f1": round(rng.random(), 4), "shd": rng.randint(0, 40)}
            same = {"experiment": experiment, "attempt": 1, "status": JobStatus.SUCCEEDED}
            results.append(
                Result(job=job, parameters=job.parameters, index=job.index, metrics=metrics, **same)
            )
        Result.objects.bulk_create(results)
    return experiment


def _seed(running: int, finished: int) -> tuple[int, int, int]:
    from django.contrib.auth import get_user_model

    from jobs.models import Algorithm

    user = get_user_model().objects.create_user("bench", password="bench-pass")
    algorithm = Algorithm.objects.create(
        name="bench",
        title="Benchmark",
        entrypoint=["true"],
        parameters=[
            {"name": "alpha", "type": "float", "default": 0.01},
            {"name": "depth", "type": "int", "default": 1},
        ],
    )
    live = _insert_experiment(user, algorithm, running, running=True)
    done = _insert_experiment(user, algorithm, finished, running=False)
    return user.pk, live.pk, done.pk


def _session_cookie(user_id: int) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client.cookies["sessionid"].value


class Publisher(threading.Thread):
    """job.updated at `rate` a second (one in ten for a row on the first page), and an
    experiment.updated every 250 ms, as the scheduler's announcements would send them."""

    def __init__(self, experiment_id: int, owner_id: int, job_ids: list[int], rate: float):
        super().__init__(daemon=True)
        self.experiment_id, self.owner_id = experiment_id, owner_id
        self.job_ids, self.rate = job_ids, rate
        self.stopping = threading.Event()
        self.sent = 0

    def run(self) -> None:
        from webapp.realtime.hub import broadcast, experiment_group, user_group

        groups = (experiment_group(self.experiment_id), user_group(self.owner_id))
        rng = random.Random(7)
        tick = 0.25
        per_tick = max(1, round(self.rate * tick))
        counts = {"waiting": 6000, "running": 200, "succeeded": 3800}
        shown, hidden = self.job_ids[:100], self.job_ids[100:]
        while not self.stopping.wait(tick):
            events = []
            for i in range(per_tick):
                job_id = rng.choice(shown) if i % 10 == 0 else rng.choice(hidden)
                done = rng.random() < 0.3
                events.append(
                    {
                        "type": "job.updated",
                        "data": {
                            "id": job_id,
                            "experiment": self.experiment_id,
                            "status": "succeeded" if done else "running",
                            "attempt": 1,
                            "progress": 1.0 if done else round(rng.random(), 2),
                            "failure_reason": "",
                            "started_at": "2026-01-01T00:00:00Z",
                            "finished_at": "2026-01-01T00:01:00Z" if done else None,
                            "metrics": {"f1": round(rng.random(), 4), "shd": 3} if done else None,
                        },
                    }
                )
            counts["succeeded"] += per_tick // 3
            events.append(
                {
                    "type": "experiment.updated",
                    "data": {
                        "id": self.experiment_id,
                        "counts": dict(counts),
                        "status": "running",
                        "progress": 0.4,
                        "job_count": sum(counts.values()),
                    },
                }
            )
            broadcast(groups, events)
            self.sent += per_tick


def _busy(cdp) -> dict[str, float]:
    """Seconds chromium's main thread spent so far in script, layout, style and tasks."""
    names = {"ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration"}
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: m["value"] for m in metrics if m["name"] in names}


def _measure(
    browser,
    base: str,
    cookie: str,
    path: str,
    updates: Publisher | None,
    seconds: float,
    verbose: bool,
):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=base)
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
    context.add_init_script(FIRST_ROWS_SCRIPT)
    page = context.new_page()
    traffic = {"requests": 0, "bytes": 0}

    def finished(request) -> None:
        if verbose:
            timing = request.timing
            print(
                f"    {request.url.removeprefix(base)[:90]:<90} "
                f"start {timing['startTime'] / 1000 % 100:7.3f} s, {timing['responseEnd']:.0f} ms"
            )
        if "/api/" in request.url:
            traffic["requests"] += 1
            try:
                traffic["bytes"] += request.sizes()["responseBodySize"]
            except Exception:  # a request the page aborted has no sizes
                pass

    page.on("requestfinished", finished)
    page.goto(path, wait_until="commit")
    page.wait_for_function("window.__firstRows !== undefined", timeout=120_000)
    first_rows_ms = page.evaluate("window.__firstRows")
    # The load is over once the page's reads (rows, counts, columns, ranking) have settled.
    page.wait_for_load_state("networkidle")
    load = dict(traffic)
    result = {"first_rows_s": first_rows_ms / 1000, "load": load}
    if updates is not None:
        # The same page without updates: what this machine's chromium manages at all.
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        start = _busy(cdp)
        result["idle_fps"] = page.evaluate(FPS_SCRIPT, 2000)["fps"]
        end = _busy(cdp)
        idle_ms = (end["TaskDuration"] - start["TaskDuration"]) * 1000
        result["idle_task_ms_per_s"] = round(idle_ms / 2, 1)
        before = dict(traffic)
        updates.start()
        page.wait_for_timeout(1000)  # updates flowing before frames are counted
        start = _busy(cdp)
        result.update(page.evaluate(FPS_SCRIPT, seconds * 1000))
        end = _busy(cdp)
        result["busy_ms_per_s"] = {
            key: round((end[key] - start[key]) * 1000 / seconds, 1) for key in start
        }
        updates.stopping.set()
        updates.join()
        result["updates_sent"] = updates.sent
        result["requests_during_updates"] = traffic["requests"] - before["requests"]
        result["rows"] = page.locator("#jobs tbody tr").count()
    context.close()
    return result


def _report(args, running: dict, finished: dict) -> bool:
    rows = [
        (
            f"running {args.running:,}: time to first rows",
            f"{running['first_rows_s']:.2f} s",
            f"<= {TARGET_RUNNING_S:.0f} s",
        ),
        (
            "  API requests / bytes of the load",
            f"{running['load']['requests']} / {running['load']['bytes'] / 1000:.1f} kB",
            "a page of rows, never every job",
        ),
        (
            f"  frames per second, {args.rate:.0f} updates/s",
            f"{running['fps']:.1f} fps (worst frame {running['worst_frame_ms']:.0f} ms)",
            f">= {TARGET_FPS:.0f} fps",
        ),
        (
            "  frames per second, no updates",
            f"{running['idle_fps']:.1f} fps (main thread busy "
            f"{running['idle_task_ms_per_s']:.0f} ms/s)",
            "this machine's ceiling",
        ),
        (
            "  main thread busy per second",
            ", ".join(
                f"{key.removesuffix('Duration').lower()} {value:.0f} ms"
                for key, value in running["busy_ms_per_s"].items()
            ),
            "",
        ),
        (
            "  requests caused by updates",
            f"{running['requests_during_updates']} for {running['updates_sent']} updates",
            "no full re-read",
        ),
        (
            f"finished {args.finished:,}: time to first rows",
            f"{finished['first_rows_s']:.2f} s",
            f"<= {TARGET_FINISHED_S:.0f} s",
        ),
        (
            "  API requests / bytes of the load",
            f"{finished['load']['requests']} / {finished['load']['bytes'] / 1000:.1f} kB",
            "a page of rows, never every job",
        ),
    ]
    met = (
        running["first_rows_s"] <= TARGET_RUNNING_S
        and finished["first_rows_s"] <= TARGET_FINISHED_S
        and running["fps"] >= TARGET_FPS
    )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\nweb_scale: experiment pages in chromium ({args.database})")
    print(f"  {'':<{width}}  {'measured':<{value_width}}  target")
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:<{value_width}}  {target}")
    print(f"  {'targets met':<{width}}  {'yes' if met else 'no'}")
    summary = {"benchmark": "web_scale", "running": running, "finished": finished, "met": met}
    print(json.dumps(summary))
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--running", type=int, default=10_000, help="jobs of the running one")
    parser.add_argument("--finished", type=int, default=100_000, help="jobs of the finished one")
    parser.add_argument("--rate", type=float, default=200.0, help="job updates a second")
    parser.add_argument("--seconds", type=float, default=5.0, help="frames counted for")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    parser.add_argument("--verbose", action="store_true", help="list each request's timing")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and server log")
    args = parser.parse_args()

    args.database = "Postgres" if args.database_url else "SQLite"
    database = {"redis": args.redis, "database_url": args.database_url}
    with Served("web-scale", keep=args.keep, **database) as served:
        served.setup_django()
        started = time.monotonic()
        owner_id, running_id, finished_id = _seed(args.running, args.finished)
        print(
            f"inserted {args.running + args.finished:,} jobs in {time.monotonic() - started:.1f} s"
        )
        cookie = _session_cookie(owner_id)
        from jobs.models import Job

        job_ids = list(
            Job.objects.filter(experiment_id=running_id).order_by("id").values_list("id", flat=True)
        )
        base = served.start()

        from playwright.sync_api import sync_playwright

        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the publisher thread reads settings
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            publisher = Publisher(running_id, owner_id, job_ids, args.rate)
            page = f"/experiments/{running_id}"
            running = _measure(browser, base, cookie, page, publisher, args.seconds, args.verbose)
            page = f"/experiments/{finished_id}"
            finished = _measure(browser, base, cookie, page, None, 0, args.verbose)
            browser.close()
        return 0 if _report(args, running, finished) else 1


if __name__ == "__main__":
    sys.exit(main())
