"""An attempt's pod log: the tail for a failed attempt's error, or the whole of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from scheduler.backends.base import BackendError
from scheduler.backends.kubernetes.errors import API_ERRORS as _API_ERRORS
from scheduler.backends.kubernetes.errors import explain
from scheduler.backends.kubernetes.manifests import LABEL_HANDLE, RUNNER_CONTAINER

log = logging.getLogger(__name__)
LOG_TAIL_LINES = 40
REQUEST_TIMEOUT = (5, 30)  # connect, read (seconds)


class PodLogs:
    """Reading runner pods' logs; the backend provides ``core``, ``namespace`` and ``_list``."""

    core: Any
    namespace: str
    _list: Callable[..., list[dict[str, Any]]]

    def _log(self, pod: str, tail_lines: int | None = None) -> str | None:
        try:
            response = self.core.read_namespaced_pod_log(
                pod,
                self.namespace,
                container=RUNNER_CONTAINER,
                tail_lines=tail_lines,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            return response.data.decode(errors="replace")
        except _API_ERRORS as exc:
            log.info("no log for pod %s: %s", pod, explain(exc))
            return None

    def _pod_of(self, handle: str) -> str | None:
        try:
            pods = self._list(self.core.list_namespaced_pod, f"{LABEL_HANDLE}={handle}")
        except _API_ERRORS as exc:
            raise BackendError(f"cannot find the pod of {handle}: {explain(exc)}") from exc
        newest = max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "", default=None)
        return newest["metadata"]["name"] if newest else None

    def logs(self, handle: str) -> str | None:
        pod = self._pod_of(handle)
        return self._log(pod) if pod else None
