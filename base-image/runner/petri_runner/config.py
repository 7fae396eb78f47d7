"""The runner's configuration, read from environment variables."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from petri_runner.errors import ConfigError
from petri_runner.sandbox import KINDS, NONE, Limits, Sandbox

DEFAULT_ALGORITHMS_DIR = "/opt/petri/algorithms"
DEFAULT_RETRY_SECONDS = 600.0
DEFAULT_MAX_UNPACKED_MB = 1024
DEFAULT_MAX_FILES = 10_000

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class Config:
    """Everything the runner needs to know before it talks to the API."""

    api_url: str
    token: str
    algorithms_dir: Path
    work_dir: Path | None
    keep_workdir: bool
    retry_seconds: float
    # Caps on uploaded code once unpacked: archive bombs stop here.
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_MB * 1024 * 1024
    max_files: int = DEFAULT_MAX_FILES
    # How the entrypoint is confined (PETRI_SANDBOX*); by default it is not.
    sandbox: Sandbox = field(default_factory=Sandbox)
    # A warm zygote of this job's algorithm (PETRI_WARM_SOCKET) and the folder it sees jobs in.
    warm_socket: str | None = None
    warm_spool: Path | None = None
    # The attempt's spec, when the backend handed it (PETRI_JOB_SPEC): no need to fetch it.
    job_spec: dict | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build the configuration, raising ConfigError with a one-line reason."""
        work_dir = env.get("PETRI_WORK_DIR", "").strip()
        return cls(
            api_url=_api_url(env),
            token=_token(env),
            algorithms_dir=Path(env.get("PETRI_ALGORITHMS_DIR", "") or DEFAULT_ALGORITHMS_DIR),
            work_dir=Path(work_dir).resolve() if work_dir else None,
            keep_workdir=_flag(env, "PETRI_KEEP_WORKDIR"),
            retry_seconds=_seconds(env, "PETRI_RUNNER_RETRY_SECONDS", DEFAULT_RETRY_SECONDS),
            max_unpacked_bytes=_count(env, "PETRI_RUNNER_MAX_UNPACKED_MB", DEFAULT_MAX_UNPACKED_MB)
            * 1024
            * 1024,
            max_files=_count(env, "PETRI_RUNNER_MAX_FILES", DEFAULT_MAX_FILES),
            sandbox=sandbox_from_env(env),
            warm_socket=env.get("PETRI_WARM_SOCKET", "").strip() or None,
            warm_spool=Path(spool).resolve()
            if (spool := env.get("PETRI_WARM_SPOOL", "").strip())
            else None,
            job_spec=_job_spec(env),
        )


def sandbox_from_env(env: Mapping[str, str]) -> Sandbox:
    """The PETRI_SANDBOX* variables: kind, bwrap's path, uid, and the entrypoint's rlimits."""
    kind = env.get("PETRI_SANDBOX", "").strip() or NONE
    if kind not in KINDS:
        raise ConfigError(f"PETRI_SANDBOX must be one of {', '.join(KINDS)}, got {kind!r}")
    return Sandbox(
        kind=kind,
        bwrap=env.get("PETRI_SANDBOX_BWRAP", "").strip() or Sandbox.bwrap,
        uid=_optional_count(env, "PETRI_SANDBOX_UID"),
        limits=Limits(
            memory_bytes=_optional_count(env, "PETRI_SANDBOX_MEMORY_BYTES"),
            cpu_seconds=_optional_count(env, "PETRI_SANDBOX_CPU_SECONDS"),
            processes=_optional_count(env, "PETRI_SANDBOX_MAX_PROCESSES"),
            file_bytes=_optional_count(env, "PETRI_SANDBOX_MAX_FILE_BYTES"),
        ),
    )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _api_url(env: Mapping[str, str]) -> str:
    value = _required(env, "PETRI_API_URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"PETRI_API_URL must be an http(s) URL, got {value!r}")
    return value


def _token(env: Mapping[str, str]) -> str:
    value = _required(env, "PETRI_JOB_TOKEN")
    # The token goes into an HTTP header verbatim; anything else would corrupt the request.
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ConfigError("PETRI_JOB_TOKEN must be printable ASCII without spaces")
    return value


def _job_spec(env: Mapping[str, str]) -> dict | None:
    raw = env.get("PETRI_JOB_SPEC", "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"PETRI_JOB_SPEC is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError("PETRI_JOB_SPEC must be a JSON object")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {value!r}")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a non-negative number of seconds, got {raw!r}")
    return value


def _optional_count(env: Mapping[str, str], name: str) -> int | None:
    return _count(env, name, 0) or None


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}")
    return value
