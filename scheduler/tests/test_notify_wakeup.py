from __future__ import annotations

import threading

import pytest

from jobs.tests.factories import AlgorithmFactory, make_experiment
from scheduler.wakeup import Waker

pytestmark = [pytest.mark.requires("postgres"), pytest.mark.django_db(transaction=True)]


def test_a_submission_wakes_an_idle_scheduler_with_one_notify(user):
    algorithm = AlgorithmFactory()
    waker = Waker()
    assert waker.wait(0) is False  # LISTEN is set up, nothing pending
    woke = []
    listening = threading.Thread(target=lambda: woke.append(waker.wait(30)))
    listening.start()
    make_experiment(user, algorithm, parameters={"n": list(range(100))}, repeats=10)
    listening.join(35)
    assert woke == [True], "woken by NOTIFY, not by the 30 s timeout"
    # 1,000 jobs in one transaction sent one notification, not one per job.
    assert waker.wait(0.2) is False
    waker.close()


def test_nothing_is_sent_for_a_submission_that_is_refused(user):
    from jobs.errors import InvalidInput

    algorithm = AlgorithmFactory()
    waker = Waker()
    waker.wait(0)
    with pytest.raises(InvalidInput):
        make_experiment(user, algorithm, parameters={"n": [1000]})
    assert waker.wait(0.2) is False
    waker.close()


def test_wake_interrupts_a_wait_at_once(db):
    waker = Waker()
    threading.Timer(0.05, waker.wake).start()
    assert waker.wait(30) is False
    waker.close()
