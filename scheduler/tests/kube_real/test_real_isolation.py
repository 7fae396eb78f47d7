"""Issue 12 on Kubernetes: a runner pod reaches nothing but the runner API with what it holds."""

from __future__ import annotations

import io
import textwrap
import zipfile

import pytest

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]

# Runs as uploaded code inside the runner pod, doing what an attacker would: read every
# environment it can see (its own and the runner's), try the runner token on a user endpoint,
# and knock on the host's Postgres and Redis ports through the pod's gateway.
PROBE = textwrap.dedent(
    """
    import json, os, pathlib, socket, urllib.error, urllib.request

    seen = dict(os.environ)
    for pid in ("1", str(os.getppid())):
        try:
            raw = pathlib.Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        for item in raw.split(b"\\0"):
            key, _, value = item.decode(errors="replace").partition("=")
            if key:
                seen.setdefault(key, value)
    # (KUBERNETES_SERVICE_HOST and friends are the API's address, set in every pod: no secret.)
    secret_words = ("DATABASE", "POSTGRES", "REDIS", "SECRET_KEY", "PASSWORD", "CLIENT_SECRET")
    leaked = sorted(k for k in seen if any(w in k for w in secret_words))
    print("leaked variables:", leaked)

    def status(path, token):
        request = urllib.request.Request(
            seen["PETRI_API_URL"] + path, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    token = seen.get("PETRI_JOB_TOKEN", "")
    print("runner token found:", bool(token))
    user_paths = ("/api/experiments/", "/api/jobs/", "/api/datasets/")
    codes = {path: status(path, token) for path in user_paths}
    print("user endpoints with the runner token:", codes)
    runner_ok = status("/api/runner/job/", token)

    def reachable(port):
        try:
            with socket.create_connection(("10.244.0.1", port), timeout=3):
                return 1
        except OSError as exc:
            print(f"10.244.0.1:{port}:", exc)
            return 0

    metrics = {
        "leaked": len(leaked),
        "token_found": int(bool(token)),
        "runner_endpoint": runner_ok,
        "user_endpoint_max_ok": max(1 if c < 400 else 0 for c in codes.values()),
        "postgres": reachable(5432),
        "redis": reachable(6379),
        "automount_token": int(
            os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/token")
        ),
    }
    out = pathlib.Path(os.environ["PETRI_OUTPUT_DIR"])
    (out / "metrics.json").write_text(json.dumps(metrics))
    """
)


def test_a_runner_pod_cannot_reach_the_database_redis_or_user_endpoints(petri):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as zipped:
        zipped.writestr(zipfile.ZipInfo("main.py", date_time=(2026, 1, 1, 0, 0, 0)), PROBE)
    artifact = petri.upload_code("probe.zip", stream.getvalue())
    experiment = petri.submit(
        artifact=artifact, entrypoint=["python", "main.py"], parameter_schema={}, parameters={}
    )

    (job,) = petri.wait_final(experiment, timeout=120)

    assert job["status"] == "succeeded", job["error"]
    found = job["metrics"]
    log = "\n".join(petri.log_lines(job["id"]))
    assert found["leaked"] == 0, log  # no database, Redis or secret-key variable anywhere
    assert found["automount_token"] == 0  # no service-account token to talk to the cluster
    # Even with the runner's own token in hand, only the runner endpoints answer.
    assert found["token_found"] == 1 and found["runner_endpoint"] == 200, log
    assert found["user_endpoint_max_ok"] == 0, log
    assert found["postgres"] == 0 and found["redis"] == 0, log
