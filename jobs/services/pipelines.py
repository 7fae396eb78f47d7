"""Pipelines: submit one (checked whole, written in one transaction), advance, cancel, retry.

A stage starts once every stage it needs is final. It fans out into one experiment per
upstream dataset: an experiment has one dataset, so the run table, the comparison with its
truth, cancel and retry all keep working per dataset (docs/pipelines.md says why). A pipeline
advances when one of its experiments ends (jobs/services/ended.py calls
``advance_after_experiments`` after that commit); ``advance_pipeline`` derives everything from
the rows, so calling it again changes nothing and calling it late catches up.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from jobs.errors import Conflict, InvalidInput
from jobs.models import (
    FINAL_STAGE_STATUSES,
    FINAL_STATUSES,
    Experiment,
    Job,
    JobStatus,
    Pipeline,
    PipelineStatus,
    Stage,
    StageStatus,
)
from jobs.services.lifecycle import cancel_experiment
from jobs.services.pipeline_compare import compare_table
from jobs.services.pipeline_inputs import best_parameters, upstream_datasets
from jobs.services.pipeline_spec import check_spec
from jobs.services.submit import submit_experiment
from jobs.signals import announce, pipeline_changed
from jobs.sweeps import NodeLister


def submit_pipeline(user: Any, spec: Any, list_nodes: NodeLister | None = None) -> Pipeline:
    """Check the whole spec, write the pipeline and its stages, and start its first stages.

    One transaction: a refused spec, or a first stage its own submit refuses, writes nothing.
    Schedules call this too (a fresh run per firing).
    """
    with transaction.atomic():
        plans = check_spec(user, spec, list_nodes)
        pipeline = Pipeline.objects.create(
            owner=user, name=spec.get("name") or "pipeline", spec=spec
        )
        Stage.objects.bulk_create(
            Stage(
                pipeline=pipeline,
                name=plan.name,
                position=position,
                kind=plan.kind,
                algorithm=plan.algorithm,
                dataset=plan.dataset,
                template=plan.template,
                inputs=plan.inputs,
                needs=plan.needs,
                on_failure=plan.on_failure,
            )
            for position, plan in enumerate(plans)
        )
        _advance(_locked(pipeline.pk), strict=True)
    return pipeline


def _locked(pipeline_id: int) -> Pipeline:
    return Pipeline.objects.select_for_update().get(pk=pipeline_id)


def advance_after_experiments(experiment_ids: list[int]) -> None:
    """The ended rule's hook: advance each pipeline one of these experiments belongs to."""
    pipeline_ids = set(
        Experiment.objects.filter(pk__in=experiment_ids, pipeline_stage__isnull=False).values_list(
            "pipeline_stage__pipeline_id", flat=True
        )
    )
    for pipeline_id in sorted(pipeline_ids):
        advance_pipeline(pipeline_id)


def advance_pipeline(pipeline_id: int) -> Pipeline:
    """Finish the stages whose experiments ended, start those now ready, end the pipeline."""
    with transaction.atomic():
        pipeline = _locked(pipeline_id)
        _advance(pipeline, strict=False)
    return pipeline


def advance_running_pipelines() -> int:
    """Advance every running pipeline: beat's safety net for an advance lost when a process
    died between an experiment's end and its hook. Idempotent; how many were looked at."""
    ids = list(Pipeline.objects.filter(status=PipelineStatus.RUNNING).values_list("pk", flat=True))
    for pipeline_id in ids:
        advance_pipeline(pipeline_id)
    return len(ids)


def _advance(pipeline: Pipeline, *, strict: bool) -> None:
    if pipeline.status != PipelineStatus.RUNNING:
        return
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    changed = True
    while changed and pipeline.status == PipelineStatus.RUNNING:
        changed = False
        for stage in stages.values():
            if stage.status == StageStatus.RUNNING and _finish_if_ended(stage):
                changed = True
                _apply_policy(pipeline, stage, stages)
            elif stage.status == StageStatus.PENDING and all(
                stages[name].status in FINAL_STAGE_STATUSES for name in stage.needs
            ):
                changed = True
                _start(stage, stages, strict=strict)
                if stage.status in FINAL_STAGE_STATUSES:
                    _apply_policy(pipeline, stage, stages)
            if pipeline.status != PipelineStatus.RUNNING:
                break
    if pipeline.status == PipelineStatus.RUNNING and all(
        s.status in FINAL_STAGE_STATUSES for s in stages.values()
    ):
        ok = all(s.status == StageStatus.SUCCEEDED for s in stages.values())
        _end(pipeline, PipelineStatus.SUCCEEDED if ok else PipelineStatus.FAILED)
    announce(pipeline_changed, pipeline_id=pipeline.pk, owner_id=pipeline.owner_id)


def _end(pipeline: Pipeline, status: str) -> None:
    pipeline.status, pipeline.finished_at = status, timezone.now()
    pipeline.save(update_fields=["status", "finished_at"])


def _set(stage: Stage, status: str, error: str = "") -> None:
    stage.status, stage.error = status, error[:2000]
    now = timezone.now()
    if status == StageStatus.RUNNING:
        stage.started_at = now
    elif status in FINAL_STAGE_STATUSES:
        stage.started_at = stage.started_at or now
        stage.finished_at = now
    stage.save(update_fields=["status", "error", "started_at", "finished_at", "result"])


def _finish_if_ended(stage: Stage) -> bool:
    """Whether a running stage is over: every experiment ended, or (stop) one ended badly.

    A stage that stops the pipeline on failure fails as soon as one of its experiments ended
    with a job that did not succeed; the others are then cancelled.
    """
    jobs = Job.objects.filter(experiment__pipeline_stage=stage)
    bad = jobs.filter(status__in=FINAL_STATUSES).exclude(status=JobStatus.SUCCEEDED).count()
    unfinished = jobs.exclude(status__in=FINAL_STATUSES).exists()
    if unfinished and not (bad and stage.on_failure == Stage.OnFailure.STOP):
        return False
    if bad:
        _set(stage, StageStatus.FAILED, f"{bad} of {jobs.count()} jobs did not succeed")
    else:
        _set(stage, StageStatus.SUCCEEDED)
    return True


def _apply_policy(pipeline: Pipeline, stage: Stage, stages: dict[str, Stage]) -> None:
    """A stage that did not succeed stops the pipeline, unless it says continue."""
    if stage.status == StageStatus.SUCCEEDED or stage.on_failure == Stage.OnFailure.CONTINUE:
        return
    _stop(pipeline, stages, StageStatus.SKIPPED, f"stage {stage.name!r} failed")
    _end(pipeline, PipelineStatus.FAILED)


def _stop(pipeline: Pipeline, stages: dict[str, Stage], pending_to: str, why: str) -> None:
    """Cancel every unfinished experiment and mark what waits; jobs stop through backends."""
    unfinished = Job.objects.filter(experiment=OuterRef("pk")).exclude(status__in=FINAL_STATUSES)
    running = Experiment.objects.filter(pipeline_stage__pipeline=pipeline).filter(
        Exists(unfinished)
    )
    for experiment in running:
        try:
            cancel_experiment(experiment)
        except Conflict:  # its last jobs are already being cancelled
            pass
    for other in stages.values():
        if other.status == StageStatus.RUNNING:
            _set(other, StageStatus.CANCELLED, why)
        elif other.status == StageStatus.PENDING:
            _set(other, pending_to, why)


def _start(stage: Stage, stages: dict[str, Stage], *, strict: bool) -> None:
    """Submit the stage's experiments (or score, for compare); a refusal fails the stage.

    ``strict`` (at submit): a refusal is the user's 400 and rolls everything back.
    """
    upstream = [stages[name] for name in stage.needs]
    if stage.kind == Stage.Kind.COMPARE:
        stage.result = compare_table(upstream)
        _set(stage, StageStatus.SUCCEEDED)
        return
    try:
        datasets = upstream_datasets(stage, stages)
        if datasets == []:
            source = stage.inputs["dataset"]["stage"]
            _set(stage, StageStatus.SKIPPED, f"stage {source!r} produced no dataset")
            return
        template = dict(stage.template)
        if "parameters" in stage.inputs:
            best = best_parameters(stages[stage.inputs["parameters"]["stage"]])
            template["parameters"] = {**best, **template.get("parameters", {})}
            schema = stage.algorithm.parameter_schema()
            template["parameters"] = {
                k: v for k, v in template["parameters"].items() if k in schema
            }
        with transaction.atomic():
            for dataset in datasets or [stage.dataset]:
                suffix = f" / {dataset.name}" if datasets else ""
                experiment = submit_experiment(
                    owner=stage.pipeline.owner,
                    algorithm=stage.algorithm,
                    dataset=dataset,
                    name=f"{stage.pipeline.name} / {stage.name}{suffix}"[:200],
                    **template,
                )
                Experiment.objects.filter(pk=experiment.pk).update(pipeline_stage=stage)
    except InvalidInput as exc:
        if strict:
            raise InvalidInput({"stages": {stage.name: exc.errors}}) from None
        _set(stage, StageStatus.FAILED, f"could not start: {exc.errors}")
        return
    _set(stage, StageStatus.RUNNING)


def cancel_pipeline(pipeline: Pipeline) -> Pipeline:
    """Cancel a running pipeline: its running experiments, and every stage not yet run."""
    with transaction.atomic():
        pipeline = _locked(pipeline.pk)
        if pipeline.status != PipelineStatus.RUNNING:
            raise Conflict(f"pipeline {pipeline.pk} is already {pipeline.status}")
        stages = {stage.name: stage for stage in pipeline.stages.all()}
        _stop(pipeline, stages, StageStatus.CANCELLED, "the pipeline was cancelled")
        _end(pipeline, PipelineStatus.CANCELLED)
        announce(pipeline_changed, pipeline_id=pipeline.pk, owner_id=pipeline.owner_id)
    return pipeline


def retry_pipeline(pipeline: Pipeline) -> Pipeline:
    """Run a failed or cancelled pipeline again from where it stopped.

    Stages that succeeded keep their results; every other stage, and every stage after one,
    runs again as new experiments (the old ones stay, listed in ``previous_experiments``).
    """
    with transaction.atomic():
        pipeline = _locked(pipeline.pk)
        if pipeline.status not in (PipelineStatus.FAILED, PipelineStatus.CANCELLED):
            raise Conflict(f"pipeline {pipeline.pk} is {pipeline.status}; nothing to retry")
        rerun: set[str] = set()
        for stage in pipeline.stages.all():  # in topological order
            if stage.status != StageStatus.SUCCEEDED or rerun & set(stage.needs):
                rerun.add(stage.name)
                old = Experiment.objects.filter(pipeline_stage=stage)
                stage.previous_experiments += list(old.values_list("pk", flat=True))
                old.update(pipeline_stage=None)
                stage.status, stage.error, stage.result = StageStatus.PENDING, "", None
                stage.started_at = stage.finished_at = None
                stage.save()
        pipeline.status, pipeline.finished_at = PipelineStatus.RUNNING, None
        pipeline.save(update_fields=["status", "finished_at"])
        _advance(pipeline, strict=False)
    return pipeline
