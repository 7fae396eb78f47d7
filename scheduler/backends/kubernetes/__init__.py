"""The Kubernetes backend: one batch/v1 Job per attempt, through the official client."""

from __future__ import annotations

from scheduler.backends.kubernetes.backend import KubernetesBackend
from scheduler.backends.kubernetes.client import LimitedApiClient, TokenBucket
from scheduler.backends.kubernetes.manifests import JobOptions

__all__ = ["JobOptions", "KubernetesBackend", "LimitedApiClient", "TokenBucket"]
