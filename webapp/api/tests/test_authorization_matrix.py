"""Every role against every endpoint of the users' API, one expected status per cell.

Roles: anonymous, the owner, a user the experiment is shared with (read-only), another user,
and staff. The data is made once a module; each cell's writes are rolled back after it, so a
write in one cell never shapes another.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import get_resolver, resolve
from rest_framework.test import APIClient

from jobs import services
from jobs.models import Job, JobStatus
from jobs.tests.factories import UserFactory, make_dataset, make_experiment
from webapp.accounts.tokens import issue_token

ROLES = ("anonymous", "owner", "shared", "other", "staff")
GRAPH = {"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", "type": "directed"}]}


@dataclass
class World:
    experiment: object
    done: Job
    failed: Job
    waiting: Job
    dataset: object
    spare_dataset: object
    token_id: int


def _world() -> World:
    alice = UserFactory(username="alice")
    carol = UserFactory(username="carol")
    dataset = make_dataset(alice)
    type(dataset).objects.filter(pk=dataset.pk).update(truth=GRAPH)
    spare = make_dataset(alice, seed="spare")
    experiment = make_experiment(alice, dataset=dataset, parameters={"n": [1, 2, 3]})
    services.share_experiment(experiment, [carol.username])
    done, failed, waiting = experiment.jobs.order_by("index")
    claimed = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=2)
    services.mark_dispatched(claimed)
    done.refresh_from_db()
    body = json.dumps(GRAPH).encode()
    services.store_output_file(done, "graph.json", io.BytesIO(body), len(body))
    services.finish_attempt(done.pk, done.attempt, succeeded=True, metrics={"score": 1.0})
    failed.refresh_from_db()
    services.finish_attempt(failed.pk, failed.attempt, succeeded=False, error="boom")
    for job in (done, failed, waiting):
        job.refresh_from_db()
    assert (done.status, failed.status, waiting.status) == ("succeeded", "failed", "waiting")
    token, _ = issue_token(alice, "alices")
    return World(experiment, done, failed, waiting, dataset, spare, token.pk)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The world, made once, in a transaction that each test's own nests in and rolls back to."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _world()
        transaction.set_rollback(True)


def _client(role: str) -> APIClient:
    client = APIClient()
    if role == "anonymous":
        return client
    username = {"owner": "alice", "shared": "carol", "other": "bob", "staff": "root"}[role]
    person = UserFactory(username=username, is_staff=role == "staff")
    client.force_authenticate(person)
    return client


# (name, method, url template, body, {role: status}); roles not named answer like "owner".
READ = {"anonymous": 401, "owner": 200, "shared": 200, "other": 404, "staff": 200}
WRITE = {"anonymous": 401, "shared": 403, "other": 404}
OWN_ONLY = {"anonymous": 401, "owner": 200, "shared": 404, "other": 404, "staff": 200}
EVERYONE = {"anonymous": 401, "owner": 200, "shared": 200, "other": 200, "staff": 200}
CELLS = [
    ("experiment-list", "get", "/api/experiments/", None, EVERYONE),
    (
        "experiment-create",
        "post",
        "/api/experiments/",
        "new",
        {**EVERYONE, "owner": 201, "shared": 201, "other": 201, "staff": 201},
    ),
    ("experiment-detail", "get", "/api/experiments/{e}/", None, READ),
    ("experiment-summary", "get", "/api/experiments/{e}/summary/?metric=score", None, READ),
    ("experiment-columns", "get", "/api/experiments/{e}/columns/", None, READ),
    ("experiment-study", "get", "/api/experiments/{e}/study/", None, READ),
    # The world's experiment is a grid: its owner may ask, and is told a grid has no more points.
    (
        "experiment-more",
        "post",
        "/api/experiments/{e}/more/",
        {"jobs": 1},
        {**WRITE, "owner": 409, "staff": 409},
    ),
    ("experiment-export-csv", "get", "/api/experiments/{e}/export.csv", None, READ),
    ("experiment-outputs-zip", "get", "/api/experiments/{e}/outputs.zip", None, READ),
    (
        "experiment-cancel",
        "post",
        "/api/experiments/{e}/cancel/",
        None,
        {**WRITE, "owner": 200, "staff": 200},
    ),
    (
        "experiment-retry",
        "post",
        "/api/experiments/{e}/retry/",
        None,
        {**WRITE, "owner": 200, "staff": 200},
    ),
    (
        "experiment-share",
        "post",
        "/api/experiments/{e}/share/",
        {"usernames": ["dave"]},
        {**WRITE, "owner": 200, "staff": 200},
    ),
    (
        "experiment-unshare",
        "delete",
        "/api/experiments/{e}/share/",
        {"usernames": ["carol"]},
        {**WRITE, "owner": 200, "staff": 200},
    ),
    (
        "experiment-extend",
        "post",
        "/api/experiments/{e}/extend/",
        {"parameters": {"n": [4]}},
        {**WRITE, "owner": 200, "staff": 200},
    ),
    (
        "experiment-update",
        "patch",
        "/api/experiments/{e}/",
        {"name": "renamed", "tags": ["t"], "archived": True},
        {**WRITE, "owner": 200, "staff": 200},
    ),
    # Its waiting job is unfinished: those who may delete it are told to cancel first.
    (
        "experiment-delete",
        "delete",
        "/api/experiments/{e}/",
        None,
        {**WRITE, "owner": 409, "staff": 409},
    ),
    ("job-list", "get", "/api/jobs/?experiment={e}", None, EVERYONE),
    ("job-detail", "get", "/api/jobs/{done}/", None, READ),
    ("job-log", "get", "/api/jobs/{failed}/log/", None, READ),
    ("job-metrics", "get", "/api/jobs/{done}/metrics/", None, READ),
    ("job-files", "get", "/api/jobs/{done}/files/", None, READ),
    ("job-file", "get", "/api/jobs/{done}/files/graph.json", None, READ),
    ("job-graph", "get", "/api/jobs/{done}/graph/", None, READ),
    ("job-compare", "get", "/api/jobs/{done}/compare/?with={done}", None, READ),
    (
        "job-cancel",
        "post",
        "/api/jobs/{waiting}/cancel/",
        None,
        {**WRITE, "owner": 200, "staff": 200},
    ),
    ("job-retry", "post", "/api/jobs/{failed}/retry/", None, {**WRITE, "owner": 200, "staff": 200}),
    ("dataset-list", "get", "/api/datasets/", None, EVERYONE),
    ("dataset-detail", "get", "/api/datasets/{d}/", None, OWN_ONLY),
    ("dataset-download", "get", "/api/datasets/{d}/download/", None, OWN_ONLY),
    ("dataset-preview", "get", "/api/datasets/{d}/preview/", None, OWN_ONLY),
    ("dataset-truth", "get", "/api/datasets/{d}/truth/", None, OWN_ONLY),
    (
        "dataset-delete",
        "delete",
        "/api/datasets/{spare}/",
        None,
        {**OWN_ONLY, "owner": 204, "staff": 204},
    ),
    ("token-list", "get", "/api/tokens/", None, EVERYONE),
    (
        "token-create",
        "post",
        "/api/tokens/",
        {"name": "t"},
        {**EVERYONE, "owner": 201, "shared": 201, "other": 201, "staff": 201},
    ),
    # Tokens are personal: not even staff list or revoke another's.
    (
        "token-delete",
        "delete",
        "/api/tokens/{token}/",
        None,
        {"anonymous": 401, "owner": 204, "shared": 404, "other": 404, "staff": 404},
    ),
    ("me", "get", "/api/me/", None, EVERYONE),
    ("me-update", "patch", "/api/me/", {"email_notifications": False}, EVERYONE),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "url", "body", "expected"), CELLS, ids=[cell[0] for cell in CELLS]
)
def test_each_role_gets_the_expected_answer_from_each_endpoint(
    name, method, url, body, expected, role, world
):
    UserFactory(username="dave")
    url = url.format(
        e=world.experiment.pk,
        done=world.done.pk,
        failed=world.failed.pk,
        waiting=world.waiting.pk,
        d=world.dataset.pk,
        spare=world.spare_dataset.pk,
        token=world.token_id,
    )
    if body == "new":
        body = {"algorithm": world.experiment.algorithm.name, "parameters": {"n": 1}}
    response = getattr(_client(role), method)(url, body, format="json")
    assert response.status_code == expected[role], (name, role, getattr(response, "data", ""))


def test_the_matrix_covers_every_experiment_and_job_endpoint():
    """A new experiment or job endpoint must get its row above (sharing applies to both)."""
    ids = dict.fromkeys(("e", "done", "failed", "waiting", "d", "spare", "token"), 1)
    covered = {resolve(url.split("?")[0].format(**ids)).url_name for _, _, url, *_ in CELLS}

    def names(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from names(pattern.url_patterns)
            elif pattern.name:
                yield pattern.name

    routed = {
        n
        for n in names(get_resolver().url_patterns)
        if n.startswith(("experiment-", "job-", "token-"))
    }
    missing = routed - covered
    assert not missing, f"add these endpoints to the authorization matrix: {sorted(missing)}"


@pytest.mark.django_db
def test_a_shared_experiment_and_its_jobs_are_listed_for_the_user_it_is_shared_with(world):
    carol, bob = _client("shared"), _client("other")
    listed = carol.get("/api/experiments/").json()["results"]
    assert [e["id"] for e in listed] == [world.experiment.pk]
    assert listed[0]["owner"] == "alice" and listed[0]["shared_with"] == ["carol"]
    assert carol.get(f"/api/jobs/?experiment={world.experiment.pk}").json()["count"] == 3
    assert carol.get("/api/datasets/").json()["count"] == 0
    assert bob.get("/api/experiments/").json()["count"] == 0
    assert bob.get("/api/jobs/").json()["count"] == 0


@pytest.mark.django_db
def test_sharing_with_many_users_neither_repeats_the_experiment_nor_skews_its_counts(world):
    for name in ("u1", "u2", "u3"):
        UserFactory(username=name)
    services.share_experiment(world.experiment, ["u1", "u2", "u3"])
    listed = _client("owner").get("/api/experiments/").json()
    assert listed["count"] == 1
    counts = listed["results"][0]["counts"]
    assert (counts["succeeded"], counts["failed"], counts["waiting"]) == (1, 1, 1)
    assert listed["results"][0]["shared_with"] == ["carol", "u1", "u2", "u3"]


@pytest.mark.django_db
def test_unsharing_takes_the_experiment_away_again(world):
    owner = _client("owner")
    answer = owner.delete(
        f"/api/experiments/{world.experiment.pk}/share/", {"usernames": ["carol"]}, format="json"
    )
    assert answer.json() == {"shared_with": []}
    assert _client("shared").get(f"/api/experiments/{world.experiment.pk}/").status_code == 404


@pytest.mark.django_db
def test_sharing_with_an_unknown_user_is_refused_and_changes_nothing(world):
    answer = _client("owner").post(
        f"/api/experiments/{world.experiment.pk}/share/",
        {"usernames": ["carol", "nobody"]},
        format="json",
    )
    assert answer.status_code == 400 and "nobody" in json.dumps(answer.json())
    assert list(world.experiment.shared_with.values_list("username", flat=True)) == ["carol"]


@pytest.mark.django_db
def test_a_shared_user_changes_nothing_by_trying(world):
    carol = _client("shared")
    carol.post(f"/api/jobs/{world.waiting.pk}/cancel/")
    carol.post(f"/api/experiments/{world.experiment.pk}/cancel/")
    carol.post(f"/api/jobs/{world.failed.pk}/retry/")
    assert Job.objects.filter(status=JobStatus.WAITING).count() == 1
    assert Job.objects.get(pk=world.failed.pk).status == JobStatus.FAILED
