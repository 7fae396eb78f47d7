"""What the entrypoint left in ``output/``: files to upload and ``metrics.json``."""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path

METRICS_FILE = "metrics.json"


class MetricsFileError(Exception):
    """``output/metrics.json`` is not a JSON object of numbers."""


def iter_output_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` as (POSIX relative name, path); symlinks skipped."""
    # os.walk does not descend into symlinked directories unless asked to.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode):
                yield path.relative_to(root).as_posix(), path


def read_metrics_file(output_dir: Path) -> dict[str, float] | None:
    """The metrics in ``output/metrics.json``, or None when there is no such file."""
    path = output_dir / METRICS_FILE
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise MetricsFileError(f"{METRICS_FILE} cannot be read: {exc}") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise MetricsFileError(f"{METRICS_FILE} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise MetricsFileError(f"{METRICS_FILE} must be a JSON object of numbers, not a {kind}")
    for name, value in data.items():
        if not _is_finite_number(value):
            raise MetricsFileError(f"{METRICS_FILE}: {name!r} is not a finite number: {value!r}")
    return data


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False
