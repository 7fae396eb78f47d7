from __future__ import annotations

import pytest

from jobs import services
from jobs.models import Job, JobStatus, Quota
from jobs.services.claim import fair_caps
from jobs.tests.factories import AlgorithmFactory, UserFactory, make_experiment

pytestmark = pytest.mark.django_db


def claim(limit: int):
    return services.claim_waiting_jobs(scheduler="s", backend="noop", limit=limit)


@pytest.fixture
def algorithm():
    return AlgorithmFactory()


def test_a_user_with_many_waiting_jobs_cannot_starve_a_user_with_few(algorithm):
    heavy, light = UserFactory(username="heavy"), UserFactory(username="light")
    make_experiment(heavy, algorithm, parameters={"n": list(range(50))})
    make_experiment(light, algorithm, parameters={"n": list(range(5))})
    owners = [c.owner_id for c in claim(limit=10)]
    assert owners.count(light.pk) == 5
    assert owners.count(heavy.pk) == 5
    # Round-robin between users of equal standing, oldest job first.
    assert owners[:4] == [heavy.pk, light.pk, heavy.pk, light.pk]


def test_the_user_running_fewer_jobs_goes_first(algorithm):
    busy, idle = UserFactory(username="busy"), UserFactory(username="idle")
    make_experiment(busy, algorithm, parameters={"n": list(range(10))})
    claim(limit=3)  # busy now holds three jobs on the backend
    make_experiment(idle, algorithm, parameters={"n": list(range(10))})
    owners = [c.owner_id for c in claim(limit=4)]
    assert owners == [idle.pk, idle.pk, idle.pk, busy.pk]


def test_priority_beats_fair_share(algorithm):
    busy, other = UserFactory(username="busy"), UserFactory(username="other")
    make_experiment(busy, algorithm, parameters={"n": list(range(3))})
    claim(limit=3)
    make_experiment(busy, algorithm, parameters={"n": 1}, priority=5)
    make_experiment(other, algorithm, parameters={"n": 1})
    owners = [c.owner_id for c in claim(limit=2)]
    assert owners == [busy.pk, other.pk]


def test_a_per_user_limit_caps_running_jobs_and_counts_those_already_held(algorithm, settings):
    capped = UserFactory(username="capped")
    Quota.objects.create(user=capped, max_running=3)
    make_experiment(capped, algorithm, parameters={"n": list(range(10))})
    assert len(claim(limit=10)) == 3
    assert claim(limit=10) == []
    done = Job.objects.filter(status=JobStatus.DISPATCHING).first()
    services.finish_attempt(done.pk, done.attempt, succeeded=True)
    assert len(claim(limit=10)) == 1


def test_the_default_limit_comes_from_settings_and_a_user_limit_overrides_it(algorithm, settings):
    settings.PETRI_USER_MAX_RUNNING = 2
    plain, trusted = UserFactory(username="plain"), UserFactory(username="trusted")
    Quota.objects.create(user=trusted, max_running=5)
    make_experiment(plain, algorithm, parameters={"n": list(range(10))})
    make_experiment(trusted, algorithm, parameters={"n": list(range(10))})
    owners = [c.owner_id for c in claim(limit=100)]
    assert (owners.count(plain.pk), owners.count(trusted.pk)) == (2, 5)


def test_the_backend_capacity_is_the_claim_limit(algorithm):
    user = UserFactory(username="u")
    make_experiment(user, algorithm, parameters={"n": list(range(10))})
    assert len(claim(limit=4)) == 4
    assert Job.objects.filter(status=JobStatus.WAITING).count() == 6


def test_fair_caps_lock_no_more_rows_than_fair_share_could_give_each_user():
    assert fair_caps({1: 500, 2: 500}, {}, 500) == {1: 250, 2: 250}
    assert fair_caps({1: 500, 2: 500}, {1: 100}, 500) == {1: 200, 2: 300}
    assert fair_caps({1: 3, 2: 4}, {}, 10) == {1: 3, 2: 4}  # all of it fits: no cap
    # One row at least, however much a user holds: its priority may put it first.
    assert fair_caps({1: 10, 2: 10}, {1: 1000}, 10) == {1: 1, 2: 10}


def test_a_user_with_fewer_jobs_than_their_share_leaves_the_rest_of_the_batch_to_others(
    algorithm,
):
    few, many = UserFactory(username="few"), UserFactory(username="many")
    make_experiment(few, algorithm, parameters={"n": [1, 2]})
    make_experiment(many, algorithm, parameters={"n": list(range(20))})
    owners = [c.owner_id for c in claim(limit=10)]
    assert owners.count(few.pk) == 2
    assert owners.count(many.pk) == 8


def test_priority_beats_fair_share_beyond_the_water_level(algorithm):
    busy, other = UserFactory(username="busy"), UserFactory(username="other")
    make_experiment(busy, algorithm, parameters={"n": list(range(3))})
    claim(limit=3)  # busy holds three: fair share alone would give them one of the next four
    make_experiment(busy, algorithm, parameters={"n": list(range(5))}, priority=5)
    make_experiment(other, algorithm, parameters={"n": list(range(5))})
    assert [c.owner_id for c in claim(limit=4)] == [busy.pk] * 4
