"""``petri pipeline``: submit a pipeline.yaml and watch it, status, table, cancel, retry."""

from __future__ import annotations

import pytest

from jobs.models import Pipeline, Quota

pytestmark = pytest.mark.django_db(transaction=True)

PIPELINE = """
name: small study
stages:
  - name: generate
    algorithm: generate-linear-gaussian
    parameters: {nodes: 4, edge_density: 0.5, samples: 200, seed: 3}
  - name: pc
    algorithm: pc
    inputs: {dataset: generate}
  - name: compare
    type: compare
    needs: [pc]
"""


def test_submit_watch_follows_the_stages_to_the_compare_table(signed_in, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)

    watched = signed_in("pipeline", "submit", "pipeline.yaml", "--watch")

    assert watched.returncode == 0, watched.stderr + watched.stdout
    pipeline = Pipeline.objects.get()
    assert f"pipeline {pipeline.pk}: 3 stages submitted" in watched.stdout
    assert f"pipeline {pipeline.pk} succeeded" in watched.stdout
    header = next(line for line in watched.stdout.splitlines() if line.startswith("algorithm"))
    assert header.split()[:4] == ["algorithm", "dataset", "job", "shd"]
    status = signed_in("pipeline", "status", str(pipeline.pk))
    assert status.returncode == 0, status.stderr
    assert [line.split()[:3] for line in status.stdout.splitlines()[3:]] == [
        ["generate", "generate-linear-gaussian", "succeeded"],
        ["pc", "pc", "succeeded"],
        ["compare", "compare", "succeeded"],
    ]
    table = signed_in("pipeline", "table", str(pipeline.pk))
    assert table.returncode == 0, table.stderr
    assert len([line for line in table.stdout.splitlines() if line.startswith("pc ")]) == 1
    listed = signed_in("pipeline", "list")
    assert "small study" in listed.stdout and "succeeded" in listed.stdout


def test_a_bad_pipeline_is_refused_naming_the_stage_and_field(signed_in, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.replace("dataset: generate", "dataset: gen"))

    refused = signed_in("pipeline", "submit", "pipeline.yaml")

    assert refused.returncode == 1
    assert "stages.pc.inputs.dataset" in refused.stderr and "'gen' does not exist" in refused.stderr
    assert not Pipeline.objects.exists()


def test_cancel_and_retry_a_pipeline_whose_dataset_is_a_local_file(signed_in, tmp_path, user):
    Quota.objects.create(user=user, max_running=0)  # its jobs wait, so the test decides
    (tmp_path / "points.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "pipeline.yaml").write_text(
        "name: held\nstages:\n  - {name: score, algorithm: sleep-and-score, dataset: points.csv}\n"
    )
    submitted = signed_in("pipeline", "submit", "pipeline.yaml")
    assert submitted.returncode == 0, submitted.stderr
    pipeline = Pipeline.objects.get()
    assert pipeline.stages.get().experiments.get().dataset.rows == 2

    cancelled = signed_in("pipeline", "cancel", str(pipeline.pk))
    retried = signed_in("pipeline", "retry", str(pipeline.pk))

    assert cancelled.stdout.strip() == f"pipeline {pipeline.pk} is cancelled"
    assert retried.stdout.strip() == f"pipeline {pipeline.pk} is running again: score"
    again = signed_in("pipeline", "retry", str(pipeline.pk))
    assert again.returncode == 1 and "nothing to retry" in again.stderr
