"""A pipeline spec is checked whole before anything runs: each error names its stage and field."""

from __future__ import annotations

import pytest

from jobs.errors import InvalidInput
from jobs.models import Algorithm, Experiment, Job, Pipeline, Stage
from jobs.services.pipelines import submit_pipeline
from jobs.tests.pipeline_helpers import algorithms, study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog_algorithms(db):
    return algorithms()


def refused(user, spec) -> dict:
    with pytest.raises(InvalidInput) as caught:
        submit_pipeline(user, spec)
    assert not Pipeline.objects.exists()
    assert not Stage.objects.exists()
    assert not Experiment.objects.exists()
    assert not Job.objects.exists()
    return caught.value.errors


def test_a_valid_spec_writes_every_stage_in_order_and_starts_only_the_first(user):
    pipeline = submit_pipeline(user, study())

    stages = list(pipeline.stages.values_list("name", "status", "needs"))
    assert stages == [
        ("generate", "running", []),
        ("disc", "pending", ["generate"]),
        ("other", "pending", ["generate"]),
        ("compare", "pending", ["disc", "other"]),
    ]
    assert Experiment.objects.get().pipeline_stage.name == "generate"
    assert Job.objects.count() == 2


def test_a_reference_to_an_unknown_stage_names_the_stage_and_the_field(user):
    errors = refused(user, study(disc={"inputs": {"dataset": "generat"}}))

    assert errors == {"stages": {"disc": {"inputs.dataset": ["stage 'generat' does not exist"]}}}


def test_a_cycle_is_refused_naming_each_stage_on_it(user):
    spec = study(generate={"needs": ["compare"]})

    errors = refused(user, spec)["stages"]

    assert errors["generate"] == {"needs": ["forms a cycle through stage 'compare'"]}
    assert "forms a cycle" in errors["compare"]["needs"][0]
    assert "inputs.dataset" in errors["disc"]


def test_a_dataset_input_from_a_stage_that_produces_none_is_refused(user):
    spec = study(other={"inputs": {"dataset": "disc"}})

    errors = refused(user, spec)

    assert "produces no dataset" in errors["stages"]["other"]["inputs.dataset"][0]


def test_a_named_file_of_any_stage_may_be_a_dataset_input(user):
    pipeline = submit_pipeline(
        user, study(other={"inputs": {"dataset": {"stage": "disc", "file": "out.csv"}}})
    )

    assert pipeline.stages.get(name="other").needs == ["disc"]


def test_a_stage_whose_algorithm_takes_no_dataset_cannot_take_one(user):
    errors = refused(user, study(disc={"algorithm": "gen"}))

    assert errors["stages"]["disc"]["inputs.dataset"] == ["algorithm 'gen' takes no dataset"]


def test_best_parameters_need_an_upstream_objective(user):
    errors = refused(user, study(other={"inputs": {"dataset": "generate", "parameters": "disc"}}))

    assert errors["stages"]["other"]["inputs.parameters"] == [
        "stage 'disc' has no objective, so no best job"
    ]


def test_a_later_stage_parameter_outside_its_schema_is_refused_before_anything_runs(user):
    errors = refused(user, study(disc={"parameters": {"n": 1000}}))

    assert list(errors["stages"]) == ["disc"]
    assert list(errors["stages"]["disc"]) == ["parameters.n"]


def test_unknown_fields_algorithms_policies_and_duplicate_names_are_each_named(user):
    spec = study(
        disc={"algorithm": "nope", "on_failure": "maybe"},
        other={"colour": "red"},
        compare={"name": "generate"},
    )

    errors = refused(user, spec)["stages"]

    assert errors["disc"]["on_failure"] == ["must be 'stop' or 'continue'"]
    assert errors["other"]["colour"] == ["is not a field of an experiment stage"]
    assert errors["generate"]["name"] == ["is the name of more than one stage"]


def test_an_unknown_algorithm_is_named(user):
    errors = refused(user, study(disc={"algorithm": "nope"}))

    assert errors["stages"]["disc"]["algorithm"] == ["no algorithm 'nope' (or give an artifact)"]


def test_a_compare_stage_must_name_its_stages_and_cannot_feed_a_dataset(user):
    unnamed = refused(user, study(compare={"needs": []}))["stages"]
    feeding = refused(
        user, study(compare={"needs": ["disc"]}, other={"inputs": {"dataset": "compare"}})
    )

    assert "must name the stages" in unnamed["compare"]["needs"][0]
    assert feeding["stages"]["other"]["inputs.dataset"] == ["'compare' is a compare stage"]


def test_a_spec_that_is_not_an_object_or_has_no_stages_is_refused(user):
    assert refused(user, [1]) == {"spec": ["must be an object with name and stages"]}
    assert refused(user, {"name": "x", "stages": []}) == {
        "stages": ["must be a list of 1 to 50 stages"]
    }


def test_a_first_stage_the_submit_refuses_writes_nothing(user, settings):
    Algorithm.objects.filter(name="gen").update(enabled=False)

    errors = refused(user, study())

    assert errors["stages"]["generate"]["algorithm"] == ["algorithm 'gen' is disabled"]


def test_values_the_experiment_form_would_refuse_are_refused_per_stage(user):
    spec = study(
        disc={"objective_order": "up", "objective": ["shd"]},
        other={"retry_algorithm_errors": "yes"},
    )

    errors = refused(user, spec)["stages"]

    assert errors["disc"] == {
        "objective": ["must be a metric's name (at most 100 characters)"],
        "objective_order": ["must be 'min' or 'max'"],
    }
    assert errors["other"] == {"retry_algorithm_errors": ["must be true or false"]}


def test_a_nul_character_anywhere_is_refused_before_it_reaches_the_database(user):
    assert refused(user, study(disc={"name": "disc", "objective": "a\x00b"})) == {
        "spec": ["must not contain the NUL character"]
    }
