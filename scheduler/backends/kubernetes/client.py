"""The Kubernetes API client: configured the standard way, rate limited and counted."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from scheduler.backends.base import BackendError

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class TokenBucket:
    """client-go's flow control: ``qps`` tokens a second, at most ``burst`` saved up.

    A caller that finds the bucket empty reserves the next token and sleeps until it is due,
    so concurrent callers queue in order instead of racing.
    """

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be positive and burst at least 1")
        self.qps, self.burst = float(qps), int(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.qps if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class LimitedApiClient(k8s.ApiClient):
    """An ApiClient whose every request first takes a token, and is counted by method."""

    def __init__(self, configuration: k8s.Configuration, limiter: TokenBucket) -> None:
        super().__init__(configuration)
        self.limiter = limiter
        self.calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def call_api(self, method, url, *args, **kwargs):
        self.limiter.acquire()
        with self._count_lock:
            self.calls[method] += 1
        return super().call_api(method, url, *args, **kwargs)


def kubeconfig_path() -> str:
    # Read now, not when the client was imported (its own default is frozen at import).
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def load_configuration() -> k8s.Configuration:
    """The in-cluster service account, else ``KUBECONFIG`` or ``~/.kube/config``."""
    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException:
        try:
            k8s_config.load_kube_config(
                config_file=kubeconfig_path(), client_configuration=configuration
            )
        except (k8s_config.ConfigException, OSError) as exc:
            raise BackendError(
                "no Kubernetes configuration: not running in a cluster, and no usable "
                f"KUBECONFIG or ~/.kube/config ({exc})"
            ) from exc
    return configuration


def default_namespace() -> str:
    """This pod's namespace in a cluster, else the kubeconfig context's, else ``default``."""
    try:
        return IN_CLUSTER_NAMESPACE.read_text().strip() or "default"
    except OSError:
        pass
    try:
        _, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig_path())
    except (k8s_config.ConfigException, OSError):
        return "default"
    return (active or {}).get("context", {}).get("namespace") or "default"
