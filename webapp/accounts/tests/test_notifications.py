from __future__ import annotations

import threading

import pytest
from django.core import mail

from jobs import services
from jobs.models import Experiment
from jobs.services.ended import claim_ended
from jobs.tests.factories import UserFactory, make_experiment
from scheduler.backends.base import BackendState
from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler
from webapp.accounts.notifications import wait_for_mail


@pytest.fixture
def researcher(db):
    return UserFactory(username="erin", email="erin@example.org")


def _run_all(experiment: Experiment, outcomes: list[tuple[bool, dict]]) -> None:
    """Claim, dispatch and finish every job with the given (succeeded, metrics) in order."""
    services.mark_dispatched(services.claim_waiting_jobs(scheduler="s", backend="noop", limit=99))
    for job, (succeeded, metrics) in zip(experiment.jobs.order_by("index"), outcomes, strict=True):
        services.finish_attempt(job.pk, job.attempt, succeeded=succeeded, metrics=metrics)


def test_the_owner_gets_one_email_when_an_experiment_ends(
    researcher, django_capture_on_commit_callbacks
):
    experiment = make_experiment(
        researcher,
        name="alpha sweep",
        parameters={"n": [1, 2, 3]},
        max_attempts=1,
        objective="loss",
        objective_order="min",
    )
    with django_capture_on_commit_callbacks(execute=True):
        _run_all(experiment, [(True, {"loss": 0.5}), (True, {"loss": 0.2}), (False, {})])
    wait_for_mail()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["erin@example.org"]
    assert message.subject == "Petri: alpha sweep failed"
    best = experiment.jobs.order_by("index")[1]
    assert "3 jobs: 2 succeeded, 1 failed" in message.body
    assert f"Best job by loss (min): job {best.pk}, loss = 0.2" in message.body
    assert f"http://127.0.0.1:8000/experiments/{experiment.pk}" in message.body
    experiment.refresh_from_db()
    assert experiment.notified_at is not None

    # Anything that happens to it later (a retry finishing again) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        claim_ended([experiment.pk])
    wait_for_mail()
    assert len(mail.outbox) == 1


def test_nothing_is_sent_while_jobs_are_unfinished(researcher, django_capture_on_commit_callbacks):
    experiment = make_experiment(researcher, parameters={"n": [1, 2]})
    services.mark_dispatched(services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1))
    job = experiment.jobs.exclude(status="waiting").get()
    with django_capture_on_commit_callbacks(execute=True):
        services.finish_attempt(job.pk, job.attempt, succeeded=True)
    wait_for_mail()
    assert mail.outbox == []
    assert Experiment.objects.get(pk=experiment.pk).notified_at is None


def test_a_cancelled_experiment_is_announced_too(researcher, django_capture_on_commit_callbacks):
    experiment = make_experiment(researcher, parameters={"n": [1, 2]})
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    wait_for_mail()
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.endswith(" cancelled")
    assert "2 cancelled" in mail.outbox[0].body


def test_the_public_url_makes_the_link(researcher, settings, django_capture_on_commit_callbacks):
    settings.PETRI_PUBLIC_URL = "https://petri.example.org"
    experiment = make_experiment(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    wait_for_mail()
    assert f"https://petri.example.org/experiments/{experiment.pk}" in mail.outbox[0].body


def test_a_user_who_opted_out_gets_no_email(
    researcher, client_for, django_capture_on_commit_callbacks
):
    api = client_for(researcher)
    answer = api.patch("/api/me/", {"email_notifications": False}, format="json")
    assert answer.status_code == 200 and answer.json()["email_notifications"] is False
    assert api.get("/api/me/").json()["email_notifications"] is False
    experiment = make_experiment(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    wait_for_mail()
    assert mail.outbox == []
    # Decided once all the same: opting in again later does not resend old news.
    assert Experiment.objects.get(pk=experiment.pk).notified_at is not None


def test_an_account_without_an_address_gets_no_email(db, django_capture_on_commit_callbacks):
    experiment = make_experiment(UserFactory(username="noaddress", email=""))
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    wait_for_mail()
    assert mail.outbox == []


class EndingBackend(NoopBackend):
    """Every attempt it was given has vanished by the next reconcile: the runner was lost."""

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        return {handle: BackendState(handle, "gone", reason="lost") for handle in handles}


def _in_threads(count: int, work) -> None:
    from django.db import connection

    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=30)
            work(index)
        except BaseException as exc:  # surfaced in the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_finishing_one_experiment_send_exactly_one_email():
    owner = UserFactory(username="frank", email="frank@example.org")
    experiment = make_experiment(owner, parameters={"n": list(range(40))}, max_attempts=1)
    schedulers = [
        Scheduler(EndingBackend(), identity=f"replica-{i}", batch=7, reconcile_interval=0)
        for i in range(2)
    ]

    def drive(index: int) -> None:
        # Both claim, dispatch and reconcile (fail) the same experiment's jobs until none is left.
        for _ in range(200):
            schedulers[index].tick()
            if not experiment.jobs.exclude(status__in=["failed"]).exists():
                return
        raise AssertionError("the experiment did not end")

    _in_threads(2, drive)
    wait_for_mail()
    assert experiment.jobs.filter(status="failed").count() == 40
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    assert mail.outbox[0].to == ["frank@example.org"]


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
def test_many_processes_claiming_one_ended_experiment_at_once_send_one_email():
    owner = UserFactory(username="gina", email="gina@example.org")
    experiment = make_experiment(owner, parameters={"n": [1, 2]})
    services.cancel_experiment(experiment)  # on_commit ran: that claim is the one
    wait_for_mail()
    assert len(mail.outbox) == 1
    Experiment.objects.filter(pk=experiment.pk).update(notified_at=None)
    mail.outbox.clear()

    claimed: list[list[int]] = [[] for _ in range(8)]
    _in_threads(8, lambda i: claimed[i].extend(claim_ended([experiment.pk])))
    wait_for_mail()
    assert sum(len(c) for c in claimed) == 1
    assert len(mail.outbox) == 1


def test_the_mail_server_is_talked_to_outside_the_thread_that_saw_the_end(
    researcher, monkeypatch, django_capture_on_commit_callbacks
):
    from webapp.accounts import notifications

    senders: list[str] = []
    monkeypatch.setattr(
        notifications,
        "send_mail",
        lambda *args, **kwargs: senders.append(threading.current_thread().name),
    )
    experiment = make_experiment(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    wait_for_mail()
    assert senders == [f"petri-mail-{experiment.pk}"]
    assert threading.current_thread().name not in senders
