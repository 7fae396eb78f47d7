"""``/api/schedules/``: users schedule their experiments; SQL datasets re-query per run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_celery_beat.models import PeriodicTask

from jobs.models import Dataset, RecurringRun
from jobs.services import recurring
from jobs.tests.factories import AlgorithmFactory, make_experiment
from webapp.api.tests.test_remote_datasets import pg_source  # noqa: F401  (a fixture)

NOON = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def experiment(user):
    return make_experiment(user, parameters={"n": [1, 2]})


def test_a_user_schedules_an_experiment_with_a_cron_expression(api, experiment):
    response = api.post(
        "/api/schedules/", {"experiment": experiment.pk, "cron": "15 4 * * *"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["experiment"] == experiment.pk
    assert body["cron"] == "15 4 * * *" and body["every_seconds"] is None
    assert body["enabled"] is True and body["next_run_at"] is not None
    assert body["recent_firings"] == []
    assert PeriodicTask.objects.get(recurring_run__pk=body["id"]).crontab.minute == "15"


def test_the_list_shows_firings_with_the_runs_they_made(api, user, experiment):
    run = recurring.create_recurring_run(owner=user, experiment=experiment, every_seconds=60)
    made = recurring.fire_recurring_run(run.pk, NOON).experiment

    body = api.get("/api/schedules/").json()

    [listed] = body["results"] if isinstance(body, dict) else body
    assert listed["every_seconds"] == 60
    assert listed["recent_firings"][0]["experiment"] == made.pk
    assert listed["recent_firings"][0]["skipped"] == ""


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"cron": "not cron"}, "cron"),
        ({"cron": "0 0 * * *", "every_seconds": 5}, "cron"),
        ({}, "cron"),
        ({"every_seconds": "often"}, "every_seconds"),
        ({"every_seconds": -1}, "every_seconds"),
    ],
)
def test_a_bad_schedule_is_a_400_naming_the_field(api, experiment, payload, field):
    response = api.post("/api/schedules/", {"experiment": experiment.pk, **payload}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not RecurringRun.objects.exists()
    assert not PeriodicTask.objects.filter(task=recurring.FIRE_TASK).exists()


def test_no_one_schedules_or_sees_another_users_experiment(api, other_api, other_user, experiment):
    refused = other_api.post(
        "/api/schedules/", {"experiment": experiment.pk, "every_seconds": 60}, format="json"
    )
    mine = api.post(
        "/api/schedules/", {"experiment": experiment.pk, "every_seconds": 60}, format="json"
    ).json()

    assert refused.status_code == 400 and "experiment" in refused.json()
    assert other_api.get(f"/api/schedules/{mine['id']}/").status_code == 404
    assert other_api.delete(f"/api/schedules/{mine['id']}/").status_code == 404
    assert RecurringRun.objects.count() == 1


def test_pausing_resuming_and_deleting_a_schedule(api, experiment):
    created = api.post(
        "/api/schedules/", {"experiment": experiment.pk, "every_seconds": 60}, format="json"
    ).json()
    url = f"/api/schedules/{created['id']}/"

    paused = api.patch(url, {"enabled": False}, format="json")
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert paused.json()["next_run_at"] is None
    moved = api.patch(url, {"enabled": True, "cron": "0 6 * * 1"}, format="json").json()
    assert moved["enabled"] is True and moved["cron"] == "0 6 * * 1"
    assert moved["every_seconds"] is None

    assert api.delete(url).status_code == 204
    assert not PeriodicTask.objects.filter(task=recurring.FIRE_TASK).exists()


def test_signed_out_callers_cannot_schedule(client, experiment):
    response = client.post(
        "/api/schedules/",
        {"experiment": experiment.pk, "every_seconds": 60},
        content_type="application/json",
    )
    assert response.status_code in (401, 403)


@pytest.mark.requires("postgres")
def test_each_run_re_queries_an_sql_dataset_when_asked(api, user, pg_source):  # noqa: F811
    query = f"SELECT x, y FROM {pg_source.table} ORDER BY x"
    loaded = api.post(
        "/api/datasets/query/",
        {"database": pg_source.database.name, "query": query},
        format="json",
    ).json()
    template = make_experiment(
        user, AlgorithmFactory(), dataset=Dataset.objects.get(pk=loaded["id"])
    )
    run = recurring.create_recurring_run(
        owner=user, experiment=template, every_seconds=60, newest_datasets=True
    )
    unchanged = recurring.fire_recurring_run(run.pk, NOON).experiment
    pg_source.execute(f"INSERT INTO {pg_source.table} VALUES (4, 3.5, 'd')")

    changed = recurring.fire_recurring_run(run.pk, NOON.replace(minute=1)).experiment

    assert unchanged.dataset_id == loaded["id"]
    assert changed.dataset.version == 2 and changed.dataset.rows == 4
    assert changed.dataset.previous_id == loaded["id"]
    template.refresh_from_db()
    assert template.dataset_id == loaded["id"]


def test_a_user_schedules_a_pipeline_of_theirs_and_not_anothers(api, other_api, user):
    from jobs.services.pipelines import submit_pipeline
    from jobs.tests.pipeline_helpers import algorithms, study

    algorithms()
    pipeline = submit_pipeline(user, study())

    made = api.post(
        "/api/schedules/", {"pipeline": pipeline.pk, "every_seconds": 600}, format="json"
    )
    refused = other_api.post(
        "/api/schedules/", {"pipeline": pipeline.pk, "every_seconds": 600}, format="json"
    )
    both = api.post(
        "/api/schedules/",
        {"pipeline": pipeline.pk, "experiment": 1, "every_seconds": 600},
        format="json",
    )

    assert made.status_code == 201 and made.json()["pipeline"] == pipeline.pk
    assert made.json()["experiment"] is None
    assert refused.status_code == 400 and "pipeline" in refused.json()
    assert both.status_code == 400 and "experiment" in both.json()
    assert RecurringRun.objects.count() == 1
