"""Running the ``petri`` command in tests: this checkout's client, in its own home."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-pass"  # the UserFactory's


class Petri:
    """Runs the installed ``petri`` with its own home (config) and no inherited login."""

    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PETRI_", "XDG_"))}
        self.env["HOME"] = str(home)
        # This checkout's client, not whichever one the shared virtualenv has installed.
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        )
        self.argv = [sys.executable, "-m", "petri_client"]

    def __call__(
        self, *args: str, input: str | None = None, env: dict | None = None, text: bool = True
    ):
        """Run it; ``text=False`` keeps stdout as bytes, line endings and all."""
        return subprocess.run(
            [*self.argv, *args],
            input=input,
            capture_output=True,
            text=text,
            timeout=180,
            cwd=self.home,
            env={**self.env, **(env or {})},
        )

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*self.argv, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.home,
            env=self.env,
        )

    @property
    def config(self) -> Path:
        return self.home / ".config" / "petri" / "config.json"


def wait_for(condition, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        pause.wait(0.1)
    raise AssertionError(f"timed out waiting for {what}")
