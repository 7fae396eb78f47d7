"""How many processes the kernel's OOM killer has killed in this container's memory cgroup.

In a container the OOM killer picks the largest process, which is the algorithm, not the
runner: the runner survives and sees its child die of SIGKILL. A rise of this counter over the
attempt tells that death apart from any other SIGKILL.
"""

from __future__ import annotations

from pathlib import Path

# cgroup v2 (the container's own root), then cgroup v1's memory controller.
COUNTER_FILES = (
    Path("/sys/fs/cgroup/memory.events"),
    Path("/sys/fs/cgroup/memory/memory.oom_control"),
)


def oom_kills(files: tuple[Path, ...] = COUNTER_FILES) -> int | None:
    """The cgroup's ``oom_kill`` count, or None where the kernel does not tell."""
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value)
    return None
