"""Managing an experiment as a whole: its name, notes, tags, archiving, and deleting it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from jobs.errors import Conflict, InvalidInput
from jobs.models import FINAL_STATUSES, Experiment, ExperimentTag, Job, OutputFile
from jobs.services.recurring import delete_schedules_of
from jobs.validators import NUL

NAME_MAX = 200
NOTES_MAX = 20_000
TAG_MAX = 50
TAGS_MAX = 20


def clean_tag(tag: Any) -> str:
    """A tag as stored (trimmed); ValueError names what is wrong with it."""
    if not isinstance(tag, str):
        raise ValueError(f"a tag must be text, not {tag!r}"[:200])
    tag = tag.strip()
    if not tag:
        raise ValueError("a tag must not be empty")
    if len(tag) > TAG_MAX:
        raise ValueError(f"a tag has at most {TAG_MAX} characters")
    # Commas separate tags on the command line and in the web app's tag field.
    if NUL in tag or "," in tag or any(ch in tag for ch in "\r\n\t"):
        raise ValueError(f"{tag[:50]!r}: a tag cannot hold commas, tabs or line breaks")
    return tag


def _clean(name: Any, notes: Any, tags: Any, archived: Any) -> tuple[Any, Any, list[str] | None]:
    errors: dict[str, list[str]] = {}
    if archived is not None and not isinstance(archived, bool):
        errors["archived"] = ["must be true or false"]
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            errors["name"] = ["must be a non-empty text"]
        elif len(name.strip()) > NAME_MAX or NUL in name:
            errors["name"] = [f"must be at most {NAME_MAX} characters, without NUL"]
        else:
            name = name.strip()
    if notes is not None and (not isinstance(notes, str) or len(notes) > NOTES_MAX or NUL in notes):
        errors["notes"] = [f"must be text of at most {NOTES_MAX} characters, without NUL"]
    cleaned: list[str] | None = None
    if tags is not None:
        if not isinstance(tags, list):
            errors["tags"] = ["must be a list of tags"]
        else:
            cleaned, problems = [], []
            for tag in tags:
                try:
                    tag = clean_tag(tag)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                if tag not in cleaned:
                    cleaned.append(tag)
            if len(cleaned) > TAGS_MAX:
                problems.append(f"at most {TAGS_MAX} tags")
            if problems:
                errors["tags"] = problems
    if errors:
        raise InvalidInput(errors)
    return name, notes, cleaned


def update_experiment(
    experiment: Experiment,
    *,
    name: str | None = None,
    notes: str | None = None,
    tags: list[str] | None = None,
    archived: bool | None = None,
) -> Experiment:
    """Change what is given (None: leave it); ``tags`` replaces the experiment's tags."""
    name, notes, tags = _clean(name, notes, tags, archived)
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        changed = []
        if name is not None:
            experiment.name = name
            changed.append("name")
        if notes is not None:
            experiment.notes = notes
            changed.append("notes")
        if archived is not None and archived != (experiment.archived_at is not None):
            experiment.archived_at = timezone.now() if archived else None
            changed.append("archived_at")
        if changed:
            experiment.save(update_fields=changed)
        if tags is not None:
            ExperimentTag.objects.filter(experiment=experiment).exclude(name__in=tags).delete()
            kept = set(
                ExperimentTag.objects.filter(experiment=experiment).values_list("name", flat=True)
            )
            ExperimentTag.objects.bulk_create(
                [ExperimentTag(experiment=experiment, name=tag) for tag in tags if tag not in kept]
            )
    return experiment


def delete_experiment(experiment: Experiment) -> int:
    """Delete the experiment with its jobs, events, results and output files; how many jobs.

    Refused (Conflict) while any job is unfinished: a job on a backend would otherwise post
    back to rows that no longer exist, and its pod or process would outlive its record.
    Files are removed from storage only once the rows are gone for good (on commit).
    """
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        # Locked, so no retry turns a finished job into a waiting one while this runs.
        # (Rows, not a COUNT: Postgres takes no FOR UPDATE with an aggregate.)
        statuses = list(
            Job.objects.select_for_update()
            .filter(experiment=experiment)
            .values_list("status", flat=True)
        )
        unfinished = sum(1 for status in statuses if status not in FINAL_STATUSES)
        if unfinished:
            raise Conflict(
                f"experiment {experiment.pk} has {unfinished} unfinished jobs: "
                "cancel it first, then delete it"
            )
        count = len(statuses)
        files = list(
            OutputFile.objects.filter(experiment=experiment).values_list("file", flat=True)
        )
        storage = OutputFile._meta.get_field("file").storage
        delete_schedules_of(experiment)
        experiment.delete()

        def remove_files() -> None:
            for path in files:
                if path:
                    storage.delete(path)

        transaction.on_commit(remove_files)
    return count
