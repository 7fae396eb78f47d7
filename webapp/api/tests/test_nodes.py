"""GET /api/nodes/: the nodes the scheduler last published, for users picking where a job runs."""

from __future__ import annotations

import threading

import pytest
from rest_framework.test import APIClient

from jobs.models import BackendNode
from jobs.services.nodes import publish_nodes
from scheduler.backends import BackendError, Node
from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler, run_forever

GIB = 1024**3


class NodesBackend(NoopBackend):
    """A noop backend that reports a fixed set of nodes, or fails to list them."""

    def __init__(self, nodes: list[Node] | None = None, error: str = "") -> None:
        super().__init__()
        self.listed, self.error = nodes or [], error

    def nodes(self) -> list[Node]:
        if self.error:
            raise BackendError(self.error)
        return self.listed


def gpu_node(requested_cpu: float = 4) -> Node:
    return Node(
        name="gpu-1",
        cpu_allocatable=16,
        cpu_requested=requested_cpu,
        memory_allocatable=64 * GIB,
        memory_requested=16 * GIB,
        gpu_allocatable=4,
        gpu_requested=1,
        labels={"pool": "gpu"},
    )


@pytest.fixture
def noop_settings(settings):
    settings.PETRI_BACKEND = "noop"
    settings.PETRI_BACKENDS = ["noop"]
    return settings


def test_nodes_need_an_authenticated_user(db):
    # 401, not 403: the token scheme is announced, so a client knows how to authenticate.
    response = APIClient().get("/api/nodes/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_before_any_scheduler_published_the_nodes_the_answer_is_a_503_saying_so(api, noop_settings):
    response = api.get("/api/nodes/")
    assert response.status_code == 503
    assert "no scheduler has published the nodes of noop" in response.json()["detail"]


def test_a_reconciling_scheduler_publishes_its_backends_nodes_with_what_is_free(api, noop_settings):
    scheduler = Scheduler(NodesBackend([gpu_node()]), identity="s1", reconcile_interval=0)
    scheduler.tick()

    response = api.get("/api/nodes/")

    assert response.status_code == 200
    (node,) = response.json()
    assert node["name"] == "gpu-1"
    assert (node["cpu_allocatable"], node["cpu_requested"], node["cpu_free"]) == (16, 4, 12)
    assert node["memory_free"] == 48 * GIB
    assert (node["gpu_allocatable"], node["gpu_requested"], node["gpu_free"]) == (4, 1, 3)
    assert node["labels"] == {"pool": "gpu"}
    assert node["backend"] == "noop"


def test_with_several_backends_the_nodes_of_each_are_listed_with_their_backend(api, noop_settings):
    noop_settings.PETRI_BACKENDS = ["noop", "kubernetes"]
    publish_nodes("kubernetes", "s2", [{"name": "gpu-1", **_fields(gpu_node())}])
    publish_nodes("noop", "s1", [{"name": "here", **_fields(gpu_node())}])
    publish_nodes("slurm", "s3", [{"name": "not-configured", **_fields(gpu_node())}])

    listed = [(node["backend"], node["name"]) for node in api.get("/api/nodes/").json()]

    assert listed == [("kubernetes", "gpu-1"), ("noop", "here")]


def test_the_next_reconcile_replaces_what_was_published(api, noop_settings):
    backend = NodesBackend([gpu_node(requested_cpu=4)])
    scheduler = Scheduler(backend, identity="s1", reconcile_interval=0)
    scheduler.tick()
    backend.listed = [gpu_node(requested_cpu=10)]
    scheduler.tick()

    (node,) = api.get("/api/nodes/").json()
    assert node["cpu_requested"] == 10


def test_a_backend_that_cannot_list_its_nodes_leaves_the_last_published_ones(api, noop_settings):
    backend = NodesBackend([gpu_node()])
    scheduler = Scheduler(backend, identity="s1", reconcile_interval=0)
    scheduler.tick()
    backend.error = "the API server timed out"
    scheduler.tick()

    assert [node["name"] for node in api.get("/api/nodes/").json()] == ["gpu-1"]


def test_a_stopping_scheduler_withdraws_only_the_nodes_it_published(db, noop_settings):
    publish_nodes("noop", "other-machine", [{"name": "other", **_fields(gpu_node())}])
    scheduler = Scheduler(NodesBackend([gpu_node()]), identity="s1", reconcile_interval=0)
    stop = threading.Event()
    scheduler.tick()
    stop.set()

    run_forever(scheduler, stop, poll_interval=0)

    # Only these two rows: a served scheduler of an earlier test may still publish its own.
    names = BackendNode.objects.filter(name__in=["gpu-1", "other"]).values_list("name", flat=True)
    assert list(names) == ["other"]


def _fields(node: Node) -> dict:
    return {key: value for key, value in vars(node).items() if key != "name"}
