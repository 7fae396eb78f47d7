"""GET /api/datasets/<id>/preview/ (first rows) and /truth/ (the ground-truth graph)."""

from __future__ import annotations

from jobs import services
from jobs.tests.factories import make_csv, make_dataset

GRAPH = {"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", "type": "directed"}]}


def test_the_preview_gives_the_header_and_the_first_rows(api, user):
    dataset = make_dataset(user, rows=50)
    body = api.get(f"/api/datasets/{dataset.pk}/preview/?rows=3").json()
    assert body == {"columns": ["x", "y"], "rows": [["0", "0"], ["1", "2"], ["2", "4"]]}
    assert len(api.get(f"/api/datasets/{dataset.pk}/preview/").json()["rows"]) == 20


def test_the_preview_is_capped_and_checks_its_parameter(api, user):
    dataset = make_dataset(user, rows=500)
    assert len(api.get(f"/api/datasets/{dataset.pk}/preview/?rows=5000").json()["rows"]) == 100
    assert api.get(f"/api/datasets/{dataset.pk}/preview/?rows=many").status_code == 400


def test_the_true_graph_is_served_when_the_dataset_has_one(api, user):
    dataset, _ = services.create_dataset(owner=user, upload=make_csv(3), truth=GRAPH)
    response = api.get(f"/api/datasets/{dataset.pk}/truth/")
    assert response.status_code == 200
    assert response.json() == GRAPH


def test_a_dataset_without_a_true_graph_answers_not_found(api, user):
    dataset = make_dataset(user)
    assert api.get(f"/api/datasets/{dataset.pk}/truth/").status_code == 404


def test_another_users_dataset_is_neither_previewed_nor_its_truth_shown(other_api, user):
    dataset, _ = services.create_dataset(owner=user, upload=make_csv(3), truth=GRAPH)
    assert other_api.get(f"/api/datasets/{dataset.pk}/preview/").status_code == 404
    assert other_api.get(f"/api/datasets/{dataset.pk}/truth/").status_code == 404
