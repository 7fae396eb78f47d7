"""What the local backend gives each runner: its sandbox settings, environment and limits."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from jobs.services.usage import requested
from scheduler.backends.base import JobSpec

# What the runner may see of the server's environment: nothing secret, nothing of Django's.
RUNNER_PASSED_NAMES = frozenset(
    {
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "PETRI_KEEP_WORKDIR",
        "PETRI_RUNNER_RETRY_SECONDS",
        "PETRI_RUNNER_MAX_UNPACKED_MB",
        "PETRI_RUNNER_MAX_FILES",
    }
)
# The last uid of the range PETRI_LOCAL_SANDBOX_UID_BASE starts; cold jobs use its first ones.
WARM_UID_OFFSET = 65_535
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Without a timeout, each process of a job may use this much CPU time per core it asked for.
CPU_SECONDS_WITHOUT_TIMEOUT = 24 * 3600


@dataclass(frozen=True)
class SandboxSettings:
    """How the local backend confines algorithms (the PETRI_LOCAL_SANDBOX* settings)."""

    kind: str = "bwrap"  # or "none"
    bwrap: str = "/usr/bin/bwrap"
    max_processes: int = 256
    max_file_mb: int = 1024
    # A server running as root runs each job as its own uid from here on (uid_base + slot).
    uid_base: int = 1_700_000
    # Warm zygotes for catalog algorithms that name modules to preload (PETRI_LOCAL_WARM).
    warm: bool = True

    @property
    def warm_uid(self) -> int:
        """As root, the uid of every warm zygote and of the jobs forked from them."""
        return self.uid_base + WARM_UID_OFFSET


def runner_env(
    algorithms_dir: Path, runner_dir: Path, api_url: str = "", token: str = ""
) -> dict[str, str]:
    """The runner's environment: an allow list, never the server's own (secrets, DB URL)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name in RUNNER_PASSED_NAMES or name.startswith("LC_")
    }
    env.update(
        PETRI_ALGORITHMS_DIR=str(algorithms_dir),
        PYTHONPATH=str(runner_dir),
        # So an entrypoint's "python" is this interpreter, with Petri's packages.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if api_url:
        env.update(PETRI_API_URL=api_url, PETRI_JOB_TOKEN=token)
    return env


def limits_env(spec: JobSpec, sandbox: SandboxSettings) -> dict[str, str]:
    """The attempt's rlimits, from the resources its experiment asked for."""
    try:
        asked = requested(spec.resources)
        memory = int(min(asked.memory_gb * 2**30, 2**62))
        cores = min(max(asked.cpu, 0.01), 1024.0)
    except (ValueError, TypeError, OverflowError):
        memory, cores = 2**30, 1.0
    seconds = spec.timeout or CPU_SECONDS_WITHOUT_TIMEOUT
    env = {
        "PETRI_SANDBOX_MEMORY_BYTES": str(max(memory, 1)),
        "PETRI_SANDBOX_CPU_SECONDS": str(max(1, math.ceil(cores * seconds))),
        "PETRI_SANDBOX_MAX_PROCESSES": str(sandbox.max_processes),
        "PETRI_SANDBOX_MAX_FILE_BYTES": str(sandbox.max_file_mb * 1024 * 1024),
    }
    threads = str(max(1, math.ceil(cores)))
    for name in THREAD_VARIABLES:
        env[name] = os.environ.get(name) or threads
    return env
