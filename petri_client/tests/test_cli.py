"""The ``petri`` command, run as a real subprocess against a real server."""

from __future__ import annotations

import csv
import json
import stat

import pytest

from jobs.models import Experiment, Job, JobStatus
from jobs.status import derive_status, job_counts
from petri_client.tests.helpers import Petri, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.real_password_hashing  # the sign-in checks a PBKDF2 hash in the served app
def test_login_saves_the_url_and_a_key_only_its_owner_can_read(signed_in, petri_server, user):
    assert user.password.startswith("pbkdf2_sha256$")
    saved = json.loads(signed_in.config.read_text())
    assert saved["url"] == petri_server.url and len(saved["key"]) > 20
    assert stat.S_IMODE(signed_in.config.stat().st_mode) == 0o600
    listed = signed_in("algorithms")
    assert listed.returncode == 0, listed.stderr
    assert "sleep-and-score" in listed.stdout


def test_the_environment_signs_in_without_a_config_file(signed_in, petri_server, tmp_path):
    token = json.loads(signed_in.config.read_text())["key"]
    elsewhere = Petri(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    # `list` needs a signed-in user and nothing a scheduler publishes first (as nodes are).
    listed = elsewhere("list", env={"PETRI_URL": petri_server.url, "PETRI_TOKEN": token})
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:2] == ["id", "name"]
    refused = elsewhere("list", env={"PETRI_URL": petri_server.url, "PETRI_TOKEN": "wrong"})
    assert refused.returncode == 1


def test_submit_watch_results_csv_status_and_logs(signed_in, tmp_path):
    (tmp_path / "points.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    (tmp_path / "experiment.yaml").write_text(
        "algorithm: sleep-and-score\n"
        "dataset: points.csv\n"
        "parameters:\n"
        "  x: [0, 1]\n"
        "  y: -2\n"
        "  steps: 2\n"
        "  duration: 0.1\n"
        "repeats: 1\n"
        "resources: {cpu: 1, memory: 128Mi}\n"
    )
    watched = signed_in("submit", "experiment.yaml", "--watch")
    assert watched.returncode == 0, watched.stderr
    experiment = Experiment.objects.get()
    assert f"experiment {experiment.pk}: 2 jobs submitted" in watched.stdout
    assert "succeeded" in watched.stdout and "2/2" in watched.stdout
    assert "score" in watched.stdout  # the results table's metric column
    assert experiment.dataset.rows == 3

    exported = signed_in("results", str(experiment.pk), "--csv", "results.csv")
    assert exported.returncode == 0, exported.stderr
    with (tmp_path / "results.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert sorted(float(r["params.x"]) for r in rows) == [0.0, 1.0]
    assert {r["status"] for r in rows} == {"succeeded"}
    best = max(rows, key=lambda r: float(r["metrics.score"]))
    assert (float(best["params.x"]), float(best["metrics.score"]), float(best["metrics.rows"])) == (
        1.0,
        0.0,
        3.0,
    )

    status = signed_in("status", str(experiment.pk))
    assert (
        f"experiment {experiment.pk}" in status.stdout and "succeeded, 100% done" in status.stdout
    )
    job = Job.objects.filter(experiment=experiment).first()
    logs = signed_in("logs", str(job.pk))
    assert logs.returncode == 0 and logs.stdout.strip()


def test_cancel_stops_a_running_experiment_and_logs_follow_it_to_the_end(signed_in, tmp_path):
    (tmp_path / "slow.yaml").write_text(
        "algorithm: sleep-and-score\nparameters: {x: 1, steps: 600, duration: 600}\n"
    )
    submitted = signed_in("submit", "slow.yaml")
    assert submitted.returncode == 0, submitted.stderr
    experiment = Experiment.objects.get()
    job = wait_for(
        lambda: Job.objects.filter(experiment=experiment, status=JobStatus.RUNNING).first(),
        "the job to run",
    )
    follower = signed_in.popen("logs", str(job.pk), "-f")
    cancelled = signed_in("cancel", str(experiment.pk))
    assert cancelled.returncode == 0, cancelled.stderr
    assert "1 jobs cancelled or cancelling" in cancelled.stdout
    wait_for(lambda: derive_status(job_counts(experiment)) == "cancelled", "the cancel")
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    assert "petri: cancelled" in out


def test_errors_are_one_line_on_stderr_with_a_failing_exit_status(signed_in, petri, tmp_path):
    (tmp_path / "bad.yaml").write_text("algorithm: sleep-and-score\nparameters: {x: 99}\n")
    refused = signed_in("submit", "bad.yaml")
    assert refused.returncode == 1
    assert refused.stderr.startswith("petri: parameters.x: ") and "maximum" in refused.stderr
    assert refused.stderr.count("\n") == 1
    missing = signed_in("status", "999999")
    assert (missing.returncode, missing.stderr) == (1, "petri: not found\n")
    signed_in.config.unlink()
    anonymous = petri("algorithms")
    assert anonymous.returncode == 1 and anonymous.stderr.startswith("petri: not signed in")


def test_a_wrong_password_is_refused_in_one_line(petri, petri_server, user):
    refused = petri(
        "login",
        "--url",
        petri_server.url,
        "--username",
        user.username,
        "--password-stdin",
        input="wrong\n",
    )
    assert (refused.returncode, refused.stderr) == (1, "petri: wrong username or password\n")
    assert not petri.config.exists()


def test_status_tells_why_waiting_jobs_wait(signed_in, user, tmp_path):
    from jobs.models import Quota

    Quota.objects.create(user=user, max_running=0)
    (tmp_path / "held.yaml").write_text("algorithm: sleep-and-score\nparameters: {x: [1, 2]}\n")
    assert signed_in("submit", "held.yaml").returncode == 0
    experiment = Experiment.objects.get()
    wait_for(
        lambda: (
            Job.objects.filter(experiment=experiment, wait_reason="waiting: job limit").count() == 2
        ),
        "the scheduler to label the jobs",
    )
    status = signed_in("status", str(experiment.pk))
    assert "2 waiting: job limit" in status.stdout
