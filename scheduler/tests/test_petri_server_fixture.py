from __future__ import annotations

import json
import time
import urllib.request

import pytest

from jobs.models import Job, JobStatus
from jobs.tests.factories import make_experiment
from petri_pytest.diagnostics import print_stacks

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_served_app_runs_a_job_submitted_to_the_test_database(petri_server, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    with urllib.request.urlopen(f"{petri_server.url}/healthz") as response:
        assert json.loads(response.read()) == {"status": "ok"}
    deadline = time.monotonic() + 60
    while Job.objects.filter(experiment=experiment).exclude(status=JobStatus.SUCCEEDED).exists():
        assert time.monotonic() < deadline, petri_server.log()
        time.sleep(0.1)
    assert Job.objects.filter(experiment=experiment, status=JobStatus.SUCCEEDED).count() == 2


def test_a_served_petri_prints_every_threads_stack_on_sigusr1_and_serves_on(petri_server):
    stacks = print_stacks(petri_server.process, petri_server.log_path)
    assert "most recent call first" in stacks, stacks
    assert "daphne/server.py" in stacks and "scheduler/loop.py" in stacks, stacks
    with urllib.request.urlopen(f"{petri_server.url}/healthz") as response:
        assert json.loads(response.read()) == {"status": "ok"}
