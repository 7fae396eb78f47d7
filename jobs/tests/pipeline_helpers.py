"""Shared pieces of the pipeline tests: algorithms, a spec, and running a stage's jobs."""

from __future__ import annotations

import json

from jobs import services
from jobs.models import Experiment, Job, JobStatus
from jobs.tests.factories import AlgorithmFactory, finish_job

TRUTH = {"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", "type": "directed"}]}
FOUND = {"nodes": ["x", "y"], "edges": [{"source": "y", "target": "x", "type": "directed"}]}


def algorithms() -> dict[str, object]:
    return {
        "gen": AlgorithmFactory(name="gen", produces="dataset", dataset_input="none"),
        "disc": AlgorithmFactory(name="disc", dataset_input="required"),
        "other": AlgorithmFactory(name="other", dataset_input="required"),
    }


def study(**overrides) -> dict:
    """generate (two seeds) -> disc and other -> compare."""
    stages = {
        "generate": {"name": "generate", "algorithm": "gen", "parameters": {"n": [1, 2]}},
        "disc": {"name": "disc", "algorithm": "disc", "inputs": {"dataset": "generate"}},
        "other": {"name": "other", "algorithm": "other", "inputs": {"dataset": "generate"}},
        "compare": {"name": "compare", "type": "compare", "needs": ["disc", "other"]},
    }
    for name, changes in overrides.items():
        stages[name] = {**stages[name], **changes}
    return {"name": "study", "stages": list(stages.values())}


def stage_jobs(pipeline, stage: str):
    return Job.objects.filter(experiment__pipeline_stage__pipeline=pipeline).filter(
        experiment__pipeline_stage__name=stage
    )


def experiments(pipeline, stage: str):
    return Experiment.objects.filter(pipeline_stage__pipeline=pipeline, pipeline_stage__name=stage)


def succeed(capture, jobs, *, graph: dict | None = None, metrics: dict | None = None) -> None:
    """Run each job to success; a generator writes a CSV (distinct per job) and the truth."""
    for job in list(jobs):
        files = {}
        if job.experiment.algorithm.produces == "dataset":
            files = {
                "data.csv": f"x,y\n{job.pk},1\n2,3\n".encode(),
                "graph.json": json.dumps(TRUTH).encode(),
            }
        elif graph is not None:
            files = {"graph.json": json.dumps(graph).encode()}
        with capture(execute=True):
            finish_job(job, metrics=metrics, files=files)


def fail(capture, jobs) -> None:
    for job in list(jobs):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, max_attempts=job.attempt)
        with capture(execute=True):
            services.fail_attempt(job.pk, job.attempt, "algorithm_error", "boom")
