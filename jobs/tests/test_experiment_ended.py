"""The "experiment ended" rule fires on a job's transition to a final state, never on progress."""

from __future__ import annotations

import pytest

from jobs import services
from jobs.models import Experiment
from jobs.services import ended, lifecycle
from jobs.signals import experiment_ended
from jobs.tests.factories import make_experiment

pytestmark = pytest.mark.django_db


@pytest.fixture
def checks(monkeypatch):
    """The experiments each call of the rule was asked about, in order."""
    seen: list[list[int]] = []
    real = ended.check_ended

    def record(experiment_ids):
        seen.append(list(experiment_ids))
        real(experiment_ids)

    monkeypatch.setattr(lifecycle, "check_ended", record)
    return seen


@pytest.fixture
def announced():
    received: list[int] = []

    def listener(sender, experiment_id, **kwargs):
        received.append(experiment_id)

    experiment_ended.connect(listener, dispatch_uid="test-ended")
    yield received
    experiment_ended.disconnect(dispatch_uid="test-ended")


def test_progress_and_logs_never_run_the_rule_and_the_last_result_runs_it_once(
    user, checks, announced, django_capture_on_commit_callbacks
):
    experiment = make_experiment(user, parameters={"n": 1})
    (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.mark_dispatched([item])
    with django_capture_on_commit_callbacks(execute=True):
        for value in (0.1, 0.5, 0.9):
            services.record_events(
                item.job_id,
                1,
                [{"type": "progress", "value": value}, {"type": "log", "lines": ["step"]}],
            )
    assert checks == [] and announced == []

    with django_capture_on_commit_callbacks(execute=True):
        services.finish_attempt(item.job_id, 1, succeeded=True)
    assert checks == [[experiment.pk]]
    assert announced == [experiment.pk]


def test_a_retried_attempt_is_not_a_final_transition(
    user, checks, announced, django_capture_on_commit_callbacks
):
    make_experiment(user, parameters={"n": 1}, max_attempts=2)
    (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.fail_attempt(item.job_id, 1, "lost")
    assert checks == [] and announced == []


def test_an_experiment_is_announced_once_however_often_it_is_checked(
    user, announced, django_capture_on_commit_callbacks
):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    assert ended.claim_ended([experiment.pk]) == []
    assert announced == [experiment.pk]
    assert Experiment.objects.get(pk=experiment.pk).notified_at is not None
