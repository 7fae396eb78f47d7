from __future__ import annotations

import io
import json

from jobs.models import Dataset


def upload(api, content: bytes, name="data.csv", **extra):
    stream = io.BytesIO(content)
    stream.name = name
    return api.post("/api/datasets/", {"file": stream, **extra}, format="multipart")


def test_an_upload_records_hash_columns_and_rows(api):
    response = upload(api, b"a,b,c\n1,2,3\n4,5,6\n", name="abc.csv", label="ignored")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["columns"] == ["a", "b", "c"]
    assert body["rows"] == 2
    assert body["name"] == "abc.csv"
    assert len(body["sha256"]) == 64
    assert body["has_truth"] is False


def test_the_same_bytes_uploaded_twice_give_back_the_same_dataset(api, other_api):
    first = upload(api, b"x\n1\n", name="one.csv").json()
    again = upload(api, b"x\n1\n", name="two.csv")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    theirs = upload(other_api, b"x\n1\n")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first["id"]
    assert Dataset.objects.count() == 2


def test_an_optional_name_and_ground_truth_are_kept(api):
    truth = io.BytesIO(
        json.dumps(
            {"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", "type": "directed"}]}
        ).encode()
    )
    truth.name = "graph.json"
    response = upload(api, b"x,y\n1,2\n", name="d.csv", truth=truth)
    assert response.status_code == 201
    response = api.get(f"/api/datasets/{response.json()['id']}/")
    assert response.json()["has_truth"] is True


def test_a_file_that_is_not_a_csv_is_refused_naming_the_field(api):
    for content in (b"", b"a,b\n1,2,3\n", b"\xff\xfe\x00bin"):
        response = upload(api, content)
        assert response.status_code == 400, content
        assert "file" in response.json()
    assert Dataset.objects.count() == 0


def test_a_graph_with_unknown_nodes_is_refused(api):
    truth = io.BytesIO(b'{"nodes": ["x"], "edges": [{"source": "x", "target": "q"}]}')
    truth.name = "graph.json"
    response = upload(api, b"x\n1\n", truth=truth)
    assert response.status_code == 400
    assert "truth" in response.json()


def test_a_truth_the_comparison_would_refuse_is_refused_at_upload(api):
    # The upload checks the truth as the comparison with it does (petri_kit's graph.json rules).
    for edges in (
        [{"source": "x", "target": "y"}],
        [
            {"source": "x", "target": "y", "type": "directed"},
            {"source": "y", "target": "x", "type": "directed"},
        ],
    ):
        truth = io.BytesIO(json.dumps({"nodes": ["x", "y"], "edges": edges}).encode())
        truth.name = "graph.json"
        response = upload(api, b"x,y\n1,2\n", truth=truth)
        assert response.status_code == 400, edges
        assert "truth" in response.json()
    assert Dataset.objects.count() == 0


def test_a_dataset_downloads_as_the_uploaded_bytes(api):
    created = upload(api, b"x,y\n1,2\n").json()
    response = api.get(created["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"x,y\n1,2\n"


def test_a_dataset_used_by_an_experiment_cannot_be_deleted(api, catalog):
    created = upload(api, b"x,y\n1,2\n").json()
    api.post("/api/experiments/", {"algorithm": "pc", "dataset": created["id"]}, format="json")
    assert api.delete(f"/api/datasets/{created['id']}/").status_code == 409
