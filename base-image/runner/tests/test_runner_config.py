"""The runner's environment: required variables, defaults, and exit 2 on bad values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from petri_runner.config import Config
from petri_runner.errors import ConfigError
from runner_testkit import runner_env

GOOD = {"PETRI_API_URL": "http://127.0.0.1:8000", "PETRI_JOB_TOKEN": "secret"}


def test_defaults_apply_when_only_the_required_variables_are_set() -> None:
    config = Config.from_env(GOOD)

    assert config.api_url == "http://127.0.0.1:8000"
    assert config.token == "secret"
    assert config.algorithms_dir == Path("/opt/petri/algorithms")
    assert config.work_dir is None
    assert config.keep_workdir is False
    assert config.retry_seconds == 600


def test_optional_variables_are_read(tmp_path: Path) -> None:
    config = Config.from_env(
        {
            **GOOD,
            "PETRI_ALGORITHMS_DIR": str(tmp_path),
            "PETRI_WORK_DIR": str(tmp_path / "w"),
            "PETRI_KEEP_WORKDIR": "1",
            "PETRI_RUNNER_RETRY_SECONDS": "2.5",
        }
    )

    assert config.algorithms_dir == tmp_path
    assert config.work_dir == tmp_path / "w"
    assert config.keep_workdir is True
    assert config.retry_seconds == 2.5
    assert config.job_spec is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"PETRI_API_URL": ""}, "PETRI_API_URL is not set"),
        ({"PETRI_JOB_TOKEN": " "}, "PETRI_JOB_TOKEN is not set"),
        ({"PETRI_API_URL": "127.0.0.1:8000"}, "must be an http(s) URL"),
        ({"PETRI_JOB_TOKEN": "two words"}, "without spaces"),
        ({"PETRI_RUNNER_RETRY_SECONDS": "soon"}, "must be a number of seconds"),
        ({"PETRI_RUNNER_RETRY_SECONDS": "-1"}, "non-negative"),
        ({"PETRI_KEEP_WORKDIR": "maybe"}, "must be 1 or 0"),
        ({"PETRI_JOB_SPEC": "{job: 1"}, "PETRI_JOB_SPEC is not JSON"),
        ({"PETRI_JOB_SPEC": "[1]"}, "PETRI_JOB_SPEC must be a JSON object"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config.from_env({**GOOD, **override})


@pytest.mark.parametrize("missing", ["PETRI_API_URL", "PETRI_JOB_TOKEN"])
def test_runner_without_a_required_variable_exits_2_with_one_line(
    tmp_path: Path, missing: str
) -> None:
    env = runner_env("http://127.0.0.1:9", tmp_path, **{missing: None})
    proc = subprocess.run(
        [sys.executable, "-m", "petri_runner"], env=env, capture_output=True, text=True, timeout=60
    )

    assert proc.returncode == 2
    assert proc.stderr == f"petri-runner: bad configuration: {missing} is not set\n"
