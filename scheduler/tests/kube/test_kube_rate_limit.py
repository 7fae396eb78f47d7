"""Client-side rate limiting of Kubernetes API calls (PETRI_K8S_QPS, PETRI_K8S_BURST)."""

from __future__ import annotations

import threading

import pytest

from scheduler.backends.kubernetes.client import TokenBucket
from scheduler.tests.kube.helpers import make_spec


class FakeTime:
    """A monotonic clock whose sleep only moves the clock, recording every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


def bucket(fake_time, qps=20, burst=30) -> TokenBucket:
    return TokenBucket(qps, burst, clock=fake_time.clock, sleep=fake_time.sleep)


def test_a_burst_passes_without_waiting(fake_time):
    limiter = bucket(fake_time)
    assert [limiter.acquire() for _ in range(30)] == [0.0] * 30
    assert fake_time.sleeps == []


def test_past_the_burst_calls_are_spaced_at_the_rate(fake_time):
    limiter = bucket(fake_time, qps=20, burst=30)
    for _ in range(30 + 20):
        limiter.acquire()
    assert len(fake_time.sleeps) == 20
    assert fake_time.sleeps == pytest.approx([0.05] * 20)
    assert fake_time.now == pytest.approx(101.0)  # 20 calls past the burst took one second


def test_idle_time_refills_the_bucket_up_to_the_burst_only(fake_time):
    limiter = bucket(fake_time, qps=10, burst=5)
    for _ in range(5):
        limiter.acquire()
    fake_time.now += 3600  # an idle hour saves up 5 tokens, not 36 000
    for _ in range(5):
        assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.1)


def test_concurrent_callers_reserve_distinct_slots(fake_time):
    limiter = TokenBucket(10, 1, clock=lambda: 0.0, sleep=lambda s: None)
    waits: list[float] = []
    lock = threading.Lock()

    def call():
        wait = limiter.acquire()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_a_nonsense_rate_is_refused():
    with pytest.raises(ValueError):
        TokenBucket(0, 10)
    with pytest.raises(ValueError):
        TokenBucket(5, 0)


def test_every_api_call_of_the_backend_waits_for_the_limiter(cluster, make_backend, fake_time):
    backend = make_backend(limiter=bucket(fake_time, qps=5, burst=2))
    for job_id in range(1, 4):
        backend.submit(make_spec(job_id=job_id))  # 6 calls: 2 from the burst, 4 at 5 a second
    assert cluster.count() == 6
    assert backend.api_client.calls == {"POST": 6}
    assert fake_time.sleeps == pytest.approx([0.2] * 4)
