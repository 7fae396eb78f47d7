"""The Slurm backend: one batch job per attempt, submitted with ``sbatch`` from a login node."""

from __future__ import annotations

from scheduler.backends.slurm.backend import SlurmBackend, SlurmOptions

__all__ = ["SlurmBackend", "SlurmOptions"]
