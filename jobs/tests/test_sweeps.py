from __future__ import annotations

import pytest

from jobs.errors import InvalidInput
from jobs.sweeps import expand_grid, grid_size, resolve_sweep, validate_resources

SCHEMA = {
    "alpha": {"name": "alpha", "type": "float", "default": 0.05, "minimum": 0.0, "maximum": 1.0},
    "depth": {"name": "depth", "type": "int", "default": 2, "minimum": 1, "maximum": 10},
    "test": {"name": "test", "type": "choice", "values": ["fisherz", "kci"], "default": "fisherz"},
    "stable": {"name": "stable", "type": "bool", "default": True},
    "label": {"name": "label", "type": "str", "default": "x"},
}


def test_scalars_fix_a_parameter_and_defaults_fill_the_rest():
    axes = resolve_sweep(SCHEMA, {"alpha": 0.1})
    assert axes == {
        "alpha": [0.1],
        "depth": [2],
        "test": ["fisherz"],
        "stable": [True],
        "label": ["x"],
    }


def test_lists_are_swept_and_the_grid_is_their_product():
    axes = resolve_sweep(SCHEMA, {"alpha": [0.01, 0.05, 0.1], "stable": [True, False]})
    grid = list(expand_grid(axes))
    assert grid_size(axes, repeats=2) == 12
    assert len(grid) == 6
    assert {"alpha": 0.01, "depth": 2, "test": "fisherz", "stable": False, "label": "x"} in grid


def test_a_range_includes_its_stop_and_keeps_the_type():
    assert resolve_sweep(SCHEMA, {"depth": {"start": 1, "stop": 7, "step": 3}})["depth"] == [
        1,
        4,
        7,
    ]
    alphas = resolve_sweep(SCHEMA, {"alpha": {"start": 0.1, "stop": 0.3, "step": 0.1}})["alpha"]
    assert alphas == [0.1, 0.2, 0.3]


def test_integral_floats_are_accepted_for_int_parameters():
    assert resolve_sweep(SCHEMA, {"depth": 3.0})["depth"] == [3]


@pytest.mark.parametrize(
    ("parameters", "name", "fragment"),
    [
        ({"nope": 1}, "nope", "unknown parameter"),
        ({"depth": "3"}, "depth", "integer"),
        ({"depth": 2.5}, "depth", "integer"),
        ({"depth": True}, "depth", "integer"),
        ({"alpha": 2}, "alpha", "above the maximum"),
        ({"alpha": -0.5}, "alpha", "below the minimum"),
        ({"test": "gsq"}, "test", "not one of"),
        ({"stable": "yes"}, "stable", "true or false"),
        ({"label": 5}, "label", "string"),
        ({"alpha": []}, "alpha", "empty list"),
        ({"depth": {"start": 1, "stop": 0, "step": 1}}, "depth", "below start"),
        ({"depth": {"start": 1, "stop": 3, "step": 0}}, "depth", "positive"),
        ({"depth": {"start": 1, "stop": 3}}, "depth", "start, stop and step"),
        ({"test": {"start": 1, "stop": 3, "step": 1}}, "test", "int or float"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_the_parameter(parameters, name, fragment):
    with pytest.raises(InvalidInput) as caught:
        resolve_sweep(SCHEMA, parameters)
    messages = caught.value.errors["parameters"][name]
    assert fragment in messages[0]


def test_a_parameter_without_default_must_be_given():
    schema = {"k": {"name": "k", "type": "int"}}
    with pytest.raises(InvalidInput) as caught:
        resolve_sweep(schema, {})
    assert caught.value.errors == {"parameters": {"k": ["is required"]}}


def test_resources_merge_over_the_algorithm_defaults_and_unknown_keys_are_named():
    merged = validate_resources({"cpu": 2}, {"memory": "4Gi"})
    assert merged == {"cpu": 2, "memory": "4Gi", "gpu": 0}
    with pytest.raises(InvalidInput) as caught:
        validate_resources({}, {"cpu": -1, "disk": 3, "memory": "lots"})
    assert set(caught.value.errors["resources"]) == {"cpu", "disk", "memory"}
