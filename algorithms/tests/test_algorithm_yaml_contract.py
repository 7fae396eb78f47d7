"""Every algorithms/*/algorithm.yaml follows the algorithm contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ALGORITHMS_DIR = Path(__file__).resolve().parents[1]

# Folders in algorithms/ that hold no algorithm.
NOT_ALGORITHMS = {"datasets", "tests", "__pycache__"}

TOP_KEYS = {
    "preload",
    "name",
    "title",
    "description",
    "language",
    "entrypoint",
    "image",
    "inputs",
    "resources",
    "parameters",
    "produces",
}
REQUIRED_TOP_KEYS = TOP_KEYS - {"image", "produces", "preload"}
# What a successful job may leave behind for the server to register; "dataset":
# output data.csv and graph.json become a new dataset of the job's owner.
PRODUCES = {"dataset"}
PARAM_KEYS = {"type", "default", "minimum", "maximum", "values", "description"}
PARAM_TYPES = {"int", "float", "str", "bool", "choice"}
NAME = re.compile(r"[a-z0-9-]+")
MEMORY = re.compile(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?")


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_parameter(key: str, param: object) -> list[str]:
    if not isinstance(param, dict):
        return [f"parameter {key}: must be a mapping"]
    errors = [f"parameter {key}: unknown key {k!r}" for k in param.keys() - PARAM_KEYS]
    kind, default = param.get("type"), param.get("default")
    if kind not in PARAM_TYPES:
        return [*errors, f"parameter {key}: type must be one of {sorted(PARAM_TYPES)}"]
    if "default" not in param:
        errors.append(f"parameter {key}: no default")
    if "description" in param and not isinstance(param["description"], str):
        errors.append(f"parameter {key}: description must be a string")
    bounds = {b: param[b] for b in ("minimum", "maximum") if b in param}
    if bounds and kind not in {"int", "float"}:
        errors.append(f"parameter {key}: minimum/maximum only apply to int and float")
    if "values" in param and kind != "choice":
        errors.append(f"parameter {key}: values only apply to choice")

    if kind == "int":
        if isinstance(default, bool) or not isinstance(default, int):
            errors.append(f"parameter {key}: default must be an int")
        errors += [
            f"parameter {key}: {b} must be an int"
            for b, v in bounds.items()
            if isinstance(v, bool) or not isinstance(v, int)
        ]
    elif kind == "float":
        if not is_number(default):
            errors.append(f"parameter {key}: default must be a number")
        errors += [
            f"parameter {key}: {b} must be a number" for b, v in bounds.items() if not is_number(v)
        ]
    elif kind == "str" and not isinstance(default, str):
        errors.append(f"parameter {key}: default must be a string")
    elif kind == "bool" and not isinstance(default, bool):
        errors.append(f"parameter {key}: default must be true or false")
    elif kind == "choice":
        values = param.get("values")
        if not isinstance(values, list) or not values:
            errors.append(f"parameter {key}: choice needs a non-empty list of values")
        elif len(set(map(repr, values))) != len(values):
            errors.append(f"parameter {key}: values must be unique")
        elif default not in values:
            errors.append(f"parameter {key}: default {default!r} is not among the values")

    if errors or kind not in {"int", "float"}:
        return errors
    low, high = bounds.get("minimum"), bounds.get("maximum")
    if low is not None and high is not None and low > high:
        errors.append(f"parameter {key}: minimum is above maximum")
    if low is not None and default < low:
        errors.append(f"parameter {key}: default {default} is below the minimum {low}")
    if high is not None and default > high:
        errors.append(f"parameter {key}: default {default} is above the maximum {high}")
    return errors


def check_spec(spec: object, folder: str) -> list[str]:
    """All the ways `spec` breaks the contract; empty when it follows it."""
    if not isinstance(spec, dict):
        return ["algorithm.yaml must be a mapping"]
    errors = [f"unknown key {k!r}" for k in spec.keys() - TOP_KEYS]
    errors += [f"missing key {k!r}" for k in sorted(REQUIRED_TOP_KEYS - spec.keys())]
    name = spec.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        errors.append("name must match [a-z0-9-]+")
    elif name != folder:
        errors.append(f"name {name!r} differs from the folder {folder!r}")
    for key in ("title", "description", "language"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            errors.append(f"{key} must be a non-empty string")
    if "image" in spec and (not isinstance(spec["image"], str) or not spec["image"].strip()):
        errors.append("image must be a non-empty string when present")
    produces = spec.get("produces", "dataset")
    if not isinstance(produces, str) or produces not in PRODUCES:
        errors.append(f"produces must be one of {sorted(PRODUCES)} when present")
    entrypoint = spec.get("entrypoint")
    if (
        not isinstance(entrypoint, list)
        or not entrypoint
        or not all(isinstance(a, str) and a for a in entrypoint)
    ):
        errors.append("entrypoint must be a non-empty list of strings")
    inputs = spec.get("inputs")
    if not isinstance(inputs, dict) or inputs.get("dataset") not in {
        "required",
        "optional",
        "none",
    }:
        errors.append("inputs.dataset must be required, optional or none")
    errors += check_resources(spec.get("resources"))
    parameters = spec.get("parameters")
    if not isinstance(parameters, dict):
        errors.append("parameters must be a mapping (possibly empty)")
    else:
        for key, param in parameters.items():
            if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                errors.append(f"parameter name {key!r} must be an identifier")
            errors += check_parameter(str(key), param)
    return errors


def check_resources(resources: object) -> list[str]:
    if not isinstance(resources, dict):
        return ["resources must be a mapping with cpu, memory and gpu"]
    errors = [f"resources: unknown key {k!r}" for k in resources.keys() - {"cpu", "memory", "gpu"}]
    cpu, memory, gpu = (
        resources.get("cpu"),
        resources.get("memory"),
        resources.get("gpu"),
    )
    # A number of cores, as jobs.sweeps.validate_resources accepts; not a "500m" string.
    if not is_number(cpu) or cpu <= 0:
        errors.append("resources.cpu must be a positive number of cores")
    if not isinstance(memory, str) or not MEMORY.fullmatch(memory):
        errors.append("resources.memory must be a quantity like '1Gi'")
    if isinstance(gpu, bool) or not isinstance(gpu, int) or gpu < 0:
        errors.append("resources.gpu must be a whole number, 0 or more")
    return errors


def algorithm_folders() -> list[Path]:
    return sorted(p.parent for p in ALGORITHMS_DIR.glob("*/algorithm.yaml"))


@pytest.mark.parametrize("folder", algorithm_folders(), ids=lambda p: p.name)
def test_algorithm_yaml_follows_the_contract(folder):
    spec = yaml.safe_load((folder / "algorithm.yaml").read_text())
    assert check_spec(spec, folder.name) == []


@pytest.mark.parametrize("folder", algorithm_folders(), ids=lambda p: p.name)
def test_entrypoint_script_is_in_the_folder(folder):
    spec = yaml.safe_load((folder / "algorithm.yaml").read_text())
    scripts = [arg for arg in spec["entrypoint"][1:] if arg.endswith((".py", ".R", ".sh"))]
    assert scripts, "expected the entrypoint to name a script"
    assert all((folder / script).is_file() for script in scripts)


@pytest.mark.parametrize("folder", algorithm_folders(), ids=lambda p: p.name)
def test_algorithm_folder_is_not_a_python_package(folder):
    assert not (folder / "__init__.py").exists()


def test_catalog_holds_pc_and_sleep_and_score():
    assert {"pc", "sleep-and-score"} <= {p.name for p in algorithm_folders()}


def test_catalog_holds_the_causal_discovery_machine_learning_and_generator_algorithms():
    assert {"fci", "ges", "pc-r", "sklearn-digits", "generate-linear-gaussian"} <= {
        p.name for p in algorithm_folders()
    }


def test_only_the_generator_produces_a_dataset_and_it_takes_none():
    producers = {}
    for folder in algorithm_folders():
        spec = yaml.safe_load((folder / "algorithm.yaml").read_text())
        if "produces" in spec:
            producers[folder.name] = (spec["produces"], spec["inputs"]["dataset"])
    assert producers == {"generate-linear-gaussian": ("dataset", "none")}


def python_algorithm_folders() -> list[Path]:
    return [
        folder
        for folder in algorithm_folders()
        if yaml.safe_load((folder / "algorithm.yaml").read_text())["language"] == "python"
    ]


@pytest.mark.parametrize("folder", python_algorithm_folders(), ids=lambda p: p.name)
def test_python_algorithm_uses_the_kit_and_carries_no_copy_of_it(folder):
    # One kit (base-image/runner/petri_kit) for every Python algorithm, and run(job) for
    # the tests to call in-process; a folder's own helper module would be a copy to drift.
    source = (folder / "main.py").read_text()
    assert "import petri_kit as kit" in source
    assert "def run(job: kit.Job) -> None:" in source
    assert 'if __name__ == "__main__":\n    run(kit.Job.from_env())' in source
    assert sorted(p.name for p in folder.glob("*.py")) == ["main.py"]


def test_every_other_folder_is_a_known_non_algorithm():
    folders = {
        p.name for p in ALGORITHMS_DIR.iterdir() if p.is_dir() and not p.name.startswith(".")
    }
    assert folders - {p.name for p in algorithm_folders()} <= NOT_ALGORITHMS


VALID = {
    "name": "demo",
    "title": "Demo",
    "description": "A demo.",
    "language": "python",
    "entrypoint": ["python", "main.py"],
    "inputs": {"dataset": "none"},
    "resources": {"cpu": 1, "memory": "1Gi", "gpu": 0},
    "parameters": {
        "alpha": {"type": "float", "default": 0.05, "minimum": 0.0, "maximum": 1.0},
        "test": {"type": "choice", "values": ["a", "b"], "default": "a"},
        "flag": {"type": "bool", "default": True},
    },
}


def with_changes(**changes) -> dict:
    spec = yaml.safe_load(yaml.safe_dump(VALID))
    spec.update(changes)
    return spec


def with_parameter(key: str, **changes) -> dict:
    spec = with_changes()
    spec["parameters"][key].update(changes)
    return spec


def test_contract_check_accepts_a_valid_spec():
    assert check_spec(with_changes(), "demo") == []


def test_contract_check_accepts_a_spec_that_produces_a_dataset():
    assert check_spec(with_changes(produces="dataset"), "demo") == []


@pytest.mark.parametrize(
    "spec",
    [
        with_changes(name="other"),
        with_changes(name="Bad_Name"),
        with_changes(entrypoint=[]),
        with_changes(entrypoint="python main.py"),
        with_changes(inputs={"dataset": "maybe"}),
        with_changes(resources={"cpu": 1, "memory": 1024, "gpu": 0}),
        with_changes(resources={"cpu": "500m", "memory": "1Gi", "gpu": 0}),
        with_changes(colour="blue"),
        with_changes(produces="model"),
        with_changes(produces=["dataset"]),
        with_changes(produces=None),
        with_parameter("alpha", default=2.0),
        with_parameter("alpha", default="0.1"),
        with_parameter("alpha", minimum=0.9, maximum=0.1),
        with_parameter("test", default="c"),
        with_parameter("test", values=[]),
        with_parameter("flag", default="yes"),
        with_parameter("flag", type="boolean"),
        with_parameter("flag", minimum=0),
    ],
    ids=[
        "name-differs-from-folder",
        "name-with-capitals",
        "empty-entrypoint",
        "entrypoint-as-string",
        "unknown-dataset-input",
        "memory-as-number",
        "cpu-as-quantity-string",
        "unknown-top-level-key",
        "produces-something-other-than-a-dataset",
        "produces-as-a-list",
        "produces-empty",
        "default-above-maximum",
        "float-default-as-string",
        "minimum-above-maximum",
        "choice-default-not-in-values",
        "choice-without-values",
        "bool-default-as-string",
        "unknown-type",
        "bounds-on-a-bool",
    ],
)
def test_contract_check_rejects(spec):
    assert check_spec(spec, "demo") != []


def test_contract_check_rejects_a_spec_without_parameters():
    spec = with_changes()
    del spec["parameters"]
    assert "missing key 'parameters'" in check_spec(spec, "demo")
