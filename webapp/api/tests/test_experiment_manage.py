"""Rename, notes, tags, archive and delete an experiment through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import services
from jobs.models import Experiment, ExperimentTag, Job, JobEvent, OutputFile, Result
from jobs.tests.factories import finish_job, make_experiment

GRAPH = {"nodes": ["a", "b"], "edges": [{"source": "a", "target": "b", "type": "directed"}]}


@pytest.fixture
def experiment(user, catalog):
    return make_experiment(user, catalog["sleep-and-score"], name="first", parameters={"x": [1, 2]})


def finished(user, catalog, **kwargs):
    """An experiment whose two jobs succeeded, each with a graph.json stored."""
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"x": [1, 2]}, **kwargs
    )
    for job in experiment.jobs.all():
        finish_job(job, {"score": 1.0}, {"graph.json": json.dumps(GRAPH).encode()})
    return experiment


def test_an_experiment_is_renamed_given_notes_and_tagged_in_one_patch(api, experiment):
    response = api.patch(
        f"/api/experiments/{experiment.pk}/",
        {"name": "  alpha sweep ", "notes": "first try\nwith x", "tags": ["pc", "lg6", "pc"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["notes"]) == ("alpha sweep", "first try\nwith x")
    assert body["tags"] == ["lg6", "pc"] and body["archived"] is False
    assert api.get(f"/api/experiments/{experiment.pk}/").json()["tags"] == ["lg6", "pc"]
    # Tags are replaced as a whole; an empty list removes them all.
    api.patch(f"/api/experiments/{experiment.pk}/", {"tags": ["lg6"]}, format="json")
    assert list(ExperimentTag.objects.values_list("name", flat=True)) == ["lg6"]
    api.patch(f"/api/experiments/{experiment.pk}/", {"tags": []}, format="json")
    assert not ExperimentTag.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"notes": "a\x00b"}, "notes"),
        ({"tags": "pc"}, "tags"),
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"archived": "maybe"}, "archived"),
        ({"parameters": {"x": 3}}, "parameters"),
        ({"priority": 3}, "priority"),
    ],
)
def test_a_bad_change_is_a_400_naming_its_field_and_changes_nothing(api, experiment, body, field):
    response = api.patch(f"/api/experiments/{experiment.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    fresh = Experiment.objects.get(pk=experiment.pk)
    assert (fresh.name, fresh.notes, fresh.archived_at) == ("first", "", None)
    assert not ExperimentTag.objects.exists()


def test_the_list_filters_by_tag(api, user, catalog, experiment):
    other = make_experiment(user, catalog["sleep-and-score"], name="second")
    api.patch(f"/api/experiments/{experiment.pk}/", {"tags": ["pc", "lg6"]}, format="json")
    api.patch(f"/api/experiments/{other.pk}/", {"tags": ["ges"]}, format="json")
    ids = [e["id"] for e in api.get("/api/experiments/?tag=pc").json()["results"]]
    assert ids == [experiment.pk]
    listed = api.get("/api/experiments/?tag=pc").json()["results"][0]
    assert listed["counts"]["waiting"] == 2  # the tag's EXISTS leaves the counts alone
    assert api.get("/api/experiments/?tag=nothing").json()["results"] == []
    assert len(api.get("/api/experiments/").json()["results"]) == 2


def test_an_archived_experiment_leaves_the_default_list_and_comes_back(api, user, catalog):
    kept = make_experiment(user, catalog["sleep-and-score"], name="kept")
    archived = make_experiment(user, catalog["sleep-and-score"], name="old")
    response = api.patch(f"/api/experiments/{archived.pk}/", {"archived": True}, format="json")
    assert response.status_code == 200 and response.json()["archived"] is True
    assert response.json()["archived_at"]
    assert [e["id"] for e in api.get("/api/experiments/").json()["results"]] == [kept.pk]
    only = api.get("/api/experiments/?archived=true").json()["results"]
    assert [e["id"] for e in only] == [archived.pk]
    # Its own page and jobs are still there.
    assert api.get(f"/api/experiments/{archived.pk}/").status_code == 200
    assert api.get("/api/experiments/?archived=sometimes").json() == {
        "archived": ["must be true or false"]
    }
    api.patch(f"/api/experiments/{archived.pk}/", {"archived": False}, format="json")
    assert len(api.get("/api/experiments/").json()["results"]) == 2


def test_deleting_an_experiment_removes_its_jobs_results_events_and_files(
    api, user, catalog, django_capture_on_commit_callbacks
):
    experiment = finished(user, catalog)
    kept = finished(user, catalog, name="kept")
    paths = [Path(f.file.path) for f in OutputFile.objects.filter(experiment=experiment)]
    kept_paths = [Path(f.file.path) for f in OutputFile.objects.filter(experiment=kept)]
    assert len(paths) == 2 and all(path.exists() for path in paths)
    api.patch(f"/api/experiments/{experiment.pk}/", {"tags": ["gone"]}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/experiments/{experiment.pk}/")
    assert response.status_code == 204, response.content
    assert not Experiment.objects.filter(pk=experiment.pk).exists()
    for model in (Job, Result, OutputFile, JobEvent):
        field = "job__experiment_id" if model is JobEvent else "experiment_id"
        assert not model.objects.filter(**{field: experiment.pk}).exists()
    assert not ExperimentTag.objects.exists()
    assert not any(path.exists() for path in paths)  # no orphaned file
    assert all(path.exists() for path in kept_paths)  # another experiment's stay
    assert api.get(f"/api/experiments/{experiment.pk}/").status_code == 404


def test_an_experiment_with_unfinished_jobs_is_not_deleted(api, experiment):
    response = api.delete(f"/api/experiments/{experiment.pk}/")
    assert response.status_code == 409
    assert "2 unfinished jobs" in response.json()["detail"]
    assert Job.objects.filter(experiment=experiment).count() == 2
    # Cancelled, it can go.
    services.cancel_experiment(experiment)
    assert api.delete(f"/api/experiments/{experiment.pk}/").status_code == 204


def test_only_the_owner_may_rename_archive_or_delete(api, other_api, other_user, experiment):
    assert other_api.patch(f"/api/experiments/{experiment.pk}/", {"name": "x"}).status_code == 404
    assert other_api.delete(f"/api/experiments/{experiment.pk}/").status_code == 404
    services.share_experiment(experiment, [other_user.username])
    patched = other_api.patch(f"/api/experiments/{experiment.pk}/", {"name": "x"}, format="json")
    assert patched.status_code == 403
    assert other_api.delete(f"/api/experiments/{experiment.pk}/").status_code == 403
    assert Experiment.objects.get(pk=experiment.pk).name == "first"


def test_put_is_not_offered(api, experiment):
    response = api.put(f"/api/experiments/{experiment.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 405
