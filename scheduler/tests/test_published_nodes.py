"""The scheduler publishes its backend's nodes, so the web app shows what its attempts request."""

from __future__ import annotations

import pytest

from jobs import services
from jobs.models import BackendNode, Job, JobStatus
from jobs.tests.factories import make_experiment

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_nodes_api_counts_the_cpus_of_jobs_running_on_the_local_backend(
    user, catalog, local_scheduler, api, settings
):
    settings.PETRI_BACKEND = "local"
    settings.PETRI_BACKENDS = ["local"]
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"duration": 120, "steps": 120, "x": [1, 2]}
    )
    local_scheduler.run_until(
        lambda: Job.objects.filter(experiment=experiment, status=JobStatus.RUNNING).count() == 2,
        what="both jobs to run",
    )
    local_scheduler.scheduler.publish_nodes()

    (node,) = api.get("/api/nodes/").json()
    assert node["cpu_requested"] == 2
    assert BackendNode.objects.get().published_by == "test-scheduler"

    services.cancel_experiment(experiment)
    local_scheduler.run_until(
        lambda: not Job.objects.filter(experiment=experiment, status=JobStatus.CANCELLING).exists(),
        what="the jobs to be cancelled",
    )
    local_scheduler.scheduler.publish_nodes()
    assert api.get("/api/nodes/").json()[0]["cpu_requested"] == 0
