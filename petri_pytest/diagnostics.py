"""What a failed test's report shows besides its traceback: what its fixtures saw meanwhile.

A fixture registers a describer for its test (``describe_on_failure``); when the test's body
fails, each describer's text becomes a section of the report. A served test adds its server's
log since the test started and every thread's stack; a browser test, the page's requests
still in flight or failed. A flaky failure in CI is then read from its report, not guessed.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

Describer = Callable[[], str]
_DESCRIBERS = pytest.StashKey[list[tuple[str, Describer]]]()


def describe_on_failure(item: pytest.Item, title: str, describe: Describer) -> None:
    """Add ``describe()`` as a section titled ``title`` to ``item``'s report if its body fails."""
    item.stash.setdefault(_DESCRIBERS, []).append((title, describe))


def descriptions(item: pytest.Item) -> list[tuple[str, str]]:
    """Each registered (title, text) for ``item``, now."""
    found = []
    for title, describe in item.stash.get(_DESCRIBERS, []):
        try:
            text = describe()
        except Exception as exc:  # the report must still be made
            text = f"(could not be described: {exc!r})"
        found.append((title, text))
    return found


def print_stacks(process: subprocess.Popen, log: Path, timeout: float = 5.0) -> str:
    """Have a Petri process (serve, scheduler) print every thread's stack to ``log``, its output,
    on SIGUSR1 (scheduler/fleet.py); return what it printed, once it stopped growing."""
    start = log.stat().st_size
    process.send_signal(signal.SIGUSR1)
    deadline, printed = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        threading.Event().wait(0.1)
        with log.open("rb") as out:
            out.seek(start)
            now = out.read().decode(errors="replace")
        if "most recent call first" in now and now == printed:
            return now
        printed = now
    return printed or f"(no stacks printed in {timeout} s)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    if report.when == "call" and report.failed:
        report.sections += descriptions(item)
    return report
