"""Warm zygotes for the local backend: one per catalog algorithm that names what to preload.

A zygote (petri_runner/zygote.py) runs in the same bubblewrap sandbox as a job, imports the
algorithm's ``preload`` modules once, and forks a confined child per job. It is started at the
algorithm's first job and replaced at the next job after it died. Runners reach it through a
Unix socket; while it is not ready, or when it fails, they run the job cold, so a zygote never
costs a job. Uploaded code never goes near one.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from jobs.catalog import CatalogError, preload_modules

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0


class WarmPool:
    """The zygotes of one local backend, and the folders runners and zygotes share."""

    def __init__(
        self,
        *,
        algorithms_dir: Path,
        log_dir: Path,
        runner_env: Callable[[], dict[str, str]],
        bwrap: str,
        uid: int | None,
    ) -> None:
        self.algorithms_dir = algorithms_dir
        self.log_dir = log_dir
        self._runner_env = runner_env
        self._bwrap = bwrap
        # As root: the uid every zygote and its jobs run as (None: the server's own user).
        self.uid = uid
        self._lock = threading.Lock()
        self._zygotes: dict[str, subprocess.Popen] = {}
        self._preload: dict[str, list[str]] = {}
        self._base: Path | None = None

    @property
    def base(self) -> Path:
        """A short private folder (socket paths are limited to 107 bytes): sockets/ and spool/."""
        if self._base is None:
            base = Path(tempfile.mkdtemp(prefix="petri-warm-"))
            for sub in ("sockets", "spool"):
                (base / sub).mkdir()
            # The zygotes' uid passes through (to its jobs' folders) and makes its sockets.
            for path in (base, base / "spool", base / "sockets"):
                path.chmod(0o755)
            if self.uid is not None:
                os.chown(base / "sockets", self.uid, self.uid)
            self._base = base
        return self._base

    def modules(self, algorithm: str) -> list[str]:
        """The algorithm's ``preload`` list; empty when it has none or is not in the catalog."""
        if algorithm not in self._preload:
            path = self.algorithms_dir / algorithm / "algorithm.yaml"
            try:
                self._preload[algorithm] = preload_modules(path) if path.is_file() else []
            except CatalogError as exc:
                log.warning("no warm zygote for %s: %s", algorithm, exc)
                self._preload[algorithm] = []
        return self._preload[algorithm]

    def runner_env(self, algorithm: str) -> dict[str, str]:
        """What a runner of this catalog algorithm needs to use its zygote ({}: run cold).

        Starts the zygote when it is not running (first job, or after it died).
        """
        modules = self.modules(algorithm)
        if not modules:
            return {}
        with self._lock:
            zygote = self._zygotes.get(algorithm)
            if zygote is None or zygote.poll() is not None:
                if zygote is not None:
                    log.warning(
                        "the warm zygote of %s exited with %s; starting another",
                        algorithm,
                        zygote.returncode,
                    )
                self._zygotes[algorithm] = self._start(algorithm, modules)
        return {
            "PETRI_WARM_SOCKET": str(self.base / "sockets" / f"{algorithm}.sock"),
            "PETRI_WARM_SPOOL": str(self.base / "spool"),
        }

    def _start(self, algorithm: str, modules: list[str]) -> subprocess.Popen:
        # The runner package builds the sandbox's command line (the server never imports it).
        env = self._runner_env()
        env.update(PETRI_SANDBOX="bwrap", PETRI_SANDBOX_BWRAP=self._bwrap)
        if self.uid is not None:
            env["PETRI_SANDBOX_UID"] = str(self.uid)
        argv = [
            sys.executable,
            "-m",
            "petri_runner.zygote",
            "launch",
            str(self.base / "spool"),
            str(self.base / "sockets"),
            algorithm,
            *modules,
        ]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"zygote-{algorithm}.log").open("ab") as out:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        log.info("started the warm zygote of %s as pid %s", algorithm, proc.pid)
        return proc

    def pids(self) -> dict[str, int]:
        """The running zygotes' pids, by algorithm."""
        with self._lock:
            return {name: p.pid for name, p in self._zygotes.items() if p.poll() is None}

    def shutdown(self) -> None:
        with self._lock:
            zygotes, self._zygotes = list(self._zygotes.values()), {}
        for proc in zygotes:
            if proc.poll() is None:
                proc.terminate()
        for proc in zygotes:
            try:
                proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
