"""The layers are a contract: webapp -> jobs <- scheduler; the runner and the client stand alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = (
    "jobs imports neither the web app nor the scheduler",
    "the web app and the scheduler meet only in jobs",
    "the runner imports nothing of Petri's",
    "the client imports nothing of the server's or the runner's",
)


def test_every_import_contract_of_dot_importlinter_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "base-image" / "runner"), str(ROOT)]),
    }
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(ROOT / ".importlinter")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout, f"contract {name!r} is missing from .importlinter"
