"""The tier and service plugins, run on small test files by a pytest of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# slurm is made missing and R present, whatever this machine has.
CONFTEST = """
import os
import pathlib

import pytest

import petri_pytest.services as services
from petri_pytest.tiers import TIERS

pytest_plugins = ["petri_pytest.services", "petri_pytest.tiers"]
services.DETECTORS["slurm"] = lambda: "no slurm in this test"
services.DETECTORS["r"] = lambda: None
services.STARTING_TIMEOUT = 5  # a service nobody starts fails soon, not in 15 minutes


def _answers_once_started():
    # As a cluster does: it answers only once its starter is done.
    marker = os.environ.get("PETRI_STARTING", "kube=").partition("=")[2]
    done = marker and pathlib.Path(marker).read_text().strip() == "ready"
    return None if done else "not started yet"


services.DETECTORS["kube"] = _answers_once_started


@pytest.fixture
def db():
    pass


@pytest.fixture
def petri_server(db):
    pass


@pytest.fixture
def page(petri_server):
    pass


def pytest_collection_finish(session):
    for item in session.items:
        tiers = [mark.name for mark in item.iter_markers() if mark.name in TIERS]
        print("TIER", item.nodeid, *tiers)
"""

INI = """
[pytest]
addopts = -p no:django -p no:xdist -p no:cacheprovider --strict-markers
filterwarnings = ignore::pytest.PytestAssertRewriteWarning
markers =
    django_db: g
    unit: a
    db: b
    system: c
    browser: d
    requires(*services): e
    postgres: f
"""


@pytest.fixture
def petri_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.delenv("PETRI_REQUIRE", raising=False)
    # Only the plugins under test: loading every installed one (hypothesis, faker,
    # schemathesis...) costs each inner pytest seconds of CPU.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    return pytester


def tiers_of(result: pytest.RunResult) -> dict[str, list[str]]:
    lines = [line.split()[1:] for line in result.outlines if line.startswith("TIER ")]
    return {nodeid.split("::")[-1]: tiers for nodeid, *tiers in lines}


def test_every_test_lands_in_exactly_the_tier_its_fixtures_marks_and_folder_give(
    petri_pytester,
):
    petri_pytester.makepyfile(
        test_mixed="""
        import pytest

        def test_plain(): pass
        def test_with_the_database(db): pass
        @pytest.mark.django_db
        def test_with_the_django_db_mark(): pass
        def test_served(petri_server): pass
        def test_in_a_page(page): pass
        @pytest.mark.system
        def test_marked_system(): pass
        @pytest.mark.db
        def test_marked_db_though_served(petri_server): pass
        @pytest.mark.requires("slurm")
        def test_on_a_cluster(): pass
        @pytest.mark.requires("postgres")
        def test_on_postgres(): pass
        @pytest.mark.postgres
        def test_with_the_old_postgres_mark(): pass
        @pytest.mark.requires("r")
        def test_with_r(): pass
        """
    )
    folder = petri_pytester.mkdir("webapp").joinpath("frontend", "tests")
    folder.mkdir(parents=True)
    folder.joinpath("test_ui.py").write_text("def test_in_the_browser_folder(): pass\n")

    result = petri_pytester.runpytest_subprocess("--collect-only", "-q")

    assert result.ret == 0, result.stderr.str()
    assert tiers_of(result) == {
        "test_plain": ["unit"],
        "test_with_the_database": ["db"],
        "test_with_the_django_db_mark": ["db"],
        "test_served": ["system"],
        "test_in_a_page": ["browser"],
        "test_marked_system": ["system"],
        "test_marked_db_though_served": ["db"],
        "test_on_a_cluster": ["system"],
        "test_on_postgres": ["db"],
        "test_with_the_old_postgres_mark": ["db"],
        "test_with_r": ["unit"],
        "test_in_the_browser_folder": ["browser"],
    }


def test_a_tier_runs_alone_with_m(petri_pytester):
    petri_pytester.makepyfile(
        test_two="def test_plain(): pass\ndef test_with_the_database(db): pass\n"
    )
    result = petri_pytester.runpytest_subprocess("-m", "db", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_with_the_database PASSED*"])


def test_a_unit_mark_on_a_test_that_uses_the_database_stops_the_run(petri_pytester):
    petri_pytester.makepyfile(
        test_wrong="import pytest\n\n@pytest.mark.unit\ndef test_x(db): pass\n"
    )
    result = petri_pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_x is marked unit but uses the database" in result.stderr.str()


def test_a_missing_service_skips_its_tests_with_one_line_in_the_summary(petri_pytester):
    petri_pytester.makepyfile(
        test_cluster="""
        import pytest

        @pytest.mark.requires("slurm")
        def test_one(): pass
        @pytest.mark.requires("r", "slurm")
        def test_two(): pass
        @pytest.mark.requires("r")
        def test_with_r(): pass
        """
    )
    result = petri_pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    reasons = [line for line in result.outlines if "needs slurm" in line]
    assert len(reasons) == 1 and "SKIPPED [2]" in reasons[0], result.outlines
    assert reasons[0].endswith("needs slurm: no slurm in this test")


def test_a_missing_service_that_petri_require_lists_fails_the_run_naming_it(
    petri_pytester, monkeypatch
):
    petri_pytester.makepyfile(test_plain="def test_plain(): pass\n")
    monkeypatch.setenv("PETRI_REQUIRE", "r, slurm")
    result = petri_pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "PETRI_REQUIRE lists services that are missing" in result.stderr.str()
    assert "slurm: no slurm in this test" in result.stderr.str()
    assert not [line for line in result.errlines if line.strip().startswith("r:")], "R is here"


def test_a_present_service_that_petri_require_lists_runs_its_tests(petri_pytester, monkeypatch):
    petri_pytester.makepyfile(
        test_r='import pytest\n\n@pytest.mark.requires("r")\ndef test_with_r(): pass\n'
    )
    monkeypatch.setenv("PETRI_REQUIRE", "r")
    petri_pytester.runpytest_subprocess().assert_outcomes(passed=1)


STARTED_LATER = """
import pathlib

import pytest


def test_plain():
    # The run got here while the cluster was still starting; now its starter is done.
    pathlib.Path({marker!r}).write_text("ready\\n")


@pytest.mark.requires("kube")
def test_on_the_cluster():
    assert pathlib.Path({marker!r}).read_text() == "ready\\n"
"""


def test_a_required_service_still_starting_is_awaited_at_its_first_test_not_at_the_start(
    petri_pytester, monkeypatch, tmp_path
):
    marker = tmp_path / "kube-starting"
    marker.write_text("")
    petri_pytester.makepyfile(test_later=STARTED_LATER.format(marker=str(marker)))
    monkeypatch.setenv("PETRI_REQUIRE", "kube")
    monkeypatch.setenv("PETRI_STARTING", f"kube={marker}")
    petri_pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_a_required_service_whose_starter_failed_fails_its_tests_with_the_starters_word(
    petri_pytester, monkeypatch, tmp_path
):
    marker = tmp_path / "kube-starting"
    marker.write_text("failed: exit 1\n")
    petri_pytester.makepyfile(
        test_k='import pytest\n\n@pytest.mark.requires("kube")\ndef test_on_it(): pass\n'
        "def test_plain(): pass\n"
    )
    monkeypatch.setenv("PETRI_REQUIRE", "kube")
    monkeypatch.setenv("PETRI_STARTING", f"kube={marker}")
    result = petri_pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*PETRI_REQUIRE lists kube, which is missing*failed: exit 1*"])


@pytest.mark.parametrize(
    ("source", "require"),
    [
        ('import pytest\n\n@pytest.mark.requires("slurmm")\ndef test_x(): pass\n', ""),
        ("def test_x(): pass\n", "postgres,nope"),
    ],
    ids=["mark", "variable"],
)
def test_an_unknown_service_name_is_refused(petri_pytester, monkeypatch, source, require):
    petri_pytester.makepyfile(test_x=source)
    monkeypatch.setenv("PETRI_REQUIRE", require)
    result = petri_pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown service(s)" in result.stderr.str()
    assert ("slurmm" if not require else "nope") in result.stderr.str()


def test_a_failed_test_reports_what_its_fixtures_describe_and_a_passed_one_does_not(
    petri_pytester,
):
    petri_pytester.makepyfile(
        test_described="""
        import pytest
        from petri_pytest.diagnostics import describe_on_failure

        @pytest.fixture
        def watched(request):
            describe_on_failure(request.node, "server", lambda: "busy since " + request.node.name)
            describe_on_failure(request.node, "browser", lambda: 1 / 0)

        def test_fails(watched): assert False
        def test_passes(watched): pass
        """
    )
    result = petri_pytester.runpytest_subprocess("-p", "petri_pytest.diagnostics", "-rP")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*- server -*", "busy since test_fails", "*- browser -*"])
    assert "(could not be described: ZeroDivisionError" in result.stdout.str()
    assert "busy since test_passes" not in result.stdout.str()
