"""The job spec from ``GET /api/runner/job/``, checked before anything acts on it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from petri_runner.errors import FatalResponse

DEFAULT_HEARTBEAT_SECONDS = 15.0


class InvalidSpec(FatalResponse):
    """The server's job spec lacks a field or has one of the wrong type."""


@dataclass(frozen=True)
class Algorithm:
    """Which catalog folder to copy and which argv to run in it."""

    name: str
    entrypoint: tuple[str, ...]
    language: str | None


@dataclass(frozen=True)
class JobSpec:
    """One attempt of one job, as the server describes it."""

    job: int
    attempt: int
    algorithm: Algorithm
    parameters: dict[str, Any]
    dataset_url: str | None
    truth_url: str | None
    timeout: float | None
    heartbeat_interval: float
    # Uploaded code to unpack instead of copying the catalog folder.
    artifact_url: str | None = None


def parse_spec(data: Any) -> JobSpec:
    """Validate the spec document; raises InvalidSpec naming the first problem."""
    if not isinstance(data, dict):
        raise InvalidSpec("job spec is not a JSON object")
    algorithm = data.get("algorithm")
    if not isinstance(algorithm, dict):
        raise InvalidSpec("job spec: 'algorithm' is not an object")
    parameters = data.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InvalidSpec("job spec: 'parameters' is not an object")
    heartbeat = _seconds(data, "heartbeat_interval")
    return JobSpec(
        job=_integer(data, "job"),
        attempt=_integer(data, "attempt"),
        algorithm=Algorithm(
            name=_folder_name(algorithm.get("name")),
            entrypoint=_argv(algorithm.get("entrypoint")),
            language=_optional_str(algorithm, "language"),
        ),
        parameters=parameters,
        dataset_url=_optional_str(data, "dataset_url") or None,
        truth_url=_optional_str(data, "truth_url") or None,
        artifact_url=_optional_str(data, "artifact_url") or None,
        timeout=_seconds(data, "timeout"),
        heartbeat_interval=heartbeat if heartbeat is not None else DEFAULT_HEARTBEAT_SECONDS,
    )


def _integer(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidSpec(f"job spec: {key!r} is not an integer")
    return value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidSpec(f"job spec: {key!r} is not a string")
    return value


def _seconds(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise InvalidSpec(f"job spec: {key!r} is not a positive number of seconds")
    return float(value)


def _folder_name(value: Any) -> str:
    # The name becomes a path under the algorithms dir; it must not climb out of it.
    if not isinstance(value, str) or value in ("", ".", "..") or any(c in value for c in "/\\\0"):
        raise InvalidSpec(f"job spec: algorithm name {value!r} is not a folder name")
    return value


def _argv(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise InvalidSpec("job spec: algorithm entrypoint is not a non-empty list of strings")
    if not value[0]:
        raise InvalidSpec("job spec: algorithm entrypoint starts with an empty program name")
    return tuple(value)
