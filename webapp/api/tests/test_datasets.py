from __future__ import annotations

import io
import json

import pytest

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


XY_TRUTH = {"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", "type": "directed"}]}


def truth_file(content: bytes | dict) -> io.BytesIO:
    stream = io.BytesIO(content if isinstance(content, bytes) else json.dumps(content).encode())
    stream.name = "graph.json"
    return stream


@pytest.fixture
def media(settings, tmp_path):
    """Uploads land in a folder of the test's own, so leftover files can be counted."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    "truth",
    [
        b'{"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", '
        b'"type": "directed", "weight": NaN}]}',
        b'{"nodes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"nodes": ["x", "y"], "edges": 5}',
        b'{"nodes": ["x", "y\\u0000"], "edges": []}',
        b"not json",
    ],
    ids=["nan-weight", "deep", "edges-not-a-list", "nul-node", "not-json"],
)
def test_a_bad_truth_file_is_a_400_naming_truth_and_leaves_no_file(api, media, truth):
    response = upload(api, b"x,y\n1,2\n", truth=truth_file(truth))

    assert response.status_code == 400, response.content
    assert "truth" in response.json()
    assert not Dataset.objects.exists()
    assert stored_files(media) == []


def test_a_truth_whose_nodes_are_not_the_csv_columns_is_refused_naming_both(api, media):
    truth = {"nodes": ["x", "z"], "edges": [{"source": "x", "target": "z", "type": "directed"}]}

    response = upload(api, b"x,y\n1,2\n", truth=truth_file(truth))

    assert response.status_code == 400
    [message] = response.json()["truth"]
    assert "'z'" in message and "'y'" in message
    assert stored_files(media) == []


def test_the_same_csv_uploaded_again_with_a_truth_gains_that_truth(api, media):
    first = upload(api, b"x,y\n1,2\n").json()
    assert first["has_truth"] is False

    again = upload(api, b"x,y\n1,2\n", truth=truth_file(XY_TRUTH))

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["has_truth"] is True
    assert api.get(f"/api/datasets/{first['id']}/truth/").json() == XY_TRUTH


def test_the_same_csv_uploaded_with_another_truth_is_refused_not_dropped(api, media):
    first = upload(api, b"x,y\n1,2\n", truth=truth_file(XY_TRUTH)).json()
    reversed_truth = {
        "nodes": ["x", "y"],
        "edges": [{"source": "y", "target": "x", "type": "directed"}],
    }

    again = upload(api, b"x,y\n1,2\n", truth=truth_file(reversed_truth))

    assert again.status_code == 400
    assert "different ground truth" in again.json()["truth"][0]
    assert api.get(f"/api/datasets/{first['id']}/truth/").json() == XY_TRUTH


def test_a_nul_in_the_csv_header_is_a_400_naming_file(api, media):
    response = upload(api, b"x,y\x00z\n1,2\n")

    assert response.status_code == 400
    assert "file" in response.json()
    assert stored_files(media) == []


def test_deleting_a_dataset_removes_its_file_once_committed(
    api, media, django_capture_on_commit_callbacks
):
    created = upload(api, b"x,y\n1,2\n").json()
    assert len(stored_files(media)) == 1

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.delete(f"/api/datasets/{created['id']}/")
        assert len(stored_files(media)) == 1  # not before the commit
    for callback in callbacks:
        callback()

    assert response.status_code == 204
    assert stored_files(media) == []


def test_a_dataset_whose_row_is_refused_by_the_database_leaves_no_file(api, media, monkeypatch):
    from django.db import DataError

    def refuse(*args, **kwargs):
        raise DataError("refused by the database")

    monkeypatch.setattr(Dataset, "save", refuse)

    with pytest.raises(DataError):
        upload(api, b"x,y\n1,2\n")

    assert stored_files(media) == []


def test_a_dataset_kept_by_an_experiment_keeps_its_file(api, media, catalog):
    created = upload(api, b"x,y\n1,2\n").json()
    api.post("/api/experiments/", {"algorithm": "pc", "dataset": created["id"]}, format="json")

    assert api.delete(f"/api/datasets/{created['id']}/").status_code == 409
    assert len(stored_files(media)) == 1
