"""The queue's named SQL statements: loaded by name, aimed at the tables the models define."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import queries
from jobs.models import Job, JobStatus
from jobs.queries import ClaimWrite
from jobs.tests.factories import make_experiment


def test_every_statement_the_queue_runs_is_loaded_by_name():
    assert set(queries.QUERIES) == {
        "commit_without_flush",
        "due_owners",
        "held_jobs",
        "lock_waiting",
        "mark_claimed",
        "mark_dispatched",
        "insert_grid",
        "notify_new_jobs",
        "listen_new_jobs",
    }
    first_words = {
        name: next(line for line in sql.splitlines() if not line.startswith("--")).split()[0]
        for name, sql in queries.QUERIES.items()
    }
    assert first_words == {
        "commit_without_flush": "SET",
        "due_owners": "WITH",
        "held_jobs": "SELECT",
        "lock_waiting": "SELECT",
        "mark_claimed": "UPDATE",
        "mark_dispatched": "UPDATE",
        "insert_grid": "INSERT",
        "notify_new_jobs": "NOTIFY",
        "listen_new_jobs": "LISTEN",
    }


def test_the_statements_name_the_job_table_and_columns_the_model_has():
    columns = {field.column for field in Job._meta.concrete_fields}
    for name in ("mark_claimed", "mark_dispatched", "insert_grid"):
        sql = queries.QUERIES[name]
        assert Job._meta.db_table in re.findall(r"(?:UPDATE|INTO) (\w+)", sql), name
    for name in ("due_owners", "held_jobs", "lock_waiting"):
        assert Job._meta.db_table in re.findall(r"FROM (\w+)", queries.QUERIES[name]), name
        read = set(re.findall(r"\bq\.(\w+)", queries.QUERIES[name]))
        assert read and read <= columns, name
    insert_columns = re.search(r"jobs_job \(([^)]*)\)", queries.QUERIES["insert_grid"]).group(1)
    named = {column.strip().strip('"') for column in insert_columns.split(",")}
    assert named <= columns
    # Every column without a default in the database is written.
    assert columns - named == {
        "id",
        "progress",
        "claimed_at",
        "started_at",
        "finished_at",
        "last_event_at",
        "exit_code",
    }


@pytest.mark.django_db
def test_a_grid_is_inserted_in_order_with_its_repeats(user):
    experiment = make_experiment(user, parameters={"n": [1, 2]}, repeats=2)
    rows = Job.objects.filter(experiment=experiment).values_list("index", "repeat", "parameters")
    assert [(index, repeat, params["n"]) for index, repeat, params in rows] == [
        (0, 0, 1),
        (0, 1, 1),
        (1, 0, 2),
        (1, 1, 2),
    ]
    assert set(Job.objects.values_list("status", "attempt")) == {(JobStatus.WAITING, 1)}


@pytest.mark.django_db
def test_mark_claimed_writes_each_rows_handle_and_reads_back_named_rows(user):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    first, second = Job.objects.filter(experiment=experiment).order_by("id")
    writes = [ClaimWrite(first.pk, "petri-a", "hash-a"), ClaimWrite(second.pk, "petri-b", "hash-b")]

    rows = queries.mark_claimed(writes, scheduler="s1", backend="noop", now=timezone.now())

    assert sorted(rows) == [(first.pk, experiment.pk, user.pk), (second.pk, experiment.pk, user.pk)]
    assert {row.experiment_id for row in rows} == {experiment.pk}
    assert set(Job.objects.values_list("handle", "runner_token_hash", "status", "scheduler")) == {
        ("petri-a", "hash-a", JobStatus.DISPATCHING, "s1"),
        ("petri-b", "hash-b", JobStatus.DISPATCHING, "s1"),
    }


@pytest.mark.django_db
def test_due_owners_are_the_users_with_a_due_job_this_backend_may_take(user, other_user):
    from jobs.tests.factories import UserFactory

    later, elsewhere = UserFactory(), UserFactory()
    make_experiment(user, parameters={"n": [1]})  # bound to no backend: the default one's
    make_experiment(other_user, parameters={"n": [1]})
    Job.objects.filter(owner=other_user).update(backend="noop")
    make_experiment(later, parameters={"n": [1]})
    Job.objects.filter(owner=later).update(not_before=timezone.now() + timedelta(hours=1))
    make_experiment(elsewhere, parameters={"n": [1]})
    Job.objects.filter(owner=elsewhere).update(backend="other")
    now = timezone.now()

    default = queries.due_owners(backend="noop", takes_default=True, now=now)
    only_bound = queries.due_owners(backend="noop", takes_default=False, now=now)

    assert default == sorted([user.pk, other_user.pk])
    assert only_bound == [other_user.pk]


@pytest.mark.django_db
def test_held_jobs_counts_what_each_user_holds_on_a_backend_or_on_all(user, other_user):
    from jobs.tests.factories import UserFactory

    idle = UserFactory()
    make_experiment(user, parameters={"n": [1, 2, 3, 4]})
    make_experiment(other_user, parameters={"n": [1, 2]})
    mine = list(Job.objects.filter(owner=user).order_by("id").values_list("id", flat=True))
    Job.objects.filter(pk__in=mine[:2]).update(status=JobStatus.RUNNING, backend="noop")
    Job.objects.filter(pk=mine[2]).update(status=JobStatus.DISPATCHING, backend="other")
    Job.objects.filter(pk=mine[3]).update(status=JobStatus.SUCCEEDED, backend="noop")
    Job.objects.filter(owner=other_user).update(status=JobStatus.CANCELLING, backend="noop")
    owners = [user.pk, other_user.pk, idle.pk]

    assert queries.held_jobs(owners) == {user.pk: 3, other_user.pk: 2}
    assert queries.held_jobs(owners, backend="noop") == {user.pk: 2, other_user.pk: 2}
    assert queries.held_jobs(owners, backend="other") == {user.pk: 1}
    assert queries.held_jobs([]) == {}


@pytest.mark.django_db
def test_lock_waiting_gives_each_user_their_next_jobs_in_claim_order_up_to_their_allowance(
    user, other_user
):
    make_experiment(user, parameters={"n": [1, 2, 3]})
    urgent = make_experiment(user, parameters={"n": [4]}, priority=5)
    make_experiment(other_user, parameters={"n": [1, 2]})
    mine = list(Job.objects.filter(owner=user).order_by("id").values_list("id", flat=True))
    theirs = list(Job.objects.filter(owner=other_user).order_by("id").values_list("id", flat=True))

    rows = queries.lock_waiting(
        {user.pk: 2, other_user.pk: 5}, backend="noop", takes_default=True, now=timezone.now()
    )

    by_owner = {
        owner: [r.job_id for r in rows if r.owner_id == owner] for owner in (user.pk, other_user.pk)
    }
    assert by_owner[user.pk] == [urgent.jobs.get().pk, mine[0]]
    assert by_owner[other_user.pk] == theirs
    assert {(r.attempt, r.wait_reason) for r in rows} == {(1, "")}


@pytest.mark.django_db
def test_mark_dispatched_moves_only_rows_still_dispatching_under_their_handle(user):
    experiment = make_experiment(user, parameters={"n": [1, 2, 3]})
    first, second, third = Job.objects.filter(experiment=experiment).order_by("id")
    writes = [ClaimWrite(job.pk, f"petri-{job.pk}", "hash") for job in (first, second, third)]
    queries.mark_claimed(writes, scheduler="s1", backend="noop", now=timezone.now())
    Job.objects.filter(pk=third.pk).update(status=JobStatus.CANCELLING)
    now = timezone.now()

    moved = queries.mark_dispatched(
        [first.pk, second.pk, third.pk],
        [f"petri-{first.pk}", "petri-stale", f"petri-{third.pk}"],
        now,
    )

    assert moved == 1
    assert dict(Job.objects.values_list("id", "status")) == {
        first.pk: JobStatus.PENDING,
        second.pk: JobStatus.DISPATCHING,
        third.pk: JobStatus.CANCELLING,
    }
    assert Job.objects.get(pk=first.pk).last_event_at == now
