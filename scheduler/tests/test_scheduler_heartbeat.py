"""The scheduler loop marks itself alive for its liveness probe on every pass."""

from __future__ import annotations

import threading

import pytest

from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler, run_forever


class StopAfter:
    """A waker whose wait ends the loop after ``passes`` idle passes."""

    def __init__(self, stop: threading.Event, passes: int) -> None:
        self.stop, self.passes = stop, passes

    def listen(self) -> None:
        pass

    def wait(self, timeout: float) -> bool:
        self.passes -= 1
        if self.passes <= 0:
            self.stop.set()
        return False

    def close(self) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_every_pass_of_the_loop_touches_the_heartbeat_file(settings, tmp_path):
    heartbeat = tmp_path / "alive"
    settings.PETRI_SCHEDULER_HEARTBEAT_FILE = str(heartbeat)
    stop = threading.Event()
    touched = []

    class Watching(Scheduler):
        def tick(self) -> bool:
            touched.append(heartbeat.stat().st_mtime_ns if heartbeat.exists() else None)
            return super().tick()

    run_forever(Watching(NoopBackend(), identity="hb"), stop, StopAfter(stop, 2), 0)

    assert touched[0] is None and touched[1] is not None  # written after the first pass
    assert heartbeat.exists()


@pytest.mark.django_db(transaction=True)
def test_no_heartbeat_file_is_written_unless_configured(settings, tmp_path, monkeypatch):
    settings.PETRI_SCHEDULER_HEARTBEAT_FILE = ""
    monkeypatch.chdir(tmp_path)
    stop = threading.Event()
    run_forever(Scheduler(NoopBackend(), identity="hb"), stop, StopAfter(stop, 1), 0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_the_loop_prepares_its_backend_before_the_first_pass():
    stop = threading.Event()
    seen = []

    class Preparing(NoopBackend):
        def prepare(self) -> None:
            seen.append("prepare")

    class Watching(Scheduler):
        def tick(self) -> bool:
            seen.append("tick")
            return super().tick()

    run_forever(Watching(Preparing(), identity="prep"), stop, StopAfter(stop, 1), 0)
    assert seen == ["prepare", "tick"]
