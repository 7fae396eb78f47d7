"""Recurring runs: schedules as django-celery-beat rows, and what each firing does."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from jobs.errors import InvalidInput
from jobs.models import Experiment, Job, Quota, RecurringFiring, RecurringRun, Result
from jobs.services import housekeeping, recurring
from jobs.tests.factories import AlgorithmFactory, finish_job, make_dataset, make_experiment

NOON = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def template(user):
    return make_experiment(user, parameters={"n": [1, 2, 3]}, name="nightly", priority=5)


def test_a_cron_schedule_is_a_beat_row_that_fires_the_run(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, cron="0 3 * * 1-5")

    task = PeriodicTask.objects.get(pk=run.periodic_task_id)
    assert task.task == "petri.fire_recurring_run"
    assert json.loads(task.kwargs) == {"recurring_run": run.pk}
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "3", "1-5")
    assert task.interval is None and task.enabled


def test_an_interval_schedule_fires_every_so_many_seconds(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=3600)

    assert run.periodic_task.interval.schedule.run_every == timedelta(hours=1)
    assert run.periodic_task.crontab is None


@pytest.mark.parametrize(
    ("cron", "every", "field"),
    [
        ("", None, "cron"),
        ("0 3 * * *", 60, "cron"),
        ("0 3 * *", None, "cron"),
        ("99 3 * * *", None, "cron"),
        ("", 0, "every_seconds"),
        ("", 10**9, "every_seconds"),
    ],
)
def test_a_bad_schedule_names_its_field_and_writes_nothing(user, template, cron, every, field):
    with pytest.raises(InvalidInput) as refused:
        recurring.create_recurring_run(
            owner=user, experiment=template, cron=cron, every_seconds=every
        )

    assert field in refused.value.errors
    assert not PeriodicTask.objects.filter(task=recurring.FIRE_TASK).exists()
    assert not RecurringRun.objects.exists()


def test_a_firing_submits_the_experiment_again_as_it_was_submitted(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)

    firing = recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=7))

    fresh = firing.experiment
    assert fresh.pk != template.pk and firing.skipped == ""
    assert fresh.name == "nightly · 2026-11-27 12:00:00"
    assert (fresh.parameters, fresh.priority, fresh.algorithm_id, fresh.owner_id) == (
        template.parameters,
        5,
        template.algorithm_id,
        user.pk,
    )
    assert sorted(Job.objects.filter(experiment=fresh).values_list("parameters__n", flat=True)) == [
        1,
        2,
        3,
    ]


def test_one_slot_fires_once_however_often_its_task_arrives(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)

    first = recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=1))
    again = recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=59))
    later = recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=61))

    assert first is not None and again is None and later is not None
    assert [f.slot for f in RecurringFiring.objects.order_by("slot")] == [
        NOON,
        NOON + timedelta(minutes=1),
    ]
    assert Experiment.objects.count() == 3  # the template and two runs


def test_a_cron_firing_answers_its_minute(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, cron="* * * * *")

    recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=2))
    assert recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=40)) is None

    assert RecurringFiring.objects.get().slot == NOON


@pytest.mark.requires("postgres")
def test_two_deliveries_racing_for_one_slot_make_one_run(transactional_db, user):
    template = make_experiment(user, parameters={"n": [1]})
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=3600)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def fire() -> None:
        barrier.wait()
        try:
            outcomes.append(recurring.fire_recurring_run(run.pk, NOON))
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert Experiment.objects.exclude(pk=template.pk).count() == 1


def test_a_switched_off_account_is_skipped_with_the_reason_recorded(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)
    user.is_active = False
    user.save()

    firing = recurring.fire_recurring_run(run.pk, NOON)

    assert firing.experiment is None
    assert firing.skipped == "the owner's account is switched off"
    assert Experiment.objects.count() == 1


def test_an_owner_past_the_monthly_budget_is_skipped_with_the_reason(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)
    Quota.objects.create(user=user, cpu_hours_per_month=0)

    firing = recurring.fire_recurring_run(run.pk, NOON)

    assert firing.experiment is None
    assert firing.skipped == "monthly CPU-hours budget spent"


def test_a_template_that_no_longer_validates_is_recorded_not_raised(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)
    template.algorithm.enabled = False
    template.algorithm.save()

    firing = recurring.fire_recurring_run(run.pk, NOON)

    assert firing.experiment is None and "is disabled" in firing.skipped
    assert Experiment.objects.count() == 1


def test_an_uploaded_dataset_is_kept_even_when_newest_is_asked(user):
    dataset = make_dataset(user)
    algorithm = AlgorithmFactory()
    template = make_experiment(user, algorithm, dataset=dataset)
    run = recurring.create_recurring_run(
        owner=user, experiment=template, every_seconds=60, newest_datasets=True
    )

    firing = recurring.fire_recurring_run(run.pk, NOON)

    assert firing.experiment.dataset_id == dataset.pk


def test_a_paused_schedule_has_no_next_run_and_resumes(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)

    recurring.update_recurring_run(run, enabled=False)
    assert recurring.next_due(RecurringRun.objects.get(pk=run.pk)) is None

    recurring.update_recurring_run(run, enabled=True, cron="30 2 * * *")
    task = PeriodicTask.objects.get(pk=run.periodic_task_id)
    assert task.enabled and task.crontab.hour == "2" and task.interval is None


def test_deleting_a_schedule_keeps_the_runs_it_made(user, template):
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)
    made = recurring.fire_recurring_run(run.pk, NOON).experiment

    recurring.delete_recurring_run(run)

    assert not PeriodicTask.objects.filter(task=recurring.FIRE_TASK).exists()
    assert Experiment.objects.filter(pk=made.pk).exists()
    assert recurring.fire_recurring_run(run.pk, NOON + timedelta(hours=1)) is None


def test_retention_prunes_every_expired_finished_row_but_keeps_results(user, settings):
    settings.PETRI_RETENTION_DAYS = 7
    settings.PETRI_RETENTION_BATCH = 2
    experiment = make_experiment(user, parameters={"n": [1, 2, 3, 4, 5]})
    jobs = list(Job.objects.filter(experiment=experiment).order_by("index"))
    for job in jobs[:4]:
        finish_job(job, metrics={"score": 1})
    Job.objects.filter(pk__in=[j.pk for j in jobs[:3]]).update(finished_at=NOON - timedelta(days=8))

    assert housekeeping.prune_expired_jobs(NOON) == 3

    assert Job.objects.count() == 2
    assert Result.objects.filter(experiment=experiment).count() == 4
    experiment.refresh_from_db()
    assert experiment.pruned_succeeded == 3


def test_retention_is_off_by_default(user, settings):
    settings.PETRI_RETENTION_DAYS = 0
    experiment = make_experiment(user, parameters={"n": [1]})
    finish_job(Job.objects.get(experiment=experiment), metrics={"score": 1})
    Job.objects.update(finished_at=NOON - timedelta(days=3650))

    assert housekeeping.prune_expired_jobs(NOON) == 0
    assert Job.objects.count() == 1


def test_operators_see_and_edit_schedules_in_the_admin(client, user, template):
    from jobs.tests.factories import UserFactory

    client.force_login(UserFactory(username="op", is_staff=True, is_superuser=True))
    run = recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)
    recurring.fire_recurring_run(run.pk, NOON)

    listed = client.get("/admin/django_celery_beat/periodictask/")
    shown = client.get(f"/admin/jobs/recurringrun/{run.pk}/change/")

    assert listed.status_code == 200 and f"recurring run {run.pk}" in listed.content.decode()
    assert shown.status_code == 200 and "2026-11-27" in shown.content.decode()
    page = client.get(f"/admin/django_celery_beat/periodictask/{run.periodic_task_id}/change/")
    assert page.status_code == 200 and "petri.fire_recurring_run" in page.content.decode()


def test_a_pipeline_schedule_submits_the_whole_pipeline_again(user):
    from jobs.models import Pipeline
    from jobs.services.pipelines import submit_pipeline
    from jobs.tests.pipeline_helpers import algorithms, study

    algorithms()
    template = submit_pipeline(user, study())
    run = recurring.create_recurring_run(owner=user, pipeline=template, cron="0 4 * * *")

    firing = recurring.fire_recurring_run(run.pk, NOON)
    assert recurring.fire_recurring_run(run.pk, NOON + timedelta(seconds=30)) is None

    fresh = firing.pipeline
    assert fresh.pk != template.pk and firing.experiment is None
    assert fresh.name == "study · 2026-11-27 12:00:00"
    assert [s.name for s in fresh.stages.order_by("position")] == [
        "generate",
        "disc",
        "other",
        "compare",
    ]
    assert Pipeline.objects.count() == 2


def test_a_schedule_is_of_an_experiment_or_a_pipeline_never_both(user, template):
    with pytest.raises(InvalidInput) as refused:
        recurring.create_recurring_run(owner=user, every_seconds=60)
    assert "experiment" in refused.value.errors


def test_deleting_an_experiment_deletes_its_schedules_with_beats_rows(user, template):
    from jobs.services.manage import delete_experiment

    recurring.create_recurring_run(owner=user, experiment=template, every_seconds=60)
    Job.objects.filter(experiment=template).update(status="cancelled")

    delete_experiment(template)

    assert not RecurringRun.objects.exists()
    assert not PeriodicTask.objects.filter(task=recurring.FIRE_TASK).exists()
