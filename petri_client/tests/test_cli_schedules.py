"""``petri schedule``: create, list, pause, resume and delete recurring runs on a real server."""

from __future__ import annotations

import pytest

from jobs.models import RecurringRun
from jobs.tests.factories import make_experiment

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_schedules_pauses_resumes_and_deletes_a_recurring_run(signed_in, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1]})

    made = signed_in("schedule", "create", str(experiment.pk), "--cron", "0 3 * * *")
    assert made.returncode == 0, made.stderr
    run = RecurringRun.objects.get()
    assert f"Schedule {run.pk}: experiment {experiment.pk} 0 3 * * *" in made.stdout

    listed = signed_in("schedule", "list")
    assert listed.returncode == 0, listed.stderr
    assert "0 3 * * *" in listed.stdout and "yes" in listed.stdout

    assert "paused" in signed_in("schedule", "pause", str(run.pk)).stdout
    run.periodic_task.refresh_from_db()
    assert run.periodic_task.enabled is False
    assert "is on" in signed_in("schedule", "resume", str(run.pk)).stdout

    gone = signed_in("schedule", "delete", str(run.pk))
    assert gone.returncode == 0 and not RecurringRun.objects.exists()


def test_a_bad_cron_expression_is_refused_naming_the_field(signed_in, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1]})

    refused = signed_in("schedule", "create", str(experiment.pk), "--cron", "every night")

    assert refused.returncode == 1
    assert "cron" in refused.stderr
    assert not RecurringRun.objects.exists()
