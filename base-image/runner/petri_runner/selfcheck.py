"""The sandbox's self-check: ``python -m petri_runner.selfcheck``, which the local backend runs
before it trusts the sandbox with uploaded code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from petri_runner.sandbox import (
    Layout,
    Sandbox,
    SandboxError,
    algorithm_env,
    command,
    prepare,
)


def self_check(sandbox: Sandbox) -> str | None:
    """Run ``python -c`` in the sandbox; None if it works, else what went wrong."""
    base = Path(tempfile.mkdtemp(prefix="petri-sandbox-check-")).resolve()
    try:
        layout = Layout(base / "work", base / "output", base / "input", base / "params.json")
        for directory in (layout.work, layout.output, layout.inputs):
            directory.mkdir()
        layout.params_file.write_text("{}\n")
        prepare(layout, sandbox)
        probe = "import os, petri_runner; open('ok', 'w').write(str(os.getpid()))"
        argv = command([sys.executable, "-c", probe], layout, sandbox)
        env = algorithm_env(os.environ, {}, sandbox, layout.work)
        try:
            done = subprocess.run(
                argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot run {argv[0]}: {exc}"
        if done.returncode != 0:
            output = (done.stderr or done.stdout).decode(errors="replace").strip()
            return f"{argv[0]} exited with status {done.returncode}: {output[-500:]}"
        # In its own PID namespace the probe is a low pid, not one of this machine's.
        pid = (layout.work / "ok").read_text()
        if not pid.isdigit() or int(pid) > 10:
            return f"the probe ran, but not in a PID namespace of its own (pid {pid})"
        return None
    except (OSError, SandboxError) as exc:
        return str(exc)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    """``python -m petri_runner.selfcheck``: check the sandbox the environment describes."""
    from petri_runner.config import sandbox_from_env
    from petri_runner.errors import ConfigError

    try:
        sandbox = sandbox_from_env(os.environ)
    except ConfigError as exc:
        print(f"sandbox self-check: {exc}", file=sys.stderr)
        return 2
    problem = self_check(sandbox) if sandbox.enabled else "PETRI_SANDBOX is not bwrap"
    if problem:
        print(f"sandbox self-check failed: {problem}", file=sys.stderr)
        return 1
    print("sandbox self-check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
