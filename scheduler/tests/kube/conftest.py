"""Fixtures for the Kubernetes backend: a fake API server, and backends that talk to it."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from scheduler.backends.kubernetes import JobOptions, KubernetesBackend, LimitedApiClient
from scheduler.backends.kubernetes.client import TokenBucket
from scheduler.tests.kube.fake import FakeCluster
from scheduler.tests.kube.helpers import NAMESPACE, RUNNER_IMAGE, Clock


@pytest.fixture
def cluster():
    fake = FakeCluster().start()
    yield fake
    fake.stop()
    assert not fake.invalid, "objects failed Kubernetes 1.33 validation:\n" + "\n".join(
        fake.invalid
    )


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_backend(cluster, clock):
    """Build a backend on the fake cluster; keyword arguments override the defaults."""
    made = []

    def make(limiter: TokenBucket | None = None, options: JobOptions | None = None, **kwargs):
        configuration = k8s.Configuration(host=cluster.url)
        api_client = LimitedApiClient(configuration, limiter or TokenBucket(1000, 1000))
        kwargs.setdefault("namespace", NAMESPACE)
        kwargs.setdefault("unschedulable_grace", 300)
        kwargs.setdefault("clock", clock)
        backend = KubernetesBackend(
            api_client, options=options or JobOptions(runner_image=RUNNER_IMAGE), **kwargs
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.shutdown()


@pytest.fixture
def backend(make_backend):
    return make_backend()
