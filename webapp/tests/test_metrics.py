from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from jobs import services
from jobs.tests.factories import make_experiment
from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler


def _scrape(client: Client, **headers) -> dict[str, dict]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(response.content.decode())
    return {
        family.name: {(*sorted(s.labels.items()), s.name): s.value for s in family.samples}
        for family in families
    }


def _value(metrics: dict, family: str, sample: str, **labels) -> float:
    return metrics[family][(*sorted(labels.items()), sample)]


@pytest.mark.django_db
def test_metrics_count_jobs_by_status_and_the_age_of_the_queue(user):
    experiment = make_experiment(user, parameters={"n": [1, 2, 3]})
    services.cancel_job(experiment.jobs.first())
    metrics = _scrape(Client())
    assert _value(metrics, "petri_jobs", "petri_jobs", status="waiting") == 2
    assert _value(metrics, "petri_jobs", "petri_jobs", status="cancelled") == 1
    assert _value(metrics, "petri_jobs", "petri_jobs", status="running") == 0
    age = _value(metrics, "petri_queue_age_seconds", "petri_queue_age_seconds")
    assert 0 <= age < 60


@pytest.mark.django_db
def test_claim_and_dispatch_latency_and_runner_events_are_measured(user):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    before = _scrape(Client())
    Scheduler(NoopBackend(), identity="metrics-test", reconcile_interval=0).tick()
    job = experiment.jobs.first()
    job.refresh_from_db()
    services.record_events(
        job.pk,
        job.attempt,
        [{"type": "started"}, {"type": "log", "lines": ["a"]}, {"type": "log", "lines": ["b"]}],
    )
    after = _scrape(Client())

    def grew(family: str, sample: str, **labels) -> float:
        key = (*sorted(labels.items()), sample)
        return after[family][key] - before.get(family, {}).get(key, 0.0)

    assert grew("petri_claim_seconds", "petri_claim_seconds_count") >= 1
    assert grew("petri_dispatch_seconds", "petri_dispatch_seconds_count") == 2
    assert grew("petri_runner_events", "petri_runner_events_total", kind="log") == 2
    assert grew("petri_runner_events", "petri_runner_events_total", kind="started") == 1
    assert "petri_websocket_clients" in after


@pytest.mark.django_db
def test_metrics_need_the_bearer_token_when_one_is_set(settings):
    settings.PETRI_METRICS_TOKEN = "s3cret-scrape"
    refused = Client().get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert "petri_jobs" in _scrape(Client(), HTTP_AUTHORIZATION="Bearer s3cret-scrape")


@pytest.mark.django_db(transaction=True)
def test_open_websockets_are_counted_while_they_stay_open(user):
    from asgiref.sync import async_to_sync

    from webapp.accounts.tokens import issue_token
    from webapp.metrics import WEBSOCKET_CLIENTS
    from webapp.realtime.tests.helpers import communicator

    _, key = issue_token(user, "ws")
    start = WEBSOCKET_CLIENTS._value.get()

    async def scenario() -> list[float]:
        seen = []
        clients = [communicator("/ws/events/", token=key) for _ in range(2)]
        for client in clients:
            connected, _ = await client.connect()
            assert connected
        seen.append(WEBSOCKET_CLIENTS._value.get())
        refused = communicator("/ws/events/", token="wrong")
        assert not (await refused.connect())[0]
        seen.append(WEBSOCKET_CLIENTS._value.get())
        for client in clients:
            await client.disconnect()
        seen.append(WEBSOCKET_CLIENTS._value.get())
        return seen

    assert async_to_sync(scenario)() == [start + 2, start + 2, start]
