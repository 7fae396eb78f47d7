"""The Slurm backend against a real one-node Slurm (slurmctld + slurmd + munge)."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from jobs.models import FailureReason
from scheduler.backends.slurm import SlurmBackend
from scheduler.backends.slurm.backend import Route
from scheduler.tests.slurm.conftest import make_spec, scontrol_job, slurm_conf, wait_for

# One worker runs every test on the real Slurm, one after another (the restart goes last).
pytestmark = [
    pytest.mark.requires("slurm"),
    pytest.mark.system,
    pytest.mark.xdist_group("slurm-cluster"),
]


def _squeue_names(prefix: str) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%j"], capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in out if name.startswith(prefix)]


def _running(backend: SlurmBackend, handle: str) -> bool:
    return backend.reconcile([handle])[handle].phase == "running"


def _ended(backend: SlurmBackend, handle: str):
    state = backend.reconcile([handle])[handle]
    return state if state.ended else None


def test_resources_timeout_and_route_become_the_slurm_jobs_request(slurm_options, fake_python):
    options = replace(
        slurm_options,
        python=fake_python("sleep 30"),
        routes={"*": Route(partition="debug")},
    )
    backend = SlurmBackend(options)
    spec = make_spec(resources={"cpu": 1.5, "memory": "300Mi"}, timeout=90)
    try:
        backend.submit(spec)
        job = scontrol_job(backend.job_name(spec.handle))
        assert job["NumCPUs"] == "2"  # 1.5 cores round up to whole CPUs
        assert job["MinMemoryNode"] == "300M"
        assert job["TimeLimit"] == "00:03:00"  # 90 s + the margin, in whole minutes
        assert job["Partition"] == "debug"
        assert job["Requeue"] == "0"
    finally:
        backend.cancel(spec.handle)


def test_the_token_is_on_no_command_line_and_in_no_readable_file(slurm_backend, fake_python):
    backend = SlurmBackend(replace(slurm_backend.options, python=fake_python("sleep 30")))
    spec = make_spec()
    try:
        assert spec.token not in " ".join(backend.sbatch_options(spec))
        backend.submit(spec)
        shown = subprocess.run(
            ["scontrol", "show", "job", "--details"], capture_output=True, text=True, check=True
        ).stdout
        assert backend.job_name(spec.handle) in shown
        assert spec.token not in shown
        for path in backend.options.log_dir.iterdir():
            assert spec.token not in path.read_text(errors="replace")
    finally:
        backend.cancel(spec.handle)


def test_submitting_a_handle_again_adopts_the_job_instead_of_duplicating_it(
    slurm_options, fake_python
):
    # Two schedulers' views of one attempt, as after a crash between submit and mark_dispatched.
    options = replace(slurm_options, python=fake_python("sleep 30"))
    first, second = SlurmBackend(options), SlurmBackend(options)
    spec = make_spec(handle="petri-7-2")
    try:
        first.submit(spec)
        second.submit(spec)
        assert _squeue_names(options.name_prefix) == [first.job_name(spec.handle)]
    finally:
        first.cancel(spec.handle)


def test_a_job_over_its_memory_is_oom_killed(slurm_options, fake_python):
    hog = "exec python3 -c 'b = bytearray(400 * 2**20); import time; time.sleep(30)'"
    options = replace(slurm_options, python=fake_python(hog))
    backend = SlurmBackend(options)
    spec = make_spec(resources={"memory": "64Mi"})
    backend.submit(spec)
    state = wait_for(lambda: _ended(backend, spec.handle), 60, "the memory hog to be killed")
    assert state.reason == FailureReason.OOM_KILLED, state
    assert "memory" in state.message


def test_a_runner_that_fails_without_a_result_is_classified_by_its_exit_status(
    slurm_options, fake_python
):
    lost = SlurmBackend(replace(slurm_options, python=fake_python("exit 3")))
    broken = SlurmBackend(replace(slurm_options, python=fake_python("echo boom; exit 7")))
    lost.submit(make_spec(handle="petri-1-1"))
    broken.submit(make_spec(handle="petri-2-1"))
    lost_state = wait_for(lambda: _ended(lost, "petri-1-1"), 60, "exit 3")
    broken_state = wait_for(lambda: _ended(broken, "petri-2-1"), 60, "exit 7")
    assert lost_state.reason == FailureReason.LOST
    assert broken_state.reason == FailureReason.ALGORITHM_ERROR
    assert broken_state.exit_code == 7
    assert "boom" in broken_state.message


def test_a_job_cancelled_outside_petri_is_reported_as_such(slurm_options, fake_python):
    options = replace(slurm_options, python=fake_python("sleep 60"))
    backend = SlurmBackend(options)
    spec = make_spec()
    backend.submit(spec)
    wait_for(
        lambda: backend.reconcile([spec.handle])[spec.handle].phase == "running", 30, "running"
    )
    subprocess.run(["scancel", f"--name={backend.job_name(spec.handle)}"], check=True)
    state = wait_for(lambda: _ended(backend, spec.handle), 30, "the cancel to show")
    assert state.reason == FailureReason.CANCELLED
    assert "not by Petri" in state.message


def test_a_job_no_node_will_take_past_the_grace_is_unschedulable_and_withdrawn(
    slurm_options, fake_python
):
    # The test cluster's "closed" partition queues jobs and never starts them (PartitionDown).
    options = replace(
        slurm_options,
        python=fake_python("sleep 60"),
        pending_grace=0,
        routes={"*": Route(partition="closed")},
    )
    backend = SlurmBackend(options)
    spec = make_spec()
    backend.submit(spec)
    state = wait_for(lambda: _ended(backend, spec.handle), 30, "the job to be judged")
    assert state.reason == FailureReason.UNSCHEDULABLE
    assert "PartitionDown" in state.message
    job = scontrol_job(backend.job_name(spec.handle))
    assert job["JobState"] == "CANCELLED"  # withdrawn, so it never starts late


def test_a_job_waiting_within_the_grace_stays_pending(slurm_options, fake_python):
    options = replace(
        slurm_options, python=fake_python("sleep 60"), routes={"*": Route(partition="closed")}
    )
    backend = SlurmBackend(options)
    spec = make_spec()
    try:
        backend.submit(spec)
        state = wait_for(
            lambda: (s := backend.reconcile([spec.handle])[spec.handle]).message and s,
            30,
            "a pending reason",
        )
        assert state.phase == "pending"
    finally:
        backend.cancel(spec.handle)


def test_an_attempt_slurm_no_longer_knows_is_lost(slurm_backend):
    state = slurm_backend.reconcile(["petri-404-1"])["petri-404-1"]
    assert state.ended
    assert state.reason == FailureReason.LOST


def test_nodes_report_slurms_cpus_memory_and_allocations(slurm_options, fake_python):
    options = replace(slurm_options, python=fake_python("sleep 30"))
    backend = SlurmBackend(options)
    spec = make_spec(resources={"cpu": 1, "memory": "512Mi"})
    try:
        backend.submit(spec)
        wait_for(lambda: _running(backend, spec.handle), 30, "the job to run")
        (node,) = backend.nodes()
        assert node.cpu_allocatable >= 1
        assert node.cpu_requested >= 1
        assert node.memory_allocatable > 512 * 2**20
        assert node.memory_requested >= 512 * 2**20
    finally:
        backend.cancel(spec.handle)


def test_a_job_past_its_slurm_time_limit_is_deadline_exceeded(slurm_options, fake_python):
    # Slurm's own limit is the backstop behind the runner's timeout; its unit is one minute.
    options = replace(slurm_options, python=fake_python("sleep 600"), extra_args=("--time=1",))
    backend = SlurmBackend(options)
    spec = make_spec()
    backend.submit(spec)
    state = wait_for(lambda: _ended(backend, spec.handle), 150, "Slurm's time limit")
    assert state.reason == FailureReason.DEADLINE_EXCEEDED, state


def test_a_request_slurm_can_never_accept_is_refused_for_good(slurm_options, fake_python):
    from scheduler.backends.base import BackendRefused

    options = replace(
        slurm_options, python=fake_python("true"), routes={"*": Route(partition="no-such")}
    )
    with pytest.raises(BackendRefused, match="Invalid partition"):
        SlurmBackend(options).submit(make_spec())


def test_an_unreachable_controller_is_a_transient_trouble(slurm_options, monkeypatch, tmp_path):
    from scheduler.backends.base import BackendUnavailable

    conf = tmp_path / "slurm.conf"
    conf.write_text(slurm_conf().read_text().replace("SlurmctldPort=16817", "SlurmctldPort=9"))
    monkeypatch.setenv("SLURM_CONF", str(conf))
    with pytest.raises(BackendUnavailable):
        SlurmBackend(slurm_options).reconcile(["petri-1-1"])
