"""Runs each attempt as a Slurm batch job whose one step is ``python -m petri_runner``."""

from __future__ import annotations

import logging
import math
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from jobs.services.usage import requested
from scheduler.backends.base import Backend, BackendError, BackendState, JobSpec, Node
from scheduler.backends.slurm import commands
from scheduler.backends.slurm.states import SQUEUE_FIELDS, SlurmJob, classify

log = logging.getLogger(__name__)

SINFO_FIELDS = ("NodeHost", "CPUsState", "Memory", "AllocMem", "Gres", "GresUsed", "StateLong")
# The batch script holds no secret: the token reaches the job through sbatch's environment
# (--export names, values from our own environment), never through argv or a file.
BATCH_SCRIPT = '#!/bin/sh\nexec "$PETRI_PYTHON" -m petri_runner\n'
# What the runner needs from the submitting side; nothing else of the server's goes along.
EXPORTED = (
    "PETRI_API_URL",
    "PETRI_JOB_TOKEN",
    "PETRI_ALGORITHMS_DIR",
    "PETRI_PYTHON",
    "PYTHONPATH",
    "PATH",
    "LANG",
)
# Slurm's time limits are whole minutes; the runner enforces the timeout itself first.
TIME_LIMIT_MARGIN_SECONDS = 60
LOG_TAIL_LINES = 20
_GPU = re.compile(r"gpu(?::[^:(,]+)?:(\d+)")


@dataclass(frozen=True)
class Route:
    """Where one user's jobs go: a partition and an account (either may be empty)."""

    partition: str = ""
    account: str = ""


@dataclass(frozen=True)
class SlurmOptions:
    """How Petri submits: the shared paths a compute node sees, and who goes where."""

    python: str
    runner_dir: Path
    algorithms_dir: Path
    log_dir: Path
    routes: Mapping[str, Route] = field(default_factory=dict)  # user, "group:<name>" or "*"
    extra_args: tuple[str, ...] = ()
    pending_grace: float = 600.0
    user: str = ""  # whose jobs squeue lists; the submitting user when empty
    # Set apart from other installations (and from before a database reset) sharing a cluster
    # account: a job is adopted only when its name carries this installation's prefix.
    name_prefix: str = ""

    def route_for(self, owner: str, groups: tuple[str, ...] = ()) -> Route:
        for key in (owner, *(f"group:{g}" for g in groups), "*"):
            if key in self.routes:
                return self.routes[key]
        return Route()


class SlurmBackend(Backend):
    name = "slurm"

    def __init__(self, options: SlurmOptions, *, clock=datetime.now) -> None:
        self.options = options
        self.clock = clock
        self._client_env = {
            k: v for k, v in os.environ.items() if k in ("PATH", "SLURM_CONF", "HOME", "LANG")
        }

    @classmethod
    def from_settings(cls, settings: Any) -> SlurmBackend:
        return cls(
            SlurmOptions(
                python=settings.PETRI_SLURM_PYTHON,
                runner_dir=settings.PETRI_SLURM_RUNNER_DIR,
                algorithms_dir=settings.PETRI_SLURM_ALGORITHMS_DIR,
                log_dir=settings.PETRI_SLURM_LOG_DIR,
                routes=routes_from(settings.PETRI_SLURM_ROUTES),
                extra_args=tuple(shlex.split(settings.PETRI_SLURM_EXTRA_ARGS)),
                pending_grace=settings.PETRI_SLURM_PENDING_GRACE,
                user=settings.PETRI_SLURM_USER,
                name_prefix=f"{settings.PETRI_INSTALLATION_ID}-"
                if getattr(settings, "PETRI_INSTALLATION_ID", "")
                else "",
            )
        )

    # -- submit and cancel ------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> None:
        if self._find(self.job_name(spec.handle)):
            log.info("adopted the Slurm job already named %s", spec.handle)
            return
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **self._client_env,
            "PETRI_API_URL": spec.api_url,
            "PETRI_JOB_TOKEN": spec.token,
            "PETRI_ALGORITHMS_DIR": str(self.options.algorithms_dir),
            "PETRI_PYTHON": self.options.python,
            "PYTHONPATH": str(self.options.runner_dir),
            "PATH": f"{Path(self.options.python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "LANG": "C.UTF-8",
        }
        argv = ["sbatch", *self.sbatch_options(spec)]
        job_id = commands.run(argv, env=env, stdin=BATCH_SCRIPT).strip().split(";")[0]
        log.info("submitted %s as Slurm job %s", spec.handle, job_id)

    def sbatch_options(self, spec: JobSpec) -> list[str]:
        """The sbatch options for one attempt: name, resources, time, route, output."""
        asked = requested(spec.resources)
        cpus = max(1, math.ceil(asked.cpu))
        memory_mb = max(1, math.ceil(asked.memory_gb * 1024))
        argv = [
            "--parsable",
            f"--job-name={self.job_name(spec.handle)}",
            f"--export={','.join(EXPORTED)}",
            f"--output={self._log_path(spec.handle)}",
            f"--chdir={self.options.log_dir}",
            "--nodes=1",
            "--ntasks=1",
            f"--cpus-per-task={cpus}",
            f"--mem={memory_mb}M",
            "--no-requeue",
            f"--comment=petri job {spec.job_id} attempt {spec.attempt}",
        ]
        if asked.gpu:
            argv.append(f"--gres=gpu:{asked.gpu}")
        if spec.timeout:
            minutes = math.ceil((spec.timeout + TIME_LIMIT_MARGIN_SECONDS) / 60)
            argv.append(f"--time={minutes}")
        route = self.options.route_for(spec.owner, spec.owner_groups)
        if route.partition:
            argv.append(f"--partition={route.partition}")
        if route.account:
            argv.append(f"--account={route.account}")
        return [*argv, *self.options.extra_args]

    def job_name(self, handle: str) -> str:
        return f"{self.options.name_prefix}{handle}"

    def cancel(self, handle: str) -> None:
        commands.run(
            ["scancel", f"--name={self.job_name(handle)}", f"--user={self._user()}"],
            env=self._client_env,
        )

    # -- state ------------------------------------------------------------------------------

    def _squeue(self, *names: str) -> list[SlurmJob]:
        argv = [
            "squeue",
            "--noheader",
            "--states=all",
            f"--user={self._user()}",
            f"--Format={commands.format_option(SQUEUE_FIELDS)}",
        ]
        if names:
            argv.append(f"--name={','.join(names)}")
        rows = commands.table(commands.run(argv, env=self._client_env), SQUEUE_FIELDS)
        return [SlurmJob.from_row(row) for row in rows]

    def _find(self, name: str) -> SlurmJob | None:
        jobs = self._squeue(name)
        return max(jobs, key=lambda j: int(j.job_id.split("_")[0]), default=None)

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        """One squeue for all of this user's jobs; a handle Slurm no longer knows is lost."""
        wanted = {self.job_name(handle): handle for handle in handles}
        newest: dict[str, SlurmJob] = {}
        for job in self._squeue():
            handle = wanted.get(job.name)
            if handle is not None:
                known = newest.get(handle)
                if known is None or int(job.job_id) > int(known.job_id):
                    newest[handle] = job
        now = self.clock()
        grace = timedelta(seconds=self.options.pending_grace)
        states = {}
        for handle in handles:
            job = newest.get(handle)
            if job is None:
                states[handle] = BackendState(
                    handle, "gone", reason="lost", message="Slurm no longer knows this attempt"
                )
                continue
            tail = self._tail(handle) if job.state not in ("PENDING", "RUNNING") else ""
            state = classify(job, handle, now=now, pending_grace=grace, log_tail=tail)
            if state.phase == "gone" and job.pending:
                self.cancel(handle)  # unschedulable: withdraw it so it never starts late
            states[handle] = state
        return states

    def _user(self) -> str:
        if self.options.user:
            return self.options.user
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name

    def _log_path(self, handle: str) -> Path:
        return self.options.log_dir / f"{handle}.out"

    def _tail(self, handle: str) -> str:
        try:
            text = self._log_path(handle).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])

    def logs(self, handle: str) -> str | None:
        try:
            return self._log_path(handle).read_text(errors="replace")
        except OSError:
            return None

    def nodes(self) -> list[Node]:
        argv = ["sinfo", "--noheader", "--Node", f"--Format={commands.format_option(SINFO_FIELDS)}"]
        rows = commands.table(commands.run(argv, env=self._client_env), SINFO_FIELDS)
        nodes: dict[str, Node] = {}
        for row in rows:  # a node in several partitions is listed once per partition
            name = row["NodeHost"]
            allocated, _idle, _other, total = (_number(x) for x in row["CPUsState"].split("/"))
            nodes[name] = Node(
                name=name,
                cpu_allocatable=float(total),
                cpu_requested=float(allocated),
                memory_allocatable=int(_number(row["Memory"])) * 2**20,
                memory_requested=int(_number(row["AllocMem"])) * 2**20,
                gpu_allocatable=_gpus(row["Gres"]),
                gpu_requested=_gpus(row["GresUsed"]),
                labels={"slurm.state": row["StateLong"], "kubernetes.io/hostname": name},
            )
        return list(nodes.values())


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _gpus(gres: str) -> int:
    return sum(int(n) for n in _GPU.findall(gres or ""))


def routes_from(config: Mapping[str, Any]) -> dict[str, Route]:
    """``{"alice": {"partition": "gpu"}, "group:lab": {...}, "*": {...}}`` as routes."""
    routes = {}
    for key, value in config.items():
        if not isinstance(value, dict) or set(value) - {"partition", "account"}:
            raise ImproperlyConfigured(
                f"PETRI_SLURM_ROUTES[{key!r}] must be an object with partition and/or account"
            )
        routes[key] = Route(str(value.get("partition", "")), str(value.get("account", "")))
    return routes


__all__ = ["BackendError", "Route", "SlurmBackend", "SlurmOptions", "routes_from"]
