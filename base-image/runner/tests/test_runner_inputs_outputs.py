"""The job spec's validation, and what is read back from the output directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from petri_runner.outputs import MetricsFileError, iter_output_files, read_metrics_file
from petri_runner.spec import InvalidSpec, parse_spec
from runner_testkit import make_spec


def test_spec_is_parsed_with_defaults_for_optional_fields() -> None:
    data = make_spec("pc", parameters={"alpha": 0.05}, timeout=3600)
    del data["heartbeat_interval"]
    spec = parse_spec(data)

    assert (spec.job, spec.attempt, spec.algorithm.name) == (12, 1, "pc")
    assert spec.parameters == {"alpha": 0.05}
    assert spec.timeout == 3600.0
    assert spec.heartbeat_interval == 15.0
    assert spec.dataset_url is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"job": "12"}, "'job' is not an integer"),
        ({"attempt": True}, "'attempt' is not an integer"),
        ({"parameters": [1]}, "'parameters' is not an object"),
        ({"timeout": 0}, "'timeout' is not a positive number"),
        ({"algorithm": {"name": "..", "entrypoint": ["x"]}}, "not a folder name"),
        ({"algorithm": {"name": "a/b", "entrypoint": ["x"]}}, "not a folder name"),
        ({"algorithm": {"name": "pc", "entrypoint": []}}, "entrypoint"),
        ({"algorithm": {"name": "pc", "entrypoint": "python main.py"}}, "entrypoint"),
    ],
)
def test_spec_with_a_bad_field_is_refused(change: dict, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        parse_spec({**make_spec("pc"), **change})


def test_output_files_are_listed_recursively_without_symlinks(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "b.json").write_text("{}")
    os.symlink(tmp_path / "a.txt", tmp_path / "link.txt")
    os.symlink(tmp_path / "deep", tmp_path / "linked-dir")

    names = [name for name, _ in iter_output_files(tmp_path)]

    assert names == ["a.txt", "deep/er/b.json"]


def test_metrics_file_is_optional(tmp_path: Path) -> None:
    assert read_metrics_file(tmp_path) is None


def test_metrics_file_with_numbers_is_read(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text('{"shd": 3, "f1": 0.75}')

    assert read_metrics_file(tmp_path) == {"shd": 3, "f1": 0.75}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "must be a JSON object of numbers, not a list"),
        ('{"f1": "0.7"}', "'f1' is not a finite number"),
        ('{"f1": null}', "'f1' is not a finite number"),
        ('{"f1": Infinity}', "not valid JSON"),
        ('{"f1": 1e999}', "'f1' is not a finite number"),
        ("", "not valid JSON"),
    ],
)
def test_metrics_file_that_is_not_an_object_of_numbers_is_an_error(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "metrics.json").write_text(content)

    with pytest.raises(MetricsFileError, match=message):
        read_metrics_file(tmp_path)
