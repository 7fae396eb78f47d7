"""Schema-driven fuzzing of the whole OpenAPI: no operation answers a 5xx, whatever it is sent.

Bounded and reproducible: a fixed number of derandomized examples per operation, against the
WSGI app in-process, as a normal user with an API token (and, under /api/runner/, a job's
runner token). Path ids point at real objects of the user so the fuzzed bodies and query
strings reach the code behind the lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

EXAMPLES_PER_OPERATION = 6
# Operations whose success ends the session the fuzzer is using.
SKIPPED = {("POST", "/api/auth/logout/")}


@dataclass
class Fixtures:
    user_token: str
    runner_token: str
    ids: dict[str, str]


@pytest.fixture
def api_schema(db):
    # Imported here, not at the top: every test process collects this module, and the two
    # cost each of them a second or two of CPU that only the one running this test needs.
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    # As Django's test client does: requests must not close the test's open transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_fixtures(user, catalog, settings) -> Fixtures:
    """A dataset, an experiment with a finished job, a claimed job, tokens for both APIs."""
    import io
    import json

    from jobs import services
    from jobs.services.nodes import publish_nodes
    from jobs.tests.factories import finish_job, make_experiment
    from webapp.accounts.tokens import issue_token

    csv = io.BytesIO(b"x,y,z\n1,2,3\n4,5,6\n")
    csv.name = "fuzz.csv"
    truth = {
        "nodes": ["x", "y", "z"],
        "edges": [{"source": "x", "target": "y", "type": "directed"}],
    }
    dataset, _ = services.create_dataset(owner=user, upload=csv, truth=truth)
    finished = make_experiment(user, catalog["pc"], dataset=dataset)
    job = finished.jobs.get()
    finish_job(job, {"shd": 1.0}, {"graph.json": json.dumps(truth).encode()})
    waiting = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    [claimed, _] = services.claim_waiting_jobs(scheduler="fuzz", backend="noop", limit=2)
    # What a running scheduler publishes; without it /api/nodes/ rightly answers 503.
    publish_nodes(
        settings.PETRI_BACKEND,
        "fuzz",
        [
            {
                "name": "node-a",
                "cpu_allocatable": 2.0,
                "cpu_requested": 0.0,
                "memory_allocatable": 2**33,
                "memory_requested": 0,
                "gpu_allocatable": 0,
                "gpu_requested": 0,
                "labels": {},
            }
        ],
    )
    _, key = issue_token(user, "fuzz")
    ids = {
        "/api/datasets/": str(dataset.pk),
        "/api/experiments/": str(finished.pk),
        "/api/jobs/": str(job.pk),
        "/api/algorithms/": "pc",
        "waiting": str(waiting.pk),
    }
    return Fixtures(user_token=key, runner_token=claimed.token, ids=ids)


def _authorize(case, fixtures: Fixtures) -> dict[str, str]:
    """The token for the case's API, and real ids in its path."""
    for prefix, value in fixtures.ids.items():
        if case.path.startswith(prefix) and case.path_parameters:
            for name in case.path_parameters:
                if name in ("id", "name"):
                    case.path_parameters[name] = value
    if case.path.startswith("/api/runner/"):
        return {"Authorization": f"Bearer {fixtures.runner_token}"}
    return {"Authorization": f"Token {fixtures.user_token}"}


def _fuzz(operation, fixtures: Fixtures) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = case.call(headers=_authorize(case, fixtures))
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} answered {response.status_code}: "
            f"{response.text[:300]}\n{case.as_curl_command()}"
        )

    run()


def test_no_operation_answers_a_server_error(api_schema, fuzz_fixtures: Fixtures) -> None:
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        try:
            _fuzz(operation, fuzz_fixtures)
        except AssertionError as exc:
            failures.append(str(exc))

    assert operations > 40  # the whole API was fuzzed, not an empty schema
    assert not failures, "\n\n".join(failures)
