"""Runs Slurm's client commands; a command that fails or hangs is a ``BackendError``."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from scheduler.backends.base import BackendError, BackendRefused, BackendUnavailable

COMMAND_TIMEOUT_SECONDS = 30.0


class SlurmUnavailable(BackendUnavailable):
    """slurmctld did not answer (down, restarting or overloaded): worth trying again later."""


# What Slurm's clients print when the controller cannot be reached: worth trying again later.
_UNREACHABLE = (
    "Unable to contact slurm controller",
    "Socket timed out",
    "Slurm backup controller in standby mode",
    "Zero Bytes were transmitted or received",
    "Connection refused",
    "Transport endpoint is not connected",
)
# What sbatch prints for a request no retry can make acceptable: the attempt fails for good.
_REFUSED = (
    "Invalid account",
    "Invalid partition",
    "Invalid qos",
    "Invalid generic resource",
    "Requested node configuration is not available",
    "Job violates accounting/QOS policy",
    "Memory specification can not be satisfied",
    "More processors requested than permitted",
)


def run(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> str:
    """Run one Slurm client command and return its standard output."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        waited = f"{COMMAND_TIMEOUT_SECONDS:g} s"
        raise SlurmUnavailable(f"{argv[0]} did not answer in {waited}") from exc
    except OSError as exc:
        raise BackendError(f"cannot run {argv[0]}: {exc}") from exc
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        if any(s in message for s in _UNREACHABLE):
            raise SlurmUnavailable(f"{argv[0]}: {message}")
        if any(s in message for s in _REFUSED):
            raise BackendRefused(f"{argv[0]}: {message}")
        raise BackendError(f"{argv[0]}: {message}")
    return done.stdout


def table(output: str, fields: Sequence[str]) -> list[dict[str, str]]:
    """Rows of ``squeue -O``/``sinfo -O`` output whose every field ends with ``|``."""
    rows = []
    for line in output.splitlines():
        values = line.split("|")
        if len(values) < len(fields):
            continue
        rows.append({name: values[i].strip() for i, name in enumerate(fields)})
    return rows


def format_option(fields: Sequence[str]) -> str:
    """The ``-O`` argument that prints ``fields`` each followed by ``|`` at full width."""
    return ",".join(f"{name}:|" for name in fields)
