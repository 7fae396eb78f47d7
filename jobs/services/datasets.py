"""Datasets: CSV uploads stored once per owner and content hash."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from jobs import graphs
from jobs.errors import InvalidInput
from jobs.models import Dataset
from jobs.validators import NUL


def hashed_upload(stream: IO[bytes]) -> tuple[str, int]:
    """The upload's sha256 and size, refusing it past PETRI_MAX_UPLOAD_MB."""
    digest, size = hashlib.sha256(), 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    if size > settings.PETRI_MAX_UPLOAD_MB * 1024 * 1024:
        raise InvalidInput(
            {"file": [f"is {size} bytes; the limit is {settings.PETRI_MAX_UPLOAD_MB} MB"]}
        )
    return digest.hexdigest(), size


def _inspect_csv(stream: IO[bytes]) -> tuple[list[str], int]:
    """Column names and row count; raises InvalidInput when it is not a CSV with a header."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if not header or not any(name.strip() for name in header):
            raise InvalidInput({"file": ["is empty or has no header row"]})
        if any(NUL in name for name in header):
            raise InvalidInput({"file": ["its header row contains the NUL character"]})
        rows = 0
        for line_no, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                raise InvalidInput(
                    {
                        "file": [
                            f"line {line_no} has {len(row)} fields; the header has {len(header)}"
                        ]
                    }
                )
            rows += bool(row)
    except UnicodeDecodeError:
        raise InvalidInput({"file": ["is not UTF-8 text"]}) from None
    except csv.Error as exc:
        raise InvalidInput({"file": [f"is not a valid CSV file: {exc}"]}) from None
    finally:
        text.detach()
    stream.seek(0)
    return [name.strip() for name in header], rows


def check_truth(truth: Any, columns: list[str], field: str = "truth") -> dict[str, Any]:
    """A valid graph.json whose nodes are exactly the CSV's columns (else SHD would lie)."""
    graph = graphs.validate_graph(truth, field)
    nodes, known = set(graph["nodes"]), set(columns)
    if nodes != known:
        problems = []
        if nodes - known:
            problems.append(f"nodes not among the columns: {_listed(nodes - known)}")
        if known - nodes:
            problems.append(f"columns that are not nodes: {_listed(known - nodes)}")
        raise InvalidInput({field: [f"its nodes must be the CSV's columns; {'; '.join(problems)}"]})
    return graph


def _listed(names: set[str]) -> str:
    shown = sorted(names)
    more = f" and {len(shown) - 10} more" if len(shown) > 10 else ""
    return ", ".join(repr(name) for name in shown[:10]) + more


def _with_truth(existing: Dataset, truth: Any) -> Dataset:
    """The stored dataset uploaded again with a truth: add it if it had none, else refuse."""
    graph = check_truth(truth, existing.columns)
    if existing.truth is None:
        with transaction.atomic():
            locked = Dataset.objects.select_for_update().get(pk=existing.pk)
            if locked.truth is None:
                locked.truth = graph
                locked.save(update_fields=["truth"])
        existing.refresh_from_db(fields=["truth"])
    if existing.truth != graph:
        raise InvalidInput(
            {
                "truth": [
                    f"this CSV is already dataset {existing.pk} with a different ground truth; "
                    "a dataset's truth is never replaced"
                ]
            }
        )
    return existing


def create_dataset(
    *,
    owner: Any,
    upload: IO[bytes],
    name: str = "",
    truth: Any = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Dataset, bool]:
    """Store an uploaded CSV; the same bytes from the same owner give back the same dataset.

    ``extra`` sets further fields of a new dataset (its query, version, generator...). The
    file is removed again when the row is not written.
    """
    sha256, size = hashed_upload(upload)
    existing = Dataset.objects.filter(owner=owner, sha256=sha256).first()
    if existing:
        return (existing if truth is None else _with_truth(existing, truth)), False
    columns, rows = _inspect_csv(upload)
    if truth is not None:
        truth = check_truth(truth, columns)
    filename = Path(getattr(upload, "name", "") or "dataset.csv").name.replace(NUL, "")
    dataset = Dataset(
        owner=owner,
        name=name or filename,
        sha256=sha256,
        size=size,
        columns=columns,
        rows=rows,
        truth=truth,
        **(extra or {}),
    )
    try:
        with transaction.atomic():
            dataset.file.save(filename or "dataset.csv", File(upload), save=False)
            dataset.save()
    except BaseException as exc:
        # No row refers to the file: remove it, whatever refused the row.
        if dataset.file.name:
            dataset.file.storage.delete(dataset.file.name)
        if isinstance(exc, IntegrityError):
            # The same upload raced us; both callers get the one stored dataset.
            return Dataset.objects.get(owner=owner, sha256=sha256), False
        raise
    return dataset, True


def delete_dataset(dataset: Dataset) -> None:
    """Delete a dataset no experiment uses; its file goes once the deletion is committed."""
    storage, path = dataset.file.storage, dataset.file.name
    with transaction.atomic():
        dataset.delete()  # ProtectedError (a 409) while an experiment uses it
        transaction.on_commit(lambda: storage.delete(path) if path else None)


def create_dataset_from_files(
    *, owner: Any, csv_path: Path, truth_path: Path | None, name: str
) -> tuple[Dataset, bool]:
    truth = (
        graphs.parse_json(truth_path.read_bytes(), "truth")
        if truth_path and truth_path.exists()
        else None
    )
    with csv_path.open("rb") as handle:
        return create_dataset(owner=owner, upload=handle, name=name, truth=truth)
