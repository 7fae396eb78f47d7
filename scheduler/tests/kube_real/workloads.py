"""What the tier runs in real pods, submitted together at the start of the session so the pods
start side by side; each test then asserts on its own experiment."""

from __future__ import annotations

import io
import textwrap
import zipfile
from typing import Any

from scheduler.backends.base import JobSpec
from scheduler.tests.kube_real.petri import HOST_IP, KubePetri

INSTALLATION = "sysabc"  # the backend tests' own installation id


def code_zip(main: str) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as zipped:
        zipped.writestr(zipfile.ZipInfo("main.py", date_time=(2026, 1, 1, 0, 0, 0)), main)
    return stream.getvalue()


UPLOADED = textwrap.dedent(
    """
    import json, os, pathlib
    params = json.loads(pathlib.Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    out = pathlib.Path(os.environ["PETRI_OUTPUT_DIR"])
    print("uploaded code says", params["x"])
    (out / "metrics.json").write_text(json.dumps({"score": params["x"] * 10}))
    """
)
SCHEMA = {"x": {"type": "int", "default": 1, "minimum": 0, "maximum": 10}}

GREEDY = textwrap.dedent(
    """
    import time
    hoard = []
    print("allocating", flush=True)
    while True:
        hoard.append(bytearray(16 * 1024 * 1024))
    """
)

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


def uploaded(petri: KubePetri, name: str, main: str, **body: Any) -> int:
    artifact = petri.upload_code(name, code_zip(main))
    return petri.submit(artifact=artifact, entrypoint=["python", "main.py"], **body)


def submit_all(petri: KubePetri) -> dict[str, int]:
    """Every experiment of the tier's tests, by name: about ten pods of 0.1-0.2 CPU at once."""
    return {
        "catalog": petri.submit(
            algorithm="sleep-and-score", parameters={"x": [0, 1], "y": [-2, 0], "duration": 0}
        ),
        "uploaded": uploaded(
            petri, "code.zip", UPLOADED, parameter_schema=SCHEMA, parameters={"x": [2, 3]}
        ),
        # Runs until its test cancels it (long enough for any order of the tests).
        "live": petri.submit(
            algorithm="sleep-and-score", parameters={"duration": 900, "steps": 900}
        ),
        "oom": uploaded(
            petri,
            "greedy.zip",
            GREEDY,
            parameter_schema={},
            parameters={},
            resources={"cpu": 0.2, "memory": "96Mi"},
        ),
        "deadline": petri.submit(
            algorithm="sleep-and-score", parameters={"duration": 300, "steps": 300}, timeout=5
        ),
        "probe": uploaded(petri, "probe.zip", PROBE, parameter_schema={}, parameters={}),
    }


def spec(job_id: int, installation: str = INSTALLATION) -> JobSpec:
    """An attempt the backend tests make Jobs for directly (no Petri behind them)."""
    return JobSpec(
        job_id=job_id,
        attempt=1,
        handle=f"petri-{installation}-{job_id}-1",
        token=f"{job_id}.1.not-a-real-token",
        api_url=f"http://{HOST_IP}:9",
        algorithm="sleep-and-score",
        resources={"cpu": 0.1, "memory": "64Mi"},
        installation=installation,
    )
