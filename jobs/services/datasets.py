"""Datasets: CSV uploads stored once per owner and content hash."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from jobs import graphs
from jobs.errors import InvalidInput
from jobs.models import Dataset


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


def create_dataset(
    *,
    owner: Any,
    upload: IO[bytes],
    name: str = "",
    truth: Any = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Dataset, bool]:
    """Store an uploaded CSV; the same bytes from the same owner give back the same dataset.

    ``extra`` sets further fields of a new dataset (its query, version, generator...).
    """
    sha256, size = hashed_upload(upload)
    existing = Dataset.objects.filter(owner=owner, sha256=sha256).first()
    if existing:
        return existing, False
    columns, rows = _inspect_csv(upload)
    if truth is not None:
        graphs.validate_graph(truth, "truth")
    filename = Path(getattr(upload, "name", "") or "dataset.csv").name
    try:
        with transaction.atomic():
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
            dataset.file.save(filename, File(upload, name=filename), save=False)
            dataset.save()
    except IntegrityError:
        # The same upload raced us; both callers get the one stored dataset.
        return Dataset.objects.get(owner=owner, sha256=sha256), False
    return dataset, True


def create_dataset_from_files(
    *, owner: Any, csv_path: Path, truth_path: Path | None, name: str
) -> tuple[Dataset, bool]:
    truth = json.loads(truth_path.read_text()) if truth_path and truth_path.exists() else None
    with csv_path.open("rb") as handle:
        return create_dataset(owner=owner, upload=handle, name=name, truth=truth)
