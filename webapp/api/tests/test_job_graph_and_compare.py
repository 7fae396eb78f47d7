"""GET /api/jobs/<id>/graph/ (JSON and GraphML) and /api/jobs/<id>/compare/."""

from __future__ import annotations

import io
import json

import pytest

from jobs import graphs, services
from jobs.tests.factories import finish_job, make_experiment

TRUTH = {
    "nodes": ["x", "y", "z"],
    "edges": [
        {"source": "x", "target": "y", "type": "directed", "weight": 0.8},
        {"source": "y", "target": "z", "type": "directed", "weight": -1.2},
    ],
}
FOUND = {
    "nodes": ["x", "y", "z"],
    "edges": [
        {"source": "y", "target": "x", "type": "directed", "weight": 0.5},
        {"source": "x", "target": "z", "type": "undirected"},
        {"source": "y", "target": "z", "type": "bidirected", "endpoints": ["arrow", "arrow"]},
    ],
    "sepsets": [{"x": "x", "y": "z", "set": ["y"]}],
}


def xyz_csv(seed: str) -> io.BytesIO:
    """A CSV over the truth's variables x, y and z (a truth must name the CSV's columns)."""
    stream = io.BytesIO(f"x,y,z\n1,2,3{seed}\n4,5,6\n".encode())
    stream.name = "xyz.csv"
    return stream


def job_with_graph(user, graph, truth=TRUTH):
    dataset, _ = services.create_dataset(owner=user, upload=xyz_csv(str(id(graph))), truth=truth)
    job = make_experiment(user, dataset=dataset).jobs.get()
    finish_job(job, {"edges": len(graph["edges"])}, {"graph.json": json.dumps(graph).encode()})
    return job


def test_a_jobs_graph_comes_back_as_json_with_weights_types_endpoints_and_sepsets(api, user):
    job = job_with_graph(user, FOUND)
    response = api.get(f"/api/jobs/{job.pk}/graph/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == FOUND


def test_a_jobs_graph_comes_back_as_graphml_that_reads_back_to_the_same_graph(api, user):
    job = job_with_graph(user, FOUND)
    response = api.get(f"/api/jobs/{job.pk}/graph/?format=graphml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/graphml+xml")
    assert f"job-{job.pk}.graphml" in response["Content-Disposition"]
    back = graphs.from_graphml(response.content)
    assert back["nodes"] == FOUND["nodes"]
    assert back["sepsets"] == FOUND["sepsets"]
    assert [(e["source"], e["target"], e["type"], e.get("weight")) for e in back["edges"]] == [
        (e["source"], e["target"], e["type"], e.get("weight")) for e in FOUND["edges"]
    ]
    assert back["edges"][2]["endpoints"] == ["arrow", "arrow"]


def test_a_job_without_a_graph_is_a_404_and_a_broken_graph_a_400(api, user):
    job = make_experiment(user).jobs.get()
    finish_job(job, {}, {"metrics.json": b"{}"})
    assert api.get(f"/api/jobs/{job.pk}/graph/").status_code == 404
    broken = make_experiment(user).jobs.get()
    finish_job(broken, {}, {"graph.json": b'{"nodes": ["a"], "edges": [{"source": "a"}]}'})
    response = api.get(f"/api/jobs/{broken.pk}/graph/")
    assert response.status_code == 400
    assert list(response.json()) == ["graph"]


def test_a_graphml_request_for_a_missing_graph_still_answers_in_json(api, user):
    job = make_experiment(user).jobs.get()
    finish_job(job, {})
    response = api.get(f"/api/jobs/{job.pk}/graph/?format=graphml")
    assert response.status_code == 404
    assert "detail" in json.loads(response.content)


def test_comparing_with_the_truth_gives_the_hand_computed_scores(api, user):
    job = job_with_graph(user, FOUND)
    response = api.get(f"/api/jobs/{job.pk}/compare/?with=truth")
    assert response.status_code == 200, response.content
    body = response.json()
    # xy reversed, xz extra, yz bidirected for directed: all three pairs differ.
    # Skeleton: xy and yz hit, xz is extra. Arrowheads: truth at y (xy) and z (yz); found at
    # x (xy), y and z (yz): only z at yz hits, of 3 claimed and 2 true.
    assert body["job"] == job.pk and body["with"] == "truth"
    assert body["shd"] == 3
    assert body["edges"]["precision"] == pytest.approx(2 / 3)
    assert body["edges"]["recall"] == pytest.approx(1.0)
    assert body["orientations"]["true_positives"] == 1
    assert body["orientations"]["precision"] == pytest.approx(1 / 3)
    assert body["orientations"]["recall"] == pytest.approx(1 / 2)


def test_two_jobs_graphs_compare_with_each_other(api, user):
    first, second = job_with_graph(user, FOUND), job_with_graph(user, TRUTH)
    body = api.get(f"/api/jobs/{first.pk}/compare/?with={second.pk}").json()
    assert body["with"] == second.pk
    assert body["shd"] == 3
    same = api.get(f"/api/jobs/{first.pk}/compare/?with={first.pk}").json()
    assert same["shd"] == 0


@pytest.mark.parametrize("other", ["", "latest", "999999"])
def test_a_bad_comparison_target_is_a_400_naming_with(api, user, other):
    job = job_with_graph(user, FOUND)
    response = api.get(f"/api/jobs/{job.pk}/compare/", {"with": other} if other else {})
    assert response.status_code == 400
    assert list(response.json()) == ["with"]


def test_comparing_with_the_truth_of_a_dataset_without_one_is_a_400(api, user):
    job = job_with_graph(user, FOUND, truth=None)
    response = api.get(f"/api/jobs/{job.pk}/compare/?with=truth")
    assert response.status_code == 400
    assert list(response.json()) == ["with"]


def test_another_users_job_is_neither_readable_nor_a_comparison_target(
    api, other_api, user, other_user
):
    mine = job_with_graph(user, FOUND)
    theirs = job_with_graph(other_user, TRUTH)
    assert other_api.get(f"/api/jobs/{mine.pk}/graph/").status_code == 404
    assert other_api.get(f"/api/jobs/{mine.pk}/compare/?with=truth").status_code == 404
    response = api.get(f"/api/jobs/{mine.pk}/compare/?with={theirs.pk}")
    assert response.status_code == 400
    assert list(response.json()) == ["with"]


def test_an_unknown_format_is_a_400_naming_the_formats_there_are(api, user):
    job = job_with_graph(user, FOUND)

    response = api.get(f"/api/jobs/{job.pk}/graph/?format=gml")

    assert response.status_code == 400
    [message] = response.json()["format"]
    assert "json" in message and "graphml" in message


def test_options_on_the_graphml_graph_answers_without_rendering_a_graph(api, user):
    job = job_with_graph(user, FOUND)

    response = api.options(f"/api/jobs/{job.pk}/graph/?format=graphml")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_graphs_over_different_variables_do_not_compare(api, user):
    other_variables = {
        "nodes": ["a", "b", "c"],
        "edges": [{"source": "a", "target": "b", "type": "directed"}],
    }
    job = job_with_graph(user, FOUND)
    other = job_with_graph(user, other_variables)

    response = api.get(f"/api/jobs/{job.pk}/compare/?with={other.pk}")

    assert response.status_code == 400
    assert "different variables" in response.json()["with"][0]


def test_a_graph_stored_nested_too_deep_is_a_400_on_every_reader(api, user):
    from django.core.files.base import ContentFile

    from jobs.models import OutputFile

    job = job_with_graph(user, FOUND)
    deep = b'{"nodes": [], "sepsets": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    # As stored before uploads were checked.
    output = OutputFile.objects.get(job=job, name="graph.json")
    output.file.save("deep-graph.json", ContentFile(deep), save=True)

    for url in (
        f"/api/jobs/{job.pk}/graph/",
        f"/api/jobs/{job.pk}/graph/?format=graphml",
        f"/api/jobs/{job.pk}/compare/?with=truth",
    ):
        response = api.get(url)
        assert response.status_code == 400, url
        assert "nested" in str(response.json())
