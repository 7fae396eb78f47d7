"""Usage accounting: one record per finished attempt, resources requested times run time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import FailureReason, Job, UsageRecord
from jobs.services.usage import memory_gb, month_of
from jobs.tests.factories import AlgorithmFactory, UserFactory, make_experiment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("quantity", "gib"),
    [("512Mi", 0.5), ("2Gi", 2.0), ("1536Mi", 1.5), ("1G", 0.9313225746154785), ("1Ti", 1024.0)],
)
def test_memory_quantities_are_read_in_gib(quantity, gib):
    assert memory_gb(quantity) == pytest.approx(gib)


def test_a_month_is_billed_from_its_first_day():
    assert month_of(datetime(2026, 3, 31, 12, tzinfo=UTC)) == date(2026, 3, 1)


def started_job(user, resources):
    experiment = make_experiment(user, AlgorithmFactory(), parameters={"n": 1}, resources=resources)
    (claimed,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.record_events(claimed.job_id, claimed.attempt, [{"type": "started"}])
    return Job.objects.get(pk=claimed.job_id), experiment


def test_a_succeeded_attempt_records_resources_times_run_time(user):
    job, experiment = started_job(user, {"cpu": 2, "gpu": 1, "memory": "512Mi"})
    services.finish_attempt(job.pk, 1, succeeded=True, now=job.started_at + timedelta(seconds=90))
    record = UsageRecord.objects.get(job=job)
    assert (record.user, record.experiment, record.attempt) == (user, experiment, 1)
    assert record.seconds == 90
    assert (record.cpu, record.gpu, record.memory_gb) == (2, 1, 0.5)
    # 2 cores × 90 s, 1 GPU × 90 s, 0.5 GiB × 90 s
    assert (record.cpu_seconds, record.gpu_seconds, record.memory_gb_seconds) == (180, 90, 45)
    assert record.month == month_of(record.finished_at)


def test_a_repeated_report_counts_the_attempt_once(user):
    job, _ = started_job(user, {"cpu": 1})
    end = job.started_at + timedelta(seconds=10)
    services.finish_attempt(job.pk, 1, succeeded=True, now=end)
    services.finish_attempt(job.pk, 1, succeeded=True, now=end + timedelta(seconds=5))
    assert UsageRecord.objects.filter(job=job).count() == 1


def test_a_failed_attempt_that_is_retried_and_its_retry_are_both_counted(user):
    job, _ = started_job(user, {"cpu": 0.5, "memory": "2Gi"})
    services.fail_attempt(job.pk, 1, FailureReason.LOST, now=job.started_at + timedelta(seconds=40))
    assert Job.objects.get(pk=job.pk).attempt == 2  # lost attempts are retried
    first = UsageRecord.objects.get(job=job, attempt=1)
    # 0.5 cores × 40 s, 2 GiB × 40 s
    assert (first.cpu_seconds, first.gpu_seconds, first.memory_gb_seconds) == (20, 0, 80)
    Job.objects.filter(pk=job.pk).update(not_before=timezone.now())
    services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.record_events(job.pk, 2, [{"type": "started"}])
    started = Job.objects.get(pk=job.pk).started_at
    services.finish_attempt(job.pk, 2, succeeded=True, now=started + timedelta(seconds=6))
    second = UsageRecord.objects.get(job=job, attempt=2)
    assert (second.seconds, second.cpu_seconds, second.memory_gb_seconds) == (6, 3, 12)


def test_a_job_cancelled_while_running_is_counted_and_one_cancelled_while_waiting_is_not(user):
    job, _ = started_job(user, {"cpu": 4})
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=60))
    services.cancel_job(job)
    services.mark_cancelled(job.pk, 1)
    record = UsageRecord.objects.get(job=job)
    assert record.seconds == pytest.approx(60, abs=5)
    assert record.cpu_seconds == pytest.approx(4 * record.seconds)
    waiting = make_experiment(user, AlgorithmFactory(), parameters={"n": 1})
    services.cancel_experiment(waiting)
    assert UsageRecord.objects.count() == 1


def test_an_attempt_that_never_started_uses_nothing(user):
    make_experiment(user, AlgorithmFactory(), parameters={"n": 1}, max_attempts=1)
    (claimed,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.fail_attempt(claimed.job_id, 1, FailureReason.UNSCHEDULABLE)
    assert not UsageRecord.objects.exists()


def usage(user, month: date, seconds: float, cpu: float, gpu: int = 0, memory: float = 1.0):
    end = datetime(month.year, month.month, 10, tzinfo=UTC)
    return UsageRecord.objects.create(
        user=user,
        attempt=1,
        month=month,
        started_at=end - timedelta(seconds=seconds),
        finished_at=end,
        seconds=seconds,
        cpu=cpu,
        gpu=gpu,
        memory_gb=memory,
        cpu_seconds=cpu * seconds,
        gpu_seconds=gpu * seconds,
        memory_gb_seconds=memory * seconds,
    )


def test_the_usage_api_sums_my_attempts_per_month(user, other_user, api):
    usage(user, date(2026, 10, 1), seconds=1800, cpu=2)  # 1 CPU-hour
    usage(user, date(2026, 10, 1), seconds=3600, cpu=1, gpu=2, memory=0.5)  # 1 + 2 GPU-hours
    usage(user, date(2026, 11, 1), seconds=360, cpu=1)
    usage(other_user, date(2026, 10, 1), seconds=99999, cpu=8)
    rows = api.get("/api/usage/").json()
    assert [(r["month"], r["attempts"]) for r in rows] == [("2026-11", 1), ("2026-10", 2)]
    october = rows[1]
    assert october["user"] == user.username
    assert (october["seconds"], october["cpu_seconds"], october["cpu_hours"]) == (5400, 7200, 2)
    assert (october["gpu_seconds"], october["gpu_hours"]) == (7200, 2)
    assert october["memory_gb_seconds"] == 1800 + 1800
    assert [r["month"] for r in api.get("/api/usage/?month=2026-11").json()] == ["2026-11"]
    assert api.get("/api/usage/?month=november").status_code == 400


def test_only_staff_may_read_another_users_usage(user, other_user, api, other_api):
    usage(user, date(2026, 10, 1), seconds=60, cpu=1)
    assert other_api.get(f"/api/usage/?user={user.username}").status_code == 403
    other_user.is_staff = True
    other_user.save()
    rows = other_api.get(f"/api/usage/?user={user.username}").json()
    assert [r["user"] for r in rows] == [user.username]
    assert other_api.get("/api/usage/?user=nobody").status_code == 400


def test_operators_export_the_report_per_user_and_month_as_csv(client, user, other_user):
    usage(user, date(2026, 10, 1), seconds=3600, cpu=2)
    usage(user, date(2026, 10, 1), seconds=1800, cpu=2)
    usage(other_user, date(2026, 9, 1), seconds=7200, cpu=1, gpu=1)
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))
    page = client.get("/admin/jobs/usagerecord/report/")
    assert page.status_code == 200 and b"usage-report" in page.content
    assert client.get("/admin/jobs/usagerecord/").status_code == 200
    exported = client.get("/admin/jobs/usagerecord/report/?format=csv")
    assert exported["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["user"], r["month"], r["attempts"]) for r in rows] == [
        (user.username, "2026-10", "2"),
        (other_user.username, "2026-09", "1"),
    ]
    assert float(rows[0]["cpu_hours"]) == 3.0 and float(rows[1]["gpu_hours"]) == 2.0
    only_september = client.get("/admin/jobs/usagerecord/report/?month=2026-09&format=csv")
    assert len(list(csv.DictReader(io.StringIO(only_september.content.decode())))) == 1


@pytest.mark.parametrize("month", ["99999-1", "2026-13", "0000-01", "2026-1x", "1e30"])
def test_a_month_that_is_no_calendar_month_is_a_400_naming_month(client_for, user, month):
    response = client_for(user).get(f"/api/usage/?month={month}")

    assert response.status_code == 400
    assert "month" in response.json()


def test_a_username_with_a_nul_is_a_400_not_a_database_error(client_for, user):
    user.is_staff = True
    user.save()

    response = client_for(user).get("/api/usage/?user=a%00b")

    assert response.status_code == 400
