"""Issue 12 on Kubernetes: a runner pod reaches nothing but the runner API with what it holds."""

from __future__ import annotations

import pytest

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]


def test_a_runner_pod_cannot_reach_the_database_redis_or_user_endpoints(petri, experiments):
    # workloads.PROBE, run as uploaded code: it does what an attacker would from inside the pod.
    (job,) = petri.wait_final(experiments["probe"], timeout=120)

    assert job["status"] == "succeeded", job["error"]
    found = job["metrics"]
    log = "\n".join(petri.log_lines(job["id"]))
    assert found["leaked"] == 0, log  # no database, Redis or secret-key variable anywhere
    assert found["automount_token"] == 0  # no service-account token to talk to the cluster
    # Even with the runner's own token in hand, only the runner endpoints answer.
    assert found["token_found"] == 1 and found["runner_endpoint"] == 200, log
    assert found["user_endpoint_max_ok"] == 0, log
    assert found["postgres"] == 0 and found["redis"] == 0, log
