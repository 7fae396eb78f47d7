"""The queue's named SQL statements: loaded by name, aimed at the tables the models define."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from jobs import queries
from jobs.models import Job, JobStatus
from jobs.queries import ClaimWrite
from jobs.tests.factories import make_experiment


def test_every_statement_the_queue_runs_is_loaded_by_name():
    assert set(queries.QUERIES) == {
        "mark_claimed",
        "insert_grid",
        "notify_new_jobs",
        "listen_new_jobs",
    }
    first_words = {
        name: next(line for line in sql.splitlines() if not line.startswith("--")).split()[0]
        for name, sql in queries.QUERIES.items()
    }
    assert first_words == {
        "mark_claimed": "UPDATE",
        "insert_grid": "INSERT",
        "notify_new_jobs": "NOTIFY",
        "listen_new_jobs": "LISTEN",
    }


def test_the_statements_name_the_job_table_and_columns_the_model_has():
    columns = {field.column for field in Job._meta.concrete_fields}
    for name in ("mark_claimed", "insert_grid"):
        sql = queries.QUERIES[name]
        assert Job._meta.db_table in re.findall(r"(?:UPDATE|INTO) (\w+)", sql), name
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
