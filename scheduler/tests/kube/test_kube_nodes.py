"""The cluster's nodes as the Kubernetes backend reports them for users to pick from."""

from __future__ import annotations

from scheduler.tests.kube.helpers import make_spec

GIB = 1024**3


def by_name(nodes):
    return {node.name: node for node in nodes}


def test_nodes_report_allocatable_resources_and_labels(cluster, backend):
    cluster.add_node("cpu-1", cpu="8", memory="32Gi", labels={"pool": "cpu"})
    cluster.add_node("gpu-1", cpu="16", memory="64Gi", gpu=4, labels={"pool": "gpu"})
    nodes = by_name(backend.nodes())
    assert set(nodes) == {"cpu-1", "gpu-1"}
    gpu = nodes["gpu-1"]
    assert (gpu.cpu_allocatable, gpu.memory_allocatable, gpu.gpu_allocatable) == (16.0, 64 * GIB, 4)
    assert gpu.labels["pool"] == "gpu"
    assert gpu.labels["kubernetes.io/hostname"] == "gpu-1"
    assert nodes["cpu-1"].gpu_allocatable == 0


def test_requested_sums_the_active_pods_bound_to_each_node(cluster, backend):
    cluster.add_node("n1", cpu="8", memory="32Gi", gpu=2)
    cluster.add_running_pod("a", "n1", {"cpu": "1500m", "memory": "2Gi"})
    cluster.add_running_pod("b", "n1", {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"})
    cluster.add_running_pod("done", "n1", {"cpu": "4", "memory": "8Gi"}, phase="Succeeded")
    backend.submit(make_spec(resources={"cpu": 1, "memory": "1Gi", "gpu": 1}))
    cluster.run("petri-7-1", node="n1")

    (node,) = backend.nodes()

    assert node.cpu_requested == 3.0
    assert node.memory_requested == 4 * GIB
    assert node.gpu_requested == 2


def test_cordoned_and_not_ready_nodes_are_left_out(cluster, backend):
    cluster.add_node("ok")
    cluster.add_node("cordoned", cordoned=True)
    cluster.add_node("down", ready=False)
    assert [node.name for node in backend.nodes()] == ["ok"]


def test_requests_count_only_petris_namespace_unless_told_to_read_the_cluster(
    cluster, make_backend
):
    cluster.add_node("n1", cpu="8", memory="32Gi")
    cluster.add_running_pod("mine", "n1", {"cpu": "1", "memory": "1Gi"}, namespace="petri")
    cluster.add_running_pod("theirs", "n1", {"cpu": "2", "memory": "1Gi"}, namespace="other")

    assert make_backend().nodes()[0].cpu_requested == 1.0
    assert make_backend(node_requests="cluster").nodes()[0].cpu_requested == 3.0


def test_nodes_take_one_call_for_nodes_and_one_for_pods(cluster, backend):
    for i in range(5):
        cluster.add_node(f"n{i}")
    backend.nodes()
    assert cluster.calls() == {("GET", "nodes"): 1, ("GET", "pods"): 1}


def test_nodes_follow_the_runner_node_selector_and_taints(cluster, make_backend):
    from scheduler.backends.kubernetes import JobOptions
    from scheduler.tests.kube.helpers import RUNNER_IMAGE

    cluster.add_node("batch-1", labels={"pool": "batch"})
    cluster.add_node("web-1", labels={"pool": "web"})
    gpu_taint = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    cluster.add_node("gpu-1", labels={"pool": "batch"}, taints=[gpu_taint])
    cluster.add_node(
        "soft", labels={"pool": "batch"}, taints=[{"key": "x", "effect": "PreferNoSchedule"}]
    )
    selecting = JobOptions(runner_image=RUNNER_IMAGE, node_selector={"pool": "batch"})
    tolerating = JobOptions(
        runner_image=RUNNER_IMAGE,
        node_selector={"pool": "batch"},
        tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
    )

    assert [n.name for n in make_backend(options=selecting).nodes()] == ["batch-1", "soft"]
    assert [n.name for n in make_backend(options=tolerating).nodes()] == [
        "batch-1",
        "gpu-1",
        "soft",
    ]


def test_nodes_are_cached_for_a_few_seconds(cluster, make_backend):
    now = [100.0]
    backend = make_backend(monotonic=lambda: now[0])
    cluster.add_node("n1")
    backend.nodes()
    backend.nodes()
    assert cluster.calls() == {("GET", "nodes"): 1, ("GET", "pods"): 1}
    now[0] += 16
    backend.nodes()
    assert cluster.count("GET", "nodes") == 2
