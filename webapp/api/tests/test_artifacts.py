"""Uploaded code: artifacts, experiments over them, and their run through the real runner."""

from __future__ import annotations

import hashlib
import io
import tarfile
import textwrap
import zipfile

import pytest

from jobs.models import Algorithm, Artifact, Job

MAIN = textwrap.dedent(
    """
    import json, os, pathlib
    params = json.loads(pathlib.Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    out = pathlib.Path(os.environ["PETRI_OUTPUT_DIR"])
    print("::metric step_score=1 step=1")
    score = params["x"] * 10 + (1 if params["mode"] == "fast" else 0)
    (out / "metrics.json").write_text(json.dumps({"score": score}))
    """
)
SCHEMA = {
    "x": {"type": "int", "default": 1, "minimum": 0, "maximum": 10},
    "mode": {"type": "choice", "values": ["fast", "slow"], "default": "fast"},
}


def code_zip(main: str = MAIN) -> io.BytesIO:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as zipped:
        # A fixed time stamp: the same code must give the same bytes (dedup).
        zipped.writestr(zipfile.ZipInfo("main.py", date_time=(2026, 1, 1, 0, 0, 0)), main)
    stream.seek(0)
    stream.name = "code.zip"
    return stream


def code_tar() -> io.BytesIO:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w:gz") as tarred:
        data = MAIN.encode()
        info = tarfile.TarInfo("main.py")
        info.size = len(data)
        tarred.addfile(info, io.BytesIO(data))
    stream.seek(0)
    stream.name = "code.tar.gz"
    return stream


def upload(api, stream, **extra):
    return api.post("/api/artifacts/", {"file": stream, **extra}, format="multipart")


def submit(api, artifact_id: int, **overrides):
    body = {
        "artifact": artifact_id,
        "entrypoint": ["python", "main.py"],
        "parameter_schema": SCHEMA,
        "parameters": {"x": [1, 2]},
        **overrides,
    }
    return api.post("/api/experiments/", body, format="json")


def test_a_zip_and_a_tar_gz_are_stored_with_hash_kind_and_size(api) -> None:
    zipped = upload(api, code_zip(), name="my code")
    tarred = upload(api, code_tar())

    assert zipped.status_code == 201, zipped.content
    assert (zipped.json()["kind"], zipped.json()["name"]) == ("zip", "my code")
    assert (tarred.json()["kind"], tarred.json()["name"]) == ("tar.gz", "code.tar.gz")
    assert len(zipped.json()["sha256"]) == 64 and zipped.json()["size"] > 0


def test_the_same_archive_twice_gives_back_the_same_artifact_per_user(api, other_api) -> None:
    first = upload(api, code_zip()).json()

    again = upload(api, code_zip())
    theirs = upload(other_api, code_zip())

    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert theirs.status_code == 201 and theirs.json()["id"] != first["id"]


def test_a_file_that_is_no_archive_is_a_400_naming_the_file(api) -> None:
    stream = io.BytesIO(b"print('hi')\n")
    stream.name = "main.py"

    response = upload(api, stream)

    assert response.status_code == 400
    assert "zip or a tar.gz" in response.json()["file"][0]


def test_an_archive_over_the_size_limit_is_refused(api, settings) -> None:
    settings.PETRI_MAX_UPLOAD_MB = 1
    response = upload(api, code_zip(MAIN + "#" * (2 * 1024 * 1024)))

    assert response.status_code == 400
    assert "limit is 1 MB" in response.json()["file"][0]
    assert not Artifact.objects.exists()


def test_artifacts_are_listed_read_and_deleted_by_their_owner_only(api, other_api) -> None:
    mine = upload(api, code_zip()).json()

    assert [a["id"] for a in api.get("/api/artifacts/").json()["results"]] == [mine["id"]]
    assert other_api.get("/api/artifacts/").json()["results"] == []
    assert other_api.get(f"/api/artifacts/{mine['id']}/").status_code == 404
    assert other_api.delete(f"/api/artifacts/{mine['id']}/").status_code == 404
    download = api.get(f"/api/artifacts/{mine['id']}/download/")
    assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist() == [
        "main.py"
    ]
    assert api.delete(f"/api/artifacts/{mine['id']}/").status_code == 204
    assert not Artifact.objects.exists()


def test_an_artifact_an_experiment_runs_cannot_be_deleted(api) -> None:
    artifact = upload(api, code_zip()).json()
    assert submit(api, artifact["id"]).status_code == 201

    response = api.delete(f"/api/artifacts/{artifact['id']}/")

    assert response.status_code == 409
    assert Artifact.objects.filter(pk=artifact["id"]).exists()


def test_an_experiment_over_an_artifact_makes_one_private_algorithm(api, user) -> None:
    artifact = upload(api, code_zip()).json()

    first = submit(api, artifact["id"])
    second = submit(api, artifact["id"], parameters={"x": 3})

    assert first.status_code == 201, first.content
    assert first.json()["job_count"] == 2
    [algorithm] = Algorithm.objects.filter(owner=user)
    assert algorithm.name.startswith(f"artifact-{artifact['id']}-")
    assert algorithm.artifact_id == artifact["id"]
    assert first.json()["algorithm"] == second.json()["algorithm"] == algorithm.name
    assert algorithm.name not in [a["name"] for a in api.get("/api/algorithms/").json()]


def test_another_users_artifact_algorithm_cannot_be_named(api, other_api) -> None:
    artifact = upload(api, code_zip()).json()
    name = submit(api, artifact["id"]).json()["algorithm"]

    response = other_api.post("/api/experiments/", {"algorithm": name}, format="json")

    assert response.status_code == 400
    assert "algorithm" in response.json()


def test_another_users_artifact_cannot_be_run(api, other_api) -> None:
    artifact = upload(api, code_zip()).json()

    response = submit(other_api, artifact["id"])

    assert response.status_code == 400
    assert "artifact" in response.json()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"entrypoint": "python main.py"}, "entrypoint", "list of strings"),
        ({"entrypoint": []}, "entrypoint", "list of strings"),
        ({"parameter_schema": {"x": {"type": "complex"}}}, "parameter_schema", "needs a type"),
        ({"parameter_schema": {"m": {"type": "choice"}}}, "parameter_schema", "needs values"),
        (
            {"parameter_schema": {"x": {"type": "int", "default": 20, "maximum": 10}}},
            "parameter_schema",
            "above the maximum",
        ),
        ({"parameter_schema": ["x"]}, "parameter_schema", "mapping"),
        ({"parameters": {"x": 11}}, "parameters", "above the maximum"),
        ({"parameters": {"y": 1}}, "parameters", "unknown parameter"),
    ],
)
def test_a_bad_entrypoint_schema_or_sweep_is_a_400_that_writes_nothing(
    api, overrides: dict, field: str, message: str
) -> None:
    artifact = upload(api, code_zip()).json()

    response = submit(api, artifact["id"], **overrides)

    assert response.status_code == 400
    assert field in response.json()
    assert message in str(response.json()[field])
    assert not Algorithm.objects.filter(owner__isnull=False).exists()
    assert not Job.objects.exists()


def test_an_algorithm_and_an_artifact_together_are_refused(api, catalog) -> None:
    artifact = upload(api, code_zip()).json()

    response = submit(api, artifact["id"], algorithm="sleep-and-score")

    assert response.status_code == 400
    assert "algorithm" in response.json()


def test_an_entrypoint_is_required_with_an_artifact(api) -> None:
    artifact = upload(api, code_zip()).json()

    response = api.post("/api/experiments/", {"artifact": artifact["id"]}, format="json")

    assert response.status_code == 400
    assert "entrypoint" in response.json()


def test_the_runner_spec_points_at_the_artifact_only_for_uploaded_code(
    api, client, user, catalog
) -> None:
    from jobs import services
    from jobs.tests.factories import make_experiment

    artifact = upload(api, code_zip()).json()
    submit(api, artifact["id"], parameters={"x": 1})
    make_experiment(user, catalog["sleep-and-score"])
    mine, catalogued = services.claim_waiting_jobs(scheduler="t", backend="noop", limit=2)

    spec = client.get("/api/runner/job/", HTTP_AUTHORIZATION=f"Bearer {mine.token}").json()
    assert spec["artifact_url"] == "/api/runner/artifact/"
    code = client.get(spec["artifact_url"], HTTP_AUTHORIZATION=f"Bearer {mine.token}")
    served = b"".join(code.streaming_content)
    assert hashlib.sha256(served).hexdigest() == artifact["sha256"]

    other = {"HTTP_AUTHORIZATION": f"Bearer {catalogued.token}"}
    assert client.get("/api/runner/job/", **other).json()["artifact_url"] is None
    assert client.get("/api/runner/artifact/", **other).status_code == 404
    assert client.get("/api/runner/artifact/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_sweep_over_uploaded_code_runs_through_the_real_runner(
    api, user, local_scheduler
) -> None:
    artifact = upload(api, code_zip()).json()
    created = submit(api, artifact["id"], parameters={"x": [2, 3], "mode": "fast"})
    assert created.status_code == 201, created.content
    experiment = created.json()["id"]

    def finished():
        body = api.get(f"/api/experiments/{experiment}/").json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = local_scheduler.run_until(finished, timeout=120, what="both artifact jobs")
    assert body["status"] == "succeeded", list(Job.objects.values_list("status", "error"))
    jobs = api.get(f"/api/jobs/?experiment={experiment}").json()["results"]
    assert sorted(j["metrics"]["score"] for j in jobs) == [21, 31]
    log = api.get(f"/api/jobs/{jobs[0]['id']}/log/").json()["lines"]
    assert any("unpacked 1 entries of uploaded code" in line for line in log)


def test_an_uploaded_code_experiment_says_how_to_submit_it_again(api, user) -> None:
    artifact = upload(api, code_zip()).json()
    first = submit(api, artifact["id"]).json()

    code = api.get(f"/api/experiments/{first['id']}/").json()["code"]
    assert code["artifact"] == artifact["id"]
    again = api.post(
        "/api/experiments/",
        {**code, "parameters": first["parameters"]},
        format="json",
    )

    assert again.status_code == 201, again.content
    assert again.json()["algorithm"] == first["algorithm"]
    assert again.json()["job_count"] == first["job_count"]
