"""Runs each attempt as a Kubernetes batch/v1 Job through the official client."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scheduler.backends.base import (
    Backend,
    BackendError,
    BackendRefused,
    BackendState,
    BackendUnavailable,
    JobSpec,
    Node,
)
from scheduler.backends.kubernetes import nodes as node_report
from scheduler.backends.kubernetes.classify import Graces, Outcome, classify, finished
from scheduler.backends.kubernetes.client import (
    LimitedApiClient,
    TokenBucket,
    default_namespace,
    load_configuration,
)
from scheduler.backends.kubernetes.errors import API_ERRORS as _API_ERRORS
from scheduler.backends.kubernetes.errors import api_failure
from scheduler.backends.kubernetes.logs import LOG_TAIL_LINES, PodLogs
from scheduler.backends.kubernetes.manifests import (
    LABEL_HANDLE,
    LABEL_INSTALLATION,
    LABEL_JOB,
    SELECTOR,
    JobOptions,
    job_manifest,
    secret_manifest,
)

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = (5, 30)  # connect, read (seconds)
# Handles per label-selector LIST: reconcile reads only the attempts it asks about.
HANDLES_PER_LIST = 200
NODES_CACHE_SECONDS = 15.0
RELISTS_ON_GONE = 3


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KubernetesBackend(PodLogs, Backend):
    name = "kubernetes"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        namespace: str,
        options: JobOptions,
        unschedulable_grace: float = 300,
        start_grace: float = 900,
        node_requests: str = "namespace",
        page_size: int = 500,
        installation: str | Callable[[], str] = "",
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.options = options
        self.graces = Graces(
            scheduling=timedelta(seconds=unschedulable_grace),
            start=timedelta(seconds=start_grace),
        )
        self.node_requests = node_requests
        self.page_size = page_size
        self._installation = installation
        self.clock = clock
        self.monotonic = monotonic
        self.batch = k8s.BatchV1Api(api_client)
        self.core = k8s.CoreV1Api(api_client)
        self._first_seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()
        self._nodes: tuple[float, list[Node]] | None = None

    @property
    def installation(self) -> str:
        value = self._installation
        return value() if callable(value) else value

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
            default_deadline=settings.PETRI_K8S_DEFAULT_DEADLINE,
            kueue_queue=settings.PETRI_K8S_KUEUE_QUEUE,
            tmp_size=settings.PETRI_K8S_TMP_SIZE,
        )
        from jobs.services import installation_id

        return cls(
            LimitedApiClient(load_configuration(), limiter),
            namespace=settings.PETRI_K8S_NAMESPACE or default_namespace(),
            options=options,
            unschedulable_grace=settings.PETRI_K8S_UNSCHEDULABLE_GRACE,
            start_grace=settings.PETRI_K8S_START_GRACE,
            node_requests=settings.PETRI_K8S_NODE_REQUESTS,
            installation=installation_id,
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
                raise api_failure(exc, f"Kubernetes refused the Job {spec.handle}") from exc
            # Created before a crash or a lost answer: adopt it, if it is this very attempt's.
            # Its token is derived, so the Secret (made now or before) holds the same one.
            job = self._adopt(spec)
        except _API_ERRORS as exc:
            raise api_failure(exc, f"cannot create the Job {spec.handle}") from exc
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
            failure = api_failure(exc, f"cannot store the runner token of {spec.handle}")
            if not isinstance(failure, BackendUnavailable):
                # The next attempt gets a new name; this Job would wait for its token forever.
                self._delete_quietly(spec.handle)
            raise failure from exc
        except _API_ERRORS as exc:
            # The Job stays: this attempt's next dispatch adopts it and stores the token then.
            raise api_failure(exc, f"cannot store the runner token of {spec.handle}") from exc

    def _adopt(self, spec: JobSpec) -> dict[str, Any]:
        job = self._read_job(spec.handle)
        labels = (job.get("metadata") or {}).get("labels") or {}
        mine = (
            labels.get(LABEL_HANDLE) == spec.handle
            and labels.get(LABEL_JOB) == str(spec.job_id)
            and labels.get(LABEL_INSTALLATION, "") == spec.installation
        )
        if not mine:
            raise BackendRefused(
                f"a Job named {spec.handle} exists that this installation "
                f"({spec.installation or 'unnamed'}) did not create for this attempt"
            )
        if (job.get("metadata") or {}).get("deletionTimestamp"):
            raise BackendUnavailable(f"the Job {spec.handle} is being deleted; trying again later")
        return job

    def _read_job(self, handle: str) -> dict[str, Any]:
        try:
            return self._json(
                self.batch.read_namespaced_job(
                    handle, self.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                )
            )
        except _API_ERRORS as exc:
            raise api_failure(exc, f"cannot adopt the existing Job {handle}") from exc

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
                raise api_failure(exc, f"cannot delete the Job {handle}") from exc
        except _API_ERRORS as exc:
            raise api_failure(exc, f"cannot delete the Job {handle}") from exc
        self._forget(handle)

    def _delete_quietly(self, handle: str) -> None:
        try:
            self.cancel(handle)
        except BackendError as exc:
            log.warning("could not delete the Job %s: %s", handle, exc)

    # -- reconcile ------------------------------------------------------------------------

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        """The Jobs of these attempts only, by label selector: the cost follows the active
        attempts, never the history (finished Jobs kept for their TTL). Their pods are read
        only for the Jobs that need it."""
        if not handles:
            return {}
        try:
            jobs = {j["metadata"]["name"]: j for j in self._list_handles(self.batch, handles)}
            pods: dict[str, list[dict[str, Any]]] | None = None
            needing = [h for h in handles if _needs_pods(jobs.get(h))]
            if needing:
                pods = defaultdict(list)
                for pod in self._list_handles(self.core, needing):
                    pods[(pod["metadata"].get("labels") or {}).get(LABEL_HANDLE, "")].append(pod)
        except _API_ERRORS as exc:
            raise api_failure(exc, "cannot list Petri's Jobs") from exc
        now = self.clock()
        states = {}
        for handle in handles:
            outcome = classify(
                handle,
                jobs.get(handle),
                None if pods is None else pods.get(handle, []),
                now=now,
                graces=self.graces,
                first_seen=self._seen,
            )
            if outcome.queued:
                self._forget(handle)
            states[handle] = self._settle(outcome)
        live = set(handles)
        with self._lock:
            for key in [key for key in self._first_seen if key[0] not in live]:
                del self._first_seen[key]
        return states

    def _list_handles(self, api: Any, handles: list[str]) -> list[dict[str, Any]]:
        method = api.list_namespaced_job if api is self.batch else api.list_namespaced_pod
        items: list[dict[str, Any]] = []
        for start in range(0, len(handles), HANDLES_PER_LIST):
            chunk = sorted(handles[start : start + HANDLES_PER_LIST])
            items += self._list(method, f"{SELECTOR},{LABEL_HANDLE} in ({','.join(chunk)})")
        return items

    def unfinished_handles(self) -> list[str]:
        """This installation's Jobs that have not finished, whatever the database says."""
        selector = f"{SELECTOR},{LABEL_INSTALLATION}={self.installation}"
        try:
            jobs = self._list(self.batch.list_namespaced_job, selector)
        except _API_ERRORS as exc:
            raise api_failure(exc, "cannot list Petri's Jobs") from exc
        return [j["metadata"]["name"] for j in jobs if not finished(j)]

    def _seen(self, key: tuple[str, str], reported: datetime | None) -> datetime:
        """When this attempt was first seen waiting: the API's word, or this process's memory."""
        with self._lock:
            mine = self._first_seen.setdefault(key, self.clock())
        return min(mine, reported) if reported else mine

    def _forget(self, handle: str) -> None:
        with self._lock:
            for key in [key for key in self._first_seen if key[0] == handle]:
                del self._first_seen[key]

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
        self._forget(state.handle)
        return BackendState(state.handle, state.phase, state.exit_code, state.reason, message)

    # -- nodes ------------------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        """Nodes runner pods may use (ready, uncordoned, matching the node selector, taints
        tolerated) with what is allocatable and requested; cached a few seconds."""
        with self._lock:
            cached = self._nodes
        if cached and self.monotonic() - cached[0] < NODES_CACHE_SECONDS:
            return cached[1]
        active = "status.phase!=Succeeded,status.phase!=Failed"
        selector = ",".join(f"{k}={v}" for k, v in sorted(self.options.node_selector.items()))
        try:
            nodes = self._list(self.core.list_node, selector or None, namespaced=False)
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
            raise api_failure(exc, "cannot list the cluster's nodes") from exc
        usable = [n for n in nodes if node_report.tolerated(n, self.options.tolerations)]
        report = node_report.summarize(usable, pods)
        with self._lock:
            self._nodes = (self.monotonic(), report)
        return report

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
        """Every item of a LIST, page by page. A continue token that expired (410 Gone) starts
        the LIST again from the first page, as client-go's pager does."""
        args = (self.namespace,) if namespaced else ()
        for relist in range(RELISTS_ON_GONE + 1):
            items: list[dict[str, Any]] = []
            token = None
            try:
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
            except ApiException as exc:
                if exc.status != 410 or token is None or relist == RELISTS_ON_GONE:
                    raise
                log.info("a LIST's continue token expired; listing again from the start")
        raise AssertionError("unreachable")

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
