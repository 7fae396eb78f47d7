"""Real Celery processes: a worker and beat (two beats, by mistake), and `serve`'s own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from jobs.models import Experiment, RecurringFiring
from jobs.services import recurring
from jobs.tests.factories import make_experiment
from petri_pytest.isolation import free_port

pytestmark = pytest.mark.system
SENT = "Sending due task"


class Processes:
    def __init__(self, env: dict[str, str], folder: Path):
        self.env, self.folder = env, folder
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                env=self.env,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started[name] = process
        return process

    def celery(self, name: str, *args: str) -> subprocess.Popen:
        return self.start(name, "-m", "celery", "-A", "webapp.celery", *args, "-l", "INFO")

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                process.terminate()
        for process in self.started.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(test_database_url, tmp_path) -> Iterator[Processes]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "PETRI_VAR_DIR": str(tmp_path / "var"),
        "PETRI_MEDIA_DIR": str(settings.MEDIA_ROOT),
        "PETRI_SECRET_KEY": settings.SECRET_KEY,
        "PETRI_BEAT_LOCK_RETRY": "0.2",
    }
    running = Processes(env, tmp_path)
    yield running
    running.stop()


def wait_for(condition: Callable[[], bool], what: str, processes: Processes, timeout=90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n}\n{processes.log(n)[-3000:]}" for n in processes.started)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def runs_made() -> int:
    return RecurringFiring.objects.filter(experiment__isnull=False).count()


def test_two_beats_by_mistake_still_make_one_run_per_firing(processes, user):
    template = make_experiment(user, parameters={"n": [1]})
    recurring.create_recurring_run(owner=user, experiment=template, every_seconds=1)
    processes.celery("worker", "worker", "--pool", "solo", "--without-gossip", "--without-mingle")
    processes.celery("beat-a", "beat")
    processes.celery("beat-b", "beat")

    wait_for(lambda: runs_made() >= 4, "four runs", processes)

    senders = [name for name in ("beat-a", "beat-b") if SENT in processes.log(name)]
    assert len(senders) == 1, "exactly one beat holds the beat lock and sends"

    # The worker ran the sent tasks, and each slot made one run. (How many tasks a slot may
    # see is not counted: a task the loaded worker takes late is told apart by its slot alone,
    # test_recurring_runs.py shows a second task for a fired slot makes no run.) A task's run
    # commits before the worker logs its success, so the log is waited for, not read at once.
    def done() -> int:
        log = processes.log("worker")
        return len(re.findall(r"Task petri\.fire_recurring_run\[\S+\] succeeded", log))

    wait_for(lambda: done() >= 4, "the worker to log four tasks done", processes)
    firings = list(RecurringFiring.objects.values_list("slot", flat=True))
    assert len(firings) == len(set(firings))
    assert Experiment.objects.exclude(pk=template.pk).count() == runs_made()

    # The beat that sends dies hard; the other takes the lock over and the runs go on.
    leader = processes.started[senders[0]]
    leader.send_signal(signal.SIGKILL)
    leader.wait(timeout=10)
    other = "beat-b" if senders[0] == "beat-a" else "beat-a"
    before = runs_made()
    wait_for(lambda: SENT in processes.log(other), "the other beat to send", processes)
    wait_for(lambda: runs_made() >= before + 2, "runs after the takeover", processes)


def test_serve_runs_a_worker_with_beat_and_stops_it(processes, user):
    template = make_experiment(user, parameters={"n": [1]})
    recurring.create_recurring_run(owner=user, experiment=template, every_seconds=1)
    port = free_port()
    processes.env["PETRI_CELERY_IN_WEB"] = "1"
    serve = processes.start("serve", "manage.py", "serve", "--no-scheduler", "--port", str(port))

    wait_for(lambda: runs_made() >= 2, "runs fired by serve's own beat", processes)

    children = subprocess.run(
        ["pgrep", "-P", str(serve.pid)], capture_output=True, text=True
    ).stdout.split()
    assert children, "serve runs its worker as a child process"
    serve.send_signal(signal.SIGINT)
    serve.wait(timeout=30)
    for child in children:
        wait_for(lambda c=child: not Path(f"/proc/{c}").exists(), "the worker to stop", processes)
