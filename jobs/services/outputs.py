"""Output files a runner uploads for an attempt."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import IO

from django.core.files import File
from django.db import transaction

from jobs.errors import InvalidInput
from jobs.models import Job, OutputFile

MAX_OUTPUT_NAME = 500


def clean_output_name(name: str) -> str:
    """A relative POSIX path with no way out of the job's folder."""
    path = PurePosixPath(name)
    if not name or len(name) > MAX_OUTPUT_NAME or path.is_absolute() or ".." in path.parts:
        raise InvalidInput({"name": [f"{name!r} is not a relative file name"]})
    return str(path)


def store_output_file(job: Job, name: str, content: IO[bytes], size: int) -> OutputFile:
    """Save (or replace) one output file of the job's current attempt."""
    name = clean_output_name(name)
    with transaction.atomic():
        previous = OutputFile.objects.filter(job=job, attempt=job.attempt, name=name).first()
        if previous:
            previous.file.delete(save=False)
            previous.delete()
        output = OutputFile(
            job=job, experiment_id=job.experiment_id, attempt=job.attempt, name=name, size=size
        )
        output.file.save(
            f"{job.pk}-{job.attempt}-{PurePosixPath(name).name}", File(content), save=False
        )
        output.save()
    return output
