"""What an announcement becomes on the wire: the states read back once, as the REST API has them."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs import services
from jobs.models import Job, JobStatus
from jobs.signals import jobs_changed
from jobs.tests.factories import AlgorithmFactory, make_experiment
from webapp.realtime.tests.helpers import collect, communicator, run

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = [{"name": "x", "type": "float", "default": 0.0, "minimum": -5, "maximum": 5}]


def search(user, max_jobs: int):
    """A random search of ``max_jobs`` points, two at a time, with its first job finished."""
    algorithm = AlgorithmFactory(name="space", parameters=SCHEMA)
    experiment = make_experiment(
        user,
        algorithm,
        parameters={"x": {"distribution": "uniform", "low": -5, "high": 5}},
        strategy="random",
        objective="score",
        objective_order="max",
        max_jobs=max_jobs,
        parallelism=2,
        seed=7,
    )
    job = Job.objects.filter(experiment=experiment).order_by("id").first()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    services.finish_attempt(job.pk, job.attempt, succeeded=True, metrics={"score": 1.0})
    return experiment


def test_a_running_searchs_live_progress_is_the_rest_apis_and_each_read_is_one_query(
    user, api, token_for
):
    experiments = [search(user, max_jobs=6), search(user, max_jobs=10)]
    token = token_for(user)

    def announce() -> int:
        with CaptureQueriesContext(connection) as queries:
            jobs_changed.send(None, job_ids=[], experiment_ids=[e.pk for e in experiments])
        return len(queries)

    async def scenario():
        client = communicator("/ws/events/", token=token)
        assert (await client.connect())[0]
        reads = await database_sync_to_async(announce)()
        messages = await collect(
            client,
            lambda ms: (
                {m["data"]["id"] for m in ms if m["type"] == "experiment.updated"}
                >= {e.pk for e in experiments}
            ),
        )
        await client.disconnect()
        return reads, messages

    reads, messages = run(scenario)
    assert reads == 1, "the experiments and their counts in one query, no field loaded later"
    live = {m["data"]["id"]: m["data"] for m in messages if m["type"] == "experiment.updated"}
    for experiment in experiments:
        rest = api.get(f"/api/experiments/{experiment.pk}/").json()
        assert live[experiment.pk]["progress"] == rest["progress"] < 0.5, "over the budget"
        assert live[experiment.pk]["status"] == rest["status"] == "running"
