"""The algorithm's confinement: a bubblewrap sandbox, an allow-listed environment, rlimits.

The runner stays outside and trusted; only the entrypoint runs inside. ``PETRI_SANDBOX=bwrap``
(set by the local backend) turns the sandbox on; in a Kubernetes pod or a Slurm job the pod or
job is the boundary and the runner starts the entrypoint as it is.

``python -m petri_runner.selfcheck`` runs the self-check the local backend uses before trusting
the sandbox with uploaded code.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from petri_runner.result import OOM_KILLED

BWRAP = "bwrap"
NONE = "none"
KINDS = (BWRAP, NONE)

# Seen only when the sandbox is on: everything else in the runner's environment stays out.
PASSED_NAMES = frozenset(
    {
        "PATH",
        "LANG",
        "LANGUAGE",
        "TZ",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    }
)
PASSED_PREFIXES = ("LC_",)
# The algorithm contract: what the runner hands every entrypoint.
ALGORITHM_NAMES = (
    "PETRI_PARAMS_FILE",
    "PETRI_DATASET_FILE",
    "PETRI_TRUTH_FILE",
    "PETRI_OUTPUT_DIR",
)

# /etc holds secrets (shadow, ssh keys, the server's config): only what programs need to run.
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
    "timezone",
    "hosts",
    "nsswitch.conf",
    "os-release",
    "R",
    "fonts",
    "mime.types",
)
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
HOSTNAME = "petri-job"
NOBODY = 65534
# RLIMIT_CPU sends SIGXCPU at the soft limit; SIGKILL follows this much later.
CPU_KILL_AFTER_SECONDS = 5


class SandboxError(Exception):
    """The sandbox cannot be set up; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Per-process rlimits for the entrypoint and everything it starts (None: not limited)."""

    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    processes: int | None = None
    file_bytes: int | None = None

    def prlimit_argv(self) -> list[str]:
        """``prlimit --as=... -- `` (util-linux), or nothing when no limit is set."""
        options = []
        if self.memory_bytes is not None:
            options.append(f"--as={self.memory_bytes}")
        if self.cpu_seconds is not None:
            options.append(f"--cpu={self.cpu_seconds}:{self.cpu_seconds + CPU_KILL_AFTER_SECONDS}")
        if self.processes is not None:
            options.append(f"--nproc={self.processes}")
        if self.file_bytes is not None:
            options.append(f"--fsize={self.file_bytes}")
        if not options:
            return []
        return [_tool("prlimit"), "--core=0", *options, "--"]

    def named(self) -> dict[str, int]:
        """The limits that are set, by name (as a warm zygote takes them)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in values.items() if value is not None}

    def summary(self) -> str:
        """The limits as the job's log states them."""
        return shlex.join(self.prlimit_argv()[2:-1]) or "none"


@dataclass(frozen=True)
class Sandbox:
    """How to confine one entrypoint: the kind, bwrap's path, the uid to drop to as root."""

    kind: str = NONE
    bwrap: str = "/usr/bin/bwrap"
    # When the runner is root, the entrypoint runs as this uid (and gid) instead.
    uid: int | None = None
    limits: Limits = field(default_factory=Limits)

    @property
    def enabled(self) -> bool:
        return self.kind == BWRAP

    @property
    def drops_to(self) -> int | None:
        """The uid the entrypoint runs as when the runner is root, else None."""
        if not self.enabled or os.geteuid() != 0:
            return None
        # Root's processes escape RLIMIT_NPROC and own every root file: never run as root.
        return self.uid if self.uid else NOBODY


@dataclass(frozen=True)
class Layout:
    """The paths of one attempt the sandbox exposes (see workspace.Workspace)."""

    work: Path
    output: Path
    inputs: Path
    params_file: Path


def runner_dir() -> Path:
    """The directory holding petri_runner and the algorithm kit (the entrypoint's PYTHONPATH)."""
    return Path(__file__).resolve().parent.parent


def algorithm_env(
    runner_env: Mapping[str, str], given: Mapping[str, str], sandbox: Sandbox, home: Path
) -> dict[str, str]:
    """The entrypoint's environment: ``given`` (the contract's PETRI_* files) plus a safe rest.

    In the sandbox the rest is an allow list. Without it (a pod, a Slurm job) the image's
    environment is kept, minus every PETRI_* variable of the runner, the token among them.
    """
    if sandbox.enabled:
        env = {
            name: value
            for name, value in runner_env.items()
            if name in PASSED_NAMES or name.startswith(PASSED_PREFIXES)
        }
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update(
            HOME=str(home),
            TMPDIR="/tmp",
            PYTHONPATH=str(runner_dir()),
            PYTHONDONTWRITEBYTECODE="1",
        )
    else:
        env = {name: value for name, value in runner_env.items() if not name.startswith("PETRI_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(given)
    return env


def command(argv: Sequence[str], layout: Layout, sandbox: Sandbox) -> list[str]:
    """The command line that runs ``argv`` confined as ``sandbox`` says."""
    limits = sandbox.limits.prlimit_argv()
    if not sandbox.enabled:
        return [*limits, *argv]
    return [sandbox.bwrap, *bwrap_options(layout, sandbox), "--", *limits, *_drop(sandbox), *argv]


def bwrap_options(layout: Layout, sandbox: Sandbox) -> list[str]:
    """bwrap's namespaces and mounts: system dirs and inputs read-only, work and output not."""
    binds = [
        ("--ro-bind", layout.params_file, layout.params_file),
        ("--ro-bind", layout.inputs, layout.inputs),
        ("--bind", layout.work, layout.work),
        ("--bind", layout.output, layout.output),
    ]
    return _options(sandbox, binds, chdir=layout.work, nested_userns=False)


def zygote_command(
    spool: Path, socket_dir: Path, socket_name: str, modules: Sequence[str], sandbox: Sandbox
) -> list[str]:
    """The command line of a warm zygote (zygote.py) in the sandbox, seeing only its spool.

    Its children make namespaces of their own (isolate.py), so nested user namespaces stay
    allowed here; each child gives up every capability before any job code runs.
    """
    from petri_runner import isolate

    binds = [
        ("--bind", spool, Path(isolate.JOB_SPOOL)),
        ("--bind", socket_dir, Path(isolate.SOCKET_DIR)),
        ("--dir", None, Path(isolate.JOB_ROOT)),
    ]
    socket_path = f"{isolate.SOCKET_DIR}/{socket_name}"
    argv = [sys.executable, "-m", "petri_runner.zygote", "serve", socket_path, *modules]
    options = _options(sandbox, binds, chdir=Path("/"), nested_userns=True)
    return [sandbox.bwrap, *options, "--", *_drop(sandbox), *argv]


def _options(
    sandbox: Sandbox,
    binds: list[tuple[str, Path | None, Path]],
    *,
    chdir: Path,
    nested_userns: bool,
) -> list[str]:
    options = [
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        HOSTNAME,
        "--die-with-parent",
        "--new-session",
    ]
    if sandbox.drops_to is None:
        # Unprivileged: bwrap needs a user namespace; nested ones are refused inside.
        options += ["--unshare-user"] + ([] if nested_userns else ["--disable-userns"])
    options += ["--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            options += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            options += ["--ro-bind", path, path]
    options += ["--perms", "0755", "--dir", "/etc"]
    for entry in ETC_ENTRIES:
        options += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    options += ["--proc", "/proc", "--dev", "/dev"]
    # Private and open to the entrypoint's uid: POSIX semaphores (multiprocessing) live in shm.
    # Both hold their files in RAM, which RLIMIT_AS does not count: each gets the memory limit.
    memory = sandbox.limits.memory_bytes
    size = ["--size", str(memory)] if memory is not None else []
    for scratch in ("/tmp", "/dev/shm"):
        options += ["--perms", "1777", *size, "--tmpfs", scratch]
    # Binds below /tmp must come after the tmpfs that would hide them.
    binds = [
        *(bind for path in [*_python_dirs(), runner_dir()] for bind in _ro_bind_as_seen(path)),
        *binds,
    ]
    # bwrap makes missing parents private to root (0700), which would shut out the uid the
    # entrypoint runs as when the runner is root: make them plainly readable first.
    parents = sorted({p for _, _, dest in binds for p in dest.parents}, key=lambda p: len(p.parts))
    for parent in parents:
        if parent not in (Path("/"), Path("/tmp")):
            options += ["--perms", "0755", "--dir", str(parent)]
    for kind, source, dest in binds:
        options += [kind, str(dest)] if source is None else [kind, str(source), str(dest)]
    # The sandbox's own root (where /etc, /work... were made) must not take writes either.
    options += ["--remount-ro", "/", "--chdir", str(chdir)]
    return options


def prepare(layout: Layout, sandbox: Sandbox) -> None:
    """Hand the writable directories to the uid the entrypoint will run as."""
    uid = sandbox.drops_to
    if uid is None:
        return
    for top in (layout.work, layout.output):
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, uid, uid, follow_symlinks=False)


def _drop(sandbox: Sandbox) -> list[str]:
    """setpriv: no new privileges ever; as root, also a plain uid with no capabilities."""
    argv = [_tool("setpriv"), "--no-new-privs"]
    uid = sandbox.drops_to
    if uid is not None:
        argv += [
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ]
    return [*argv, "--"]


def _python_dirs() -> list[Path]:
    """The interpreter the entrypoint's ``python`` resolves to: its venv and installation."""
    dirs = []
    for prefix in (sys.prefix, sys.base_prefix):
        path = Path(os.path.abspath(prefix))
        if not any(path == p or p in path.parents for p in (Path("/usr"), *dirs)):
            dirs.append(path)
    return dirs


def _ro_bind_as_seen(path: Path) -> list[tuple[str, Path | None, Path]]:
    """Bind the real directory read-only, and recreate the link if ``path`` is reached by one."""
    real = path.resolve()
    binds: list[tuple[str, Path | None, Path]] = [("--ro-bind", real, real)]
    if real != path:
        binds.append(("--symlink", real, path))
    return binds


def _tool(name: str) -> str:
    found = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if found is None:
        raise SandboxError(f"{name} (util-linux) is not installed")
    return found


@dataclass(frozen=True)
class Explanation:
    """Why a confined entrypoint failed, when one of its limits is the likely cause."""

    message: str
    reason: str | None = None


_OUT_OF_MEMORY = re.compile(r"MemoryError|Cannot allocate memory|cannot allocate vector|bad_alloc")
_FORK_REFUSED = re.compile(r"Resource temporarily unavailable|Cannot fork|can't fork")


def normalize_returncode(returncode: int, sandbox: Sandbox) -> int:
    """bwrap reports death by signal N as 128 + N; turn that back into -N as Popen would."""
    if sandbox.enabled and 128 < returncode < 128 + 65:
        return -(returncode - 128)
    return returncode


def explain(returncode: int, tail: Sequence[str], limits: Limits) -> Explanation | None:
    """Name the limit a failed entrypoint most likely hit, from its exit and last lines."""
    text = "\n".join(tail)
    if returncode == -signal.SIGXCPU and limits.cpu_seconds is not None:
        return Explanation(f"exceeded its CPU time limit of {limits.cpu_seconds} s")
    # Python ignores SIGXFSZ, so its writes fail with EFBIG ("File too large") instead.
    too_large = returncode == -signal.SIGXFSZ or "File too large" in text
    if too_large and limits.file_bytes is not None:
        return Explanation(f"wrote a file past its size limit of {_mb(limits.file_bytes)}")
    if limits.memory_bytes is not None and "No space left on device" in text:
        size = _mb(limits.memory_bytes)
        return Explanation(f"filled its disk or its /tmp or /dev/shm (each holds {size})")
    if limits.memory_bytes is not None and _OUT_OF_MEMORY.search(text):
        return Explanation(f"ran out of its memory limit of {_mb(limits.memory_bytes)}", OOM_KILLED)
    if limits.processes is not None and _FORK_REFUSED.search(text):
        return Explanation(f"reached its limit of {limits.processes} processes and threads")
    return None


def _mb(count: int) -> str:
    return f"{count / (1024 * 1024):g} MB"


def describe(confinement: Sandbox) -> str:
    """What confines a cold entrypoint, as the job's log states it."""
    limits = confinement.limits.summary()
    if confinement.enabled:
        return f"sandbox: bwrap, no network, only work/ and output/ writable; limits: {limits}"
    if confinement.kind == NONE and os.environ.get("PETRI_SANDBOX") == NONE:
        return f"sandbox: none on this server, the entrypoint runs unconfined; limits: {limits}"
    return f"sandbox: the container or job is the boundary; limits: {limits}"
