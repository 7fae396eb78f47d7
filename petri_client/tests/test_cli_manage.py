"""``petri experiment rename/notes/tag/archive/extend/delete/retry`` and ``list --tag``."""

from __future__ import annotations

import os

import pytest

from jobs.models import Experiment, Job, OutputFile, Quota
from jobs.tests.factories import finish_job, make_experiment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held(user, catalog):
    """An experiment of two jobs the scheduler never starts (the user may run none)."""
    Quota.objects.create(user=user, max_running=0)
    return make_experiment(user, catalog["sleep-and-score"], name="sweep", parameters={"x": [1, 2]})


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rename_notes_tags_and_archive_change_what_list_shows(signed_in, held):
    eid = str(held.pk)
    assert "now named 'alpha sweep'" in ok(signed_in("experiment", "rename", eid, "alpha sweep"))
    ok(signed_in("experiment", "notes", eid, "-", input="tried x\nnext: y\n"))
    assert "tags: lg6, pc" in ok(signed_in("experiment", "tag", eid, "lg6", "pc"))
    assert "tags: lg6" in ok(signed_in("experiment", "tag", eid, "--remove", "pc"))
    fresh = Experiment.objects.get(pk=held.pk)
    assert (fresh.name, fresh.notes) == ("alpha sweep", "tried x\nnext: y\n")
    assert list(fresh.tags.values_list("name", flat=True)) == ["lg6"]

    assert "alpha sweep" in ok(signed_in("list", "--tag", "lg6"))
    assert "alpha sweep" not in ok(signed_in("list", "--tag", "pc"))
    ok(signed_in("experiment", "archive", eid))
    assert "alpha sweep" not in ok(signed_in("list"))
    assert "alpha sweep" in ok(signed_in("list", "--archived"))
    ok(signed_in("experiment", "archive", eid, "--undo"))
    assert "alpha sweep" in ok(signed_in("list"))

    refused = signed_in("experiment", "tag", eid, "a,b")
    assert refused.returncode == 1
    assert refused.stderr.startswith("petri: tags: ") and "commas" in refused.stderr


def test_extend_queues_only_new_points_and_says_when_nothing_is_new(signed_in, held):
    eid = str(held.pk)
    added = ok(signed_in("experiment", "extend", eid, "--values", "x=2,3", "--repeats", "2"))
    # x in {1, 2, 3} × 2 repeats = 6, of which 2 existed.
    assert "4 jobs added (6 in all)" in added
    assert Job.objects.filter(experiment=held).count() == 6
    again = signed_in("experiment", "extend", eid, "--values", "x=3")
    assert again.returncode == 1
    assert "petri: parameters: adds no job" in again.stderr
    bad = signed_in("experiment", "extend", eid, "--values", "x=99")
    assert bad.returncode == 1 and "parameters.x" in bad.stderr


def test_delete_asks_first_and_is_refused_while_jobs_are_unfinished(signed_in, held, user, catalog):
    eid = str(held.pk)
    refused = signed_in("experiment", "delete", eid, "--yes")
    assert refused.returncode == 1 and "2 unfinished jobs" in refused.stderr
    ok(signed_in("cancel", eid))

    kept = signed_in("experiment", "delete", eid, input="n\n")
    assert kept.returncode == 1 and "not deleted" in kept.stdout
    assert Experiment.objects.filter(pk=held.pk).exists()
    done = ok(signed_in("experiment", "delete", eid, input="y\n"))
    assert f"experiment {eid} deleted" in done
    assert not Experiment.objects.filter(pk=held.pk).exists()
    assert not Job.objects.filter(experiment_id=held.pk).exists()


def test_delete_removes_the_output_files(signed_in, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1]})
    finish_job(experiment.jobs.get(), {"score": 1.0}, {"graph.json": b"{}"})
    path = OutputFile.objects.get(experiment=experiment).file.path
    ok(signed_in("experiment", "delete", str(experiment.pk), "--yes"))
    assert not os.path.exists(path)


def test_experiment_retry_queues_the_failed_jobs(signed_in, held):
    from jobs import services
    from jobs.models import FailureReason, JobStatus

    job = held.jobs.get(index=0)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, max_attempts=1)
    services.fail_attempt(job.pk, 1, FailureReason.ALGORITHM_ERROR, "boom")
    assert "1 failed jobs queued again" in ok(signed_in("experiment", "retry", str(held.pk)))
    assert Job.objects.get(pk=job.pk).status == JobStatus.WAITING
