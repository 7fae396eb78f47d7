"""Uploaded code: archives stored once per owner and hash, run as the owner's own algorithm."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.db import IntegrityError, transaction

from jobs.catalog import CatalogError, parse_parameters
from jobs.errors import Conflict, InvalidInput
from jobs.models import Algorithm, Artifact, Dataset, DatasetInput, Experiment
from jobs.services.datasets import hashed_upload
from jobs.services.submit import submit_experiment
from jobs.validators import storable

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"


def _kind(upload: IO[bytes]) -> str:
    """zip or tar.gz, from the first bytes; the runner checks the contents when it unpacks."""
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head in ZIP_MAGIC:
        return "zip"
    if head[:2] == GZIP_MAGIC:
        return "tar.gz"
    raise InvalidInput({"file": ["must be a zip or a tar.gz archive"]})


def create_artifact(*, owner: Any, upload: IO[bytes], name: str = "") -> tuple[Artifact, bool]:
    """Store an archive; the same bytes from the same owner give back the same artifact."""
    sha256, size = hashed_upload(upload)
    existing = Artifact.objects.filter(owner=owner, sha256=sha256).first()
    if existing:
        return existing, False
    kind = _kind(upload)
    filename = Path(getattr(upload, "name", "") or f"code.{kind}").name
    try:
        with transaction.atomic():
            artifact = Artifact(
                owner=owner, name=name or filename, sha256=sha256, size=size, kind=kind
            )
            artifact.file.save(f"{sha256[:16]}.{kind}", File(upload), save=False)
            artifact.save()
    except IntegrityError:
        return Artifact.objects.get(owner=owner, sha256=sha256), False
    return artifact, True


def delete_artifact(artifact: Artifact) -> None:
    """Delete an artifact no experiment runs; its file goes with it."""
    with transaction.atomic():
        algorithms = Algorithm.objects.filter(artifact=artifact)
        if Experiment.objects.filter(algorithm__in=algorithms).exists():
            raise Conflict(f"artifact {artifact.pk} is used by an experiment")
        algorithms.delete()
        artifact.delete()
    artifact.file.delete(save=False)


def _entrypoint(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(arg, str) for arg in value)
        or not value[0]
    ):
        raise InvalidInput({"entrypoint": ["must be a non-empty list of strings (an argv)"]})
    return storable(value, "entrypoint")


def artifact_algorithm(
    *, owner: Any, artifact: Artifact, entrypoint: Any, parameter_schema: Any
) -> Algorithm:
    """The owner's algorithm row for this artifact, entrypoint and schema (made once)."""
    argv = _entrypoint(entrypoint)
    storable(parameter_schema, "parameter_schema")
    try:
        parameters = parse_parameters(parameter_schema, "parameter_schema")
    except CatalogError as exc:
        message = str(exc).removeprefix("parameter_schema: ")
        raise InvalidInput({"parameter_schema": [message]}) from None
    fingerprint = hashlib.sha256(
        json.dumps([argv, parameters], sort_keys=True).encode()
    ).hexdigest()[:8]
    algorithm, _ = Algorithm.objects.get_or_create(
        name=f"artifact-{artifact.pk}-{fingerprint}",
        defaults={
            "title": artifact.name,
            "entrypoint": argv,
            "dataset_input": DatasetInput.OPTIONAL,
            "parameters": parameters,
            "owner": owner,
            "artifact": artifact,
            "enabled": True,
        },
    )
    return algorithm


def submit_artifact_experiment(
    *,
    owner: Any,
    artifact: Artifact,
    entrypoint: Any,
    parameter_schema: Any = None,
    dataset: Dataset | None = None,
    **options: Any,
) -> Experiment:
    """Submit a sweep over uploaded code instead of a catalog algorithm."""
    if artifact.owner_id != owner.pk:
        raise InvalidInput({"artifact": ["is not yours"]})
    with transaction.atomic():
        algorithm = artifact_algorithm(
            owner=owner, artifact=artifact, entrypoint=entrypoint, parameter_schema=parameter_schema
        )
        return submit_experiment(owner=owner, algorithm=algorithm, dataset=dataset, **options)
