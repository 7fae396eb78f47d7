"""xdist's ``--dist loadgroup`` keeps a group's tests on one worker (with pytest 9 too)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with open(f"worker-{n}.txt", "w") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_every_test_of_an_xdist_group_runs_on_one_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    # xdist alone: every installed plugin (hypothesis, schemathesis...) would cost each of the
    # three processes seconds of CPU.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["petri_pytest.isolation"]')
    pytester.makepyfile(test_grouped=GROUPED)

    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"
    )

    result.assert_outcomes(passed=6)
    workers = {(pytester.path / f"worker-{n}.txt").read_text() for n in range(6)}
    assert len(workers) == 1, workers
