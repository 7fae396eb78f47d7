"""Output files a runner uploads for an attempt."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import IO

from django.core.files import File
from django.db import transaction

from jobs import graphs
from jobs.errors import InvalidInput
from jobs.models import Job, OutputFile
from jobs.validators import NUL, depth_problem

GRAPH_FILE = "graph.json"

MAX_OUTPUT_NAME = 500


def clean_output_name(name: str) -> str:
    """A relative POSIX path with no way out of the job's folder."""
    path = PurePosixPath(name)
    if (
        not name
        or len(name) > MAX_OUTPUT_NAME
        or NUL in name
        or path.is_absolute()
        or ".." in path.parts
    ):
        raise InvalidInput({"name": [f"{name[:100]!r} is not a relative file name"]})
    return str(path)


def _check_graph(content: IO[bytes]) -> None:
    """Refuse a graph.json nested past what any graph needs: reading it back would recurse.

    Other faults are left to the readers (graph, GraphML, compare), which answer a 400.
    """
    content.seek(0)
    try:
        document = graphs.parse_json(content.read(), "file")
    except InvalidInput as exc:
        if any("nested" in message for message in exc.errors["file"]):
            raise
        document = None
    content.seek(0)
    if depth_problem(document):
        raise InvalidInput({"file": [f"{GRAPH_FILE} {depth_problem(document)}"]})


def store_output_file(job: Job, name: str, content: IO[bytes], size: int) -> OutputFile:
    """Save (or replace) one output file of the job's current attempt."""
    return store_output_files(job, [(name, content, size)])[0]


def store_output_files(job: Job, files: list[tuple[str, IO[bytes], int]]) -> list[OutputFile]:
    """Save (or replace) output files of the job's current attempt: (name, content, size) each,
    all or nothing, the earlier ones found in one query and the rows written in one."""
    named = {}
    for name, content, size in files:
        name = clean_output_name(name)
        if name == GRAPH_FILE:
            _check_graph(content)
        named[name] = (content, size)  # a name given twice: the last one stands, as replaced
    # No savepoint: a failure here fails the caller's whole transaction (a result's files,
    # events and finish are all or nothing), and a savepoint costs two statements.
    with transaction.atomic(savepoint=False):
        mine = OutputFile.objects.filter(job=job, attempt=job.attempt)
        previous = list(mine.filter(name__in=list(named)))
        for output in previous:
            output.file.delete(save=False)
        if previous:
            OutputFile.objects.filter(pk__in=[output.pk for output in previous]).delete()
        outputs = []
        for name, (content, size) in named.items():
            output = OutputFile(
                job=job, experiment_id=job.experiment_id, attempt=job.attempt, name=name, size=size
            )
            output.file.save(
                f"{job.pk}-{job.attempt}-{PurePosixPath(name).name}", File(content), save=False
            )
            outputs.append(output)
        return OutputFile.objects.bulk_create(outputs)
