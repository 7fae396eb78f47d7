"""Telling an OOM kill from any other SIGKILL by the memory cgroup's oom_kill counter."""

from __future__ import annotations

from petri_runner.oom import oom_kills


def test_the_cgroup_v2_counter_is_read_from_memory_events(tmp_path):
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n")
    assert oom_kills((events,)) == 2


def test_the_cgroup_v1_counter_is_read_when_v2_is_absent(tmp_path):
    control = tmp_path / "memory.oom_control"
    control.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n")
    assert oom_kills((tmp_path / "missing", control)) == 5


def test_no_counter_means_unknown_not_zero(tmp_path):
    (tmp_path / "memory.events").write_text("low 0\n")
    assert oom_kills((tmp_path / "memory.events", tmp_path / "none")) is None
