"""An in-process fake Kubernetes API server for the backend's tests (see cluster.py)."""

from __future__ import annotations

from scheduler.tests.kube.fake.cluster import FakeCluster
from scheduler.tests.kube.fake.server import resource_of

__all__ = ["FakeCluster", "resource_of"]
