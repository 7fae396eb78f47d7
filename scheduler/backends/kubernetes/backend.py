"""Runs each attempt as a Kubernetes batch/v1 Job through the official client."""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scheduler.backends.base import Backend, BackendError, BackendState, JobSpec, Node
from scheduler.backends.kubernetes import nodes as node_report
from scheduler.backends.kubernetes.classify import Outcome, classify
from scheduler.backends.kubernetes.client import (
    LimitedApiClient,
    TokenBucket,
    default_namespace,
    load_configuration,
)
from scheduler.backends.kubernetes.manifests import (
    LABEL_HANDLE,
    RUNNER_CONTAINER,
    SELECTOR,
    JobOptions,
    job_manifest,
    secret_manifest,
)

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 40
REQUEST_TIMEOUT = (5, 30)  # connect, read (seconds)
# Kubernetes errors that no retry of the same request will fix.
_API_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _explain(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError):
            message = ""
        return f"{exc.status} {exc.reason}" + (f": {message}" if message else "")
    return f"cannot reach the Kubernetes API: {exc}"


class KubernetesBackend(Backend):
    name = "kubernetes"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        namespace: str,
        options: JobOptions,
        unschedulable_grace: float = 300,
        node_requests: str = "namespace",
        page_size: int = 500,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.options = options
        self.grace = timedelta(seconds=unschedulable_grace)
        self.node_requests = node_requests
        self.page_size = page_size
        self.clock = clock
        self.batch = k8s.BatchV1Api(api_client)
        self.core = k8s.CoreV1Api(api_client)
        self._first_seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> KubernetesBackend:
        """The backend configured by the PETRI_K8S_* settings and the standard client config."""
        limiter = TokenBucket(settings.PETRI_K8S_QPS, settings.PETRI_K8S_BURST)
        options = JobOptions(
            runner_image=settings.PETRI_RUNNER_IMAGE,
            image_pull_secrets=tuple(settings.PETRI_K8S_IMAGE_PULL_SECRETS),
            node_selector=dict(settings.PETRI_K8S_NODE_SELECTOR),
            tolerations=tuple(settings.PETRI_K8S_TOLERATIONS),
            extra_labels=dict(settings.PETRI_K8S_EXTRA_LABELS),
            ttl_seconds=settings.PETRI_K8S_JOB_TTL,
        )
        return cls(
            LimitedApiClient(load_configuration(), limiter),
            namespace=settings.PETRI_K8S_NAMESPACE or default_namespace(),
            options=options,
            unschedulable_grace=settings.PETRI_K8S_UNSCHEDULABLE_GRACE,
            node_requests=settings.PETRI_K8S_NODE_REQUESTS,
        )

    # -- submit and cancel ---------------------------------------------------------------

    def submit(self, spec: JobSpec) -> None:
        body = job_manifest(spec, self.options)
        try:
            job = self._json(
                self.batch.create_namespaced_job(
                    self.namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                )
            )
        except ApiException as exc:
            if exc.status != 409:
                message = f"Kubernetes refused the Job {spec.handle}: {_explain(exc)}"
                raise BackendError(message) from exc
            # Created before a crash: adopt it. Its token is derived, so it is the same one.
            job = self._read_job(spec.handle)
        except _API_ERRORS as exc:
            raise BackendError(_explain(exc)) from exc
        uid = (job.get("metadata") or {}).get("uid", "")
        secret = secret_manifest(spec, uid, self.options.extra_labels)
        try:
            self._json(
                self.core.create_namespaced_secret(
                    self.namespace, secret, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                )
            )
        except ApiException as exc:
            if exc.status == 409:
                return
            self._delete_quietly(spec.handle)
            message = f"cannot store the runner token of {spec.handle}: {_explain(exc)}"
            raise BackendError(message) from exc
        except _API_ERRORS as exc:
            self._delete_quietly(spec.handle)
            raise BackendError(_explain(exc)) from exc

    def _read_job(self, handle: str) -> dict[str, Any]:
        try:
            return self._json(
                self.batch.read_namespaced_job(
                    handle, self.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                )
            )
        except _API_ERRORS as exc:
            raise BackendError(f"cannot adopt the existing Job {handle}: {_explain(exc)}") from exc

    def cancel(self, handle: str) -> None:
        """Delete the Job; Background propagation takes its pods (and its token) with it."""
        try:
            self._json(
                self.batch.delete_namespaced_job(
                    handle,
                    self.namespace,
                    propagation_policy="Background",
                    _preload_content=False,
                    _request_timeout=REQUEST_TIMEOUT,
                )
            )
        except ApiException as exc:
            if exc.status != 404:
                raise BackendError(f"cannot delete the Job {handle}: {_explain(exc)}") from exc
        except _API_ERRORS as exc:
            raise BackendError(_explain(exc)) from exc
        with self._lock:
            self._first_seen.pop(handle, None)

    def _delete_quietly(self, handle: str) -> None:
        try:
            self.cancel(handle)
        except BackendError as exc:
            log.warning("could not delete the Job %s: %s", handle, exc)

    # -- reconcile ------------------------------------------------------------------------

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        """One LIST of Petri's Jobs per call, and one of their pods only when a Job needs it."""
        if not handles:
            return {}
        try:
            jobs = {j["metadata"]["name"]: j for j in self._list(self.batch.list_namespaced_job)}
            pods: dict[str, list[dict[str, Any]]] | None = None
            if any(_needs_pods(jobs.get(handle)) for handle in handles):
                pods = defaultdict(list)
                for pod in self._list(self.core.list_namespaced_pod):
                    pods[(pod["metadata"].get("labels") or {}).get(LABEL_HANDLE, "")].append(pod)
        except _API_ERRORS as exc:
            raise BackendError(f"cannot list Petri's Jobs: {_explain(exc)}") from exc
        now = self.clock()
        states = {}
        for handle in handles:
            outcome = classify(
                handle,
                jobs.get(handle),
                None if pods is None else pods.get(handle, []),
                now=now,
                grace=self.grace,
                first_seen=self._seen,
            )
            states[handle] = self._settle(outcome)
        with self._lock:
            for handle in set(self._first_seen) - set(handles):
                del self._first_seen[handle]
        return states

    def _seen(self, handle: str, reported: datetime | None) -> datetime:
        """When this attempt was first seen waiting: the API's word, or this process's memory."""
        with self._lock:
            mine = self._first_seen.setdefault(handle, self.clock())
        return min(mine, reported) if reported else mine

    def _settle(self, outcome: Outcome) -> BackendState:
        """Attach the failed pod's log tail, and stop a Job that would otherwise wait forever."""
        state = outcome.state
        if not state.ended:
            return state
        message = state.message
        if outcome.log_pod:
            tail = self._log(outcome.log_pod, tail_lines=LOG_TAIL_LINES)
            if tail:
                message += f"; its last lines:\n{tail.rstrip()}"
        if outcome.stop:
            self._delete_quietly(state.handle)
        with self._lock:
            self._first_seen.pop(state.handle, None)
        return BackendState(state.handle, state.phase, state.exit_code, state.reason, message)

    # -- logs -------------------------------------------------------------------------------

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
            log.info("no log for pod %s: %s", pod, _explain(exc))
            return None

    def _pod_of(self, handle: str) -> str | None:
        try:
            pods = self._list(self.core.list_namespaced_pod, f"{LABEL_HANDLE}={handle}")
        except _API_ERRORS as exc:
            raise BackendError(f"cannot find the pod of {handle}: {_explain(exc)}") from exc
        newest = max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "", default=None)
        return newest["metadata"]["name"] if newest else None

    def logs(self, handle: str) -> str | None:
        pod = self._pod_of(handle)
        return self._log(pod) if pod else None

    # -- nodes ------------------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        """Schedulable, ready nodes with what is allocatable and what pods already requested."""
        active = "status.phase!=Succeeded,status.phase!=Failed"
        try:
            nodes = self._list(self.core.list_node, None, namespaced=False)
            if self.node_requests == "cluster":
                pods = self._list(
                    self.core.list_pod_for_all_namespaces,
                    selector=None,
                    namespaced=False,
                    field_selector=active,
                )
            else:
                pods = self._list(self.core.list_namespaced_pod, None, field_selector=active)
        except _API_ERRORS as exc:
            raise BackendError(f"cannot list the cluster's nodes: {_explain(exc)}") from exc
        return node_report.summarize(nodes, pods)

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _json(response: Any) -> dict[str, Any]:
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    def _list(
        self,
        method: Callable[..., Any],
        selector: str | None = SELECTOR,
        *,
        namespaced: bool = True,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a LIST, page by page."""
        items: list[dict[str, Any]] = []
        token = None
        args = (self.namespace,) if namespaced else ()
        while True:
            page = self._json(
                method(
                    *args,
                    label_selector=selector,
                    field_selector=field_selector,
                    limit=self.page_size,
                    _continue=token,
                    _preload_content=False,
                    _request_timeout=REQUEST_TIMEOUT,
                )
            )
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def shutdown(self) -> None:
        self.api_client.close()


def _needs_pods(job: dict[str, Any] | None) -> bool:
    """Only a Job that is neither gone, finished, nor plainly running needs its pods read."""
    if job is None:
        return False
    status = job.get("status") or {}
    conditions = {
        c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    if conditions & {"Complete", "SuccessCriteriaMet"}:
        return False
    if conditions & {"Failed", "FailureTarget"}:
        return True
    return not status.get("ready")
