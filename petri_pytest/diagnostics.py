"""What a failed test's report shows besides its traceback: what its fixtures saw meanwhile.

A fixture registers a describer for its test (``describe_on_failure``); when the test's body
fails, each describer's text becomes a section of the report. A served test adds its server's
log since the test started and every thread's stack; a browser test, the page's requests
still in flight or failed. A flaky failure in CI is then read from its report, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    if report.when == "call" and report.failed:
        report.sections += descriptions(item)
    return report
