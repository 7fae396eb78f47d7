"""Fixtures for the runner's tests: an algorithms folder and runner processes to clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
# The runner is not installed; its tests import it (and their kit) from the source tree.
for _path in (TESTS_DIR.parent, TESTS_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from runner_testkit import start_runner  # noqa: E402


@pytest.fixture
def algorithms_dir(tmp_path: Path) -> Path:
    path = tmp_path / "algorithms"
    path.mkdir()
    return path


@pytest.fixture
def launch() -> Iterator[Callable[[dict[str, str]], subprocess.Popen[str]]]:
    """Start runners; any still alive at the end of the test are killed."""
    started: list[subprocess.Popen[str]] = []

    def _launch(env: dict[str, str]) -> subprocess.Popen[str]:
        proc = start_runner(env)
        started.append(proc)
        return proc

    yield _launch
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
