from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import FailureReason, Job, JobEvent, JobStatus, OutputFile
from jobs.tests.factories import make_dataset, make_experiment


@pytest.fixture
def claimed(user, catalog, client):
    """Two jobs claimed by a scheduler, each with its own runner token."""
    dataset = make_dataset(user, rows=3)
    make_experiment(user, catalog["sleep-and-score"], dataset=dataset, parameters={"x": [1, 2]})
    return services.claim_waiting_jobs(scheduler="test", backend="noop", limit=10)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_spec_describes_the_tokens_own_job_and_attempt(client, claimed):
    first, second = claimed
    for item in (first, second):
        spec = client.get("/api/runner/job/", **bearer(item.token)).json()
        assert spec["job"] == item.job_id
        assert spec["attempt"] == item.attempt
        assert spec["parameters"] == Job.objects.get(pk=item.job_id).parameters
        assert spec["algorithm"]["entrypoint"] == ["python", "main.py"]
        assert spec["dataset_url"] == "/api/runner/dataset/"
    data = client.get("/api/runner/dataset/", **bearer(first.token))
    assert b"".join(data.streaming_content).startswith(b"x,y\n")


def test_a_missing_or_forged_token_is_refused(client, claimed):
    assert client.get("/api/runner/job/").status_code == 401
    forged = claimed[0].token[:-4] + "abcd"
    assert client.get("/api/runner/job/", **bearer(forged)).status_code == 401
    other_job = f"{claimed[1].job_id}.1.{claimed[0].token.split('.')[2]}"
    assert client.get("/api/runner/job/", **bearer(other_job)).status_code == 401


def test_a_user_api_token_is_not_a_runner_token(api, client, claimed):
    assert api.get("/api/runner/job/").status_code == 401


def test_events_move_the_job_to_running_and_store_logs_and_metrics(client, claimed):
    item = claimed[0]
    body = {
        "events": [
            {"type": "started"},
            {"type": "progress", "value": 0.5},
            {"type": "log", "lines": ["hello", "world"]},
            {"type": "metric", "name": "loss", "value": 0.3, "step": 2},
            {"type": "heartbeat"},
        ]
    }
    response = client.post(
        "/api/runner/events/", body, content_type="application/json", **bearer(item.token)
    )
    assert response.status_code == 200, response.content
    job = Job.objects.get(pk=item.job_id)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.progress == 0.5
    assert job.started_at is not None
    logs = JobEvent.objects.get(job=job, kind="log")
    assert logs.data["lines"] == ["hello", "world"]
    assert JobEvent.objects.get(job=job, kind="metric").data == {
        "name": "loss",
        "value": 0.3,
        "step": 2,
    }


def test_a_malformed_event_is_a_400_naming_the_field(client, claimed):
    response = client.post(
        "/api/runner/events/",
        {"events": [{"type": "metric", "value": 1}]},
        content_type="application/json",
        **bearer(claimed[0].token),
    )
    assert response.status_code == 400
    assert "name" in response.json()["events"]["0"]


def test_files_are_stored_under_their_relative_name_and_paths_out_are_refused(client, claimed):
    item = claimed[0]
    response = client.put(
        "/api/runner/files/plots/a.txt",
        b"abc",
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION="attachment; filename=a.txt",
        **bearer(item.token),
    )
    assert response.status_code == 201, response.content
    stored = OutputFile.objects.get(job_id=item.job_id)
    assert (stored.name, stored.size) == ("plots/a.txt", 3)
    escape = client.put(
        "/api/runner/files/../../etc/passwd",
        b"x",
        content_type="application/octet-stream",
        **bearer(item.token),
    )
    assert escape.status_code in (400, 404)


def test_the_result_is_idempotent_and_the_token_dies_with_the_attempt(client, claimed):
    item = claimed[0]
    result = {"status": "succeeded", "exit_code": 0, "metrics": {"score": 1.5}}
    first = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )
    assert first.status_code == 200
    assert first.json()["status"] == "succeeded"
    assert Job.objects.get(pk=item.job_id).result.metrics == {"score": 1.5}
    again = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )
    assert again.status_code == 401
    assert client.get("/api/runner/job/", **bearer(item.token)).status_code == 401


def test_a_runner_that_could_not_set_up_its_sandbox_is_retried_as_a_backend_error(client, claimed):
    item = claimed[0]
    result = {
        "status": "failed",
        "exit_code": None,
        "error": "cannot set up the sandbox: bwrap: No permissions",
        "failure_reason": "backend_error",
    }
    answer = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )
    assert answer.status_code == 200, answer.content
    job = Job.objects.get(pk=item.job_id)
    assert (job.status, job.attempt) == (JobStatus.WAITING, 2)  # the infrastructure's fault


def test_a_retried_job_refuses_the_previous_attempts_token(client, claimed):
    item = claimed[0]
    services.fail_attempt(item.job_id, item.attempt, FailureReason.LOST, "gone")
    job = Job.objects.get(pk=item.job_id)
    assert (job.status, job.attempt) == (JobStatus.WAITING, 2)
    assert client.get("/api/runner/job/", **bearer(item.token)).status_code == 401
    reclaimed = services.claim_waiting_jobs(
        scheduler="test", backend="noop", limit=10, now=job.not_before
    )
    assert [c.job_id for c in reclaimed] == [item.job_id]
    assert reclaimed[0].token != item.token
    assert client.get("/api/runner/job/", **bearer(reclaimed[0].token)).json()["attempt"] == 2


def test_a_cancelled_job_refuses_its_runner(client, claimed):
    item = claimed[0]
    services.cancel_job(Job.objects.get(pk=item.job_id))
    response = client.post(
        "/api/runner/events/",
        {"events": [{"type": "heartbeat"}]},
        content_type="application/json",
        **bearer(item.token),
    )
    assert response.status_code == 401


def _events(client, item, events):
    return client.post(
        "/api/runner/events/",
        {"events": events},
        content_type="application/json",
        **bearer(item.token),
    )


def test_a_negative_live_metric_is_stored_with_the_log_lines_of_its_batch(client, claimed):
    item = claimed[0]
    events = [
        {"type": "started"},
        {"type": "log", "lines": ["before"]},
        {"type": "metric", "name": "loglik", "value": -3.5, "step": 1},
        {"type": "log", "lines": ["after"]},
    ]

    response = _events(client, item, events)

    assert response.status_code == 200, response.content
    job = Job.objects.get(pk=item.job_id)
    assert job.status == JobStatus.RUNNING
    stored = JobEvent.objects.filter(job=job).order_by("id")
    assert [e.data.get("lines") for e in stored if e.kind == JobEvent.Kind.LOG] == [
        ["before"],
        ["after"],
    ]
    [metric] = [e.data for e in stored if e.kind == JobEvent.Kind.METRIC]
    assert metric["value"] == -3.5


def test_negative_progress_is_still_a_400_naming_the_value(client, claimed):
    response = _events(client, claimed[0], [{"type": "progress", "value": -0.1}])

    assert response.status_code == 400
    assert "value" in response.json()["events"]["0"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "metric", "name": "a\x00b", "value": 1}, "name"),
        ({"type": "metric", "name": "m", "value": 1, "step": 10**30}, "step"),
        ({"type": "metric", "name": "m", "value": 10**400}, "value"),
    ],
    ids=["nul-name", "huge-step", "huge-value"],
)
def test_an_event_no_database_could_store_is_a_400_naming_the_field(client, claimed, event, field):
    response = _events(client, claimed[0], [event])

    assert response.status_code == 400
    assert field in response.json()["events"]["0"]


@pytest.mark.parametrize(
    ("result", "field"),
    [
        ({"status": "failed", "exit_code": 10**30}, "exit_code"),
        ({"status": "succeeded", "metrics": {"a\x00b": 1.0}}, "metrics"),
        ({"status": "succeeded", "metrics": {"shd": 10**400}}, "metrics"),
    ],
    ids=["huge-exit-code", "nul-metric-name", "huge-metric"],
)
def test_a_result_no_database_could_store_is_a_400_naming_the_field(client, claimed, result, field):
    item = claimed[0]

    response = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )

    assert response.status_code == 400
    assert field in response.json()
    assert Job.objects.get(pk=item.job_id).status not in (JobStatus.SUCCEEDED, JobStatus.FAILED)


def _put_file(client, item, path: str, content: bytes):
    return client.put(
        f"/api/runner/files/{path}",
        content,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION="attachment; filename=x",
        **bearer(item.token),
    )


def test_a_file_name_with_a_nul_is_a_400(client, claimed):
    response = _put_file(client, claimed[0], "a%00b.txt", b"abc")

    assert response.status_code == 400
    assert not OutputFile.objects.exists()


def test_a_graph_json_nested_50000_deep_is_refused_at_upload(client, claimed):
    deep = b'{"nodes": [], "edges": [], "sepsets": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"

    response = _put_file(client, claimed[0], "graph.json", deep)

    assert response.status_code == 400
    assert "nested" in response.json()["file"][0]
    assert not OutputFile.objects.exists()


def test_a_result_carries_the_last_events_and_small_files_stored_before_it(client, claimed):
    import base64

    item = claimed[0]
    result = {
        "status": "succeeded",
        "exit_code": 0,
        "metrics": {"score": 2.0},
        "events": [
            {"type": "started"},
            {"type": "log", "lines": ["hello", "bye"]},
            {"type": "metric", "name": "loss", "value": 0.5, "step": 1},
        ],
        "files": [{"name": "sub/out.txt", "content": base64.b64encode(b"done").decode()}],
    }

    response = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )

    assert response.status_code == 200, response.json()
    job = Job.objects.get(pk=item.job_id)
    assert job.status == JobStatus.SUCCEEDED and job.started_at is not None
    lines = [line for e in JobEvent.objects.filter(job=job, kind="log") for line in e.data["lines"]]
    assert lines == ["hello", "bye"]
    stored = OutputFile.objects.get(job=job)
    assert (stored.name, stored.size, stored.file.read()) == ("sub/out.txt", 4, b"done")


def test_a_started_event_in_the_result_gives_the_runners_start_time_within_claim_and_now(
    client, claimed
):
    early, late = claimed
    claimed_at = timezone.now() - timedelta(minutes=1)
    Job.objects.filter(pk=early.job_id).update(claimed_at=claimed_at)
    started = claimed_at + timedelta(seconds=10)
    posts = [
        (early, started),
        # A runner's clock ahead of the server's, or behind the claim, is kept within them.
        (late, timezone.now() + timedelta(hours=1)),
    ]
    for item, when in posts:
        result = {
            "status": "succeeded",
            "exit_code": 0,
            "events": [{"type": "started", "time": when.isoformat()}],
        }
        response = client.post(
            "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
        )
        assert response.status_code == 200, response.json()

    first, second = (Job.objects.get(pk=item.job_id) for item, _ in posts)
    assert first.started_at == started
    assert first.status == JobStatus.SUCCEEDED
    assert second.claimed_at < second.started_at <= second.finished_at


@pytest.mark.parametrize(
    ("file", "field"),
    [
        ({"name": "../escape.txt", "content": ""}, "name"),
        ({"name": "ok.txt", "content": "not base64!"}, "content"),
    ],
)
def test_a_bad_inline_file_is_a_400_naming_it_and_nothing_is_stored(client, claimed, file, field):
    item = claimed[0]
    result = {
        "status": "succeeded",
        "exit_code": 0,
        "events": [{"type": "log", "lines": ["kept?"]}],
        "files": [file],
    }

    response = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )

    assert response.status_code == 400
    assert field in str(response.json()["files"])
    assert not JobEvent.objects.filter(job_id=item.job_id, kind="log").exists()
    assert not OutputFile.objects.exists()
    assert Job.objects.get(pk=item.job_id).status != JobStatus.SUCCEEDED


def test_a_bad_inline_graph_leaves_neither_events_nor_files_nor_a_result(client, claimed):
    import base64

    item = claimed[0]
    deep = b'{"nodes": [], "edges": [], "sepsets": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    files = [
        {"name": "a.txt", "content": base64.b64encode(b"a").decode()},
        {"name": "graph.json", "content": base64.b64encode(deep).decode()},
    ]
    result = {"status": "succeeded", "events": [{"type": "log", "lines": ["x"]}], "files": files}

    response = client.post(
        "/api/runner/result/", result, content_type="application/json", **bearer(item.token)
    )

    assert response.status_code == 400
    assert not JobEvent.objects.filter(job_id=item.job_id, kind="log").exists()
    assert not OutputFile.objects.exists()
    assert Job.objects.get(pk=item.job_id).status != JobStatus.SUCCEEDED
