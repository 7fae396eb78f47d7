"""The per-process hub: one channel-layer subscription, shared by all the process's connections."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from jobs import services
from jobs.tests.factories import make_experiment
from webapp.realtime.hub import HUBS, hub
from webapp.realtime.tests.helpers import collect, communicator

pytestmark = pytest.mark.django_db(transaction=True)


def cancel_all(experiment) -> None:
    services.cancel_experiment(experiment)


def test_the_process_connections_share_one_subscription_and_each_gets_its_groups_events(
    user, token_for
):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    token = token_for(user)
    group = f"experiment-{experiment.pk}"
    job_ids = set(experiment.jobs.values_list("id", flat=True))

    async def scenario():
        clients = [communicator(f"/ws/experiments/{experiment.pk}/", token=token) for _ in range(3)]
        clients.append(communicator("/ws/events/", token=token))
        for client in clients:
            assert (await client.connect())[0]
        local = hub()
        assert len(local.groups[group].members) == 3
        assert len(local.groups[f"user-{user.pk}"].members) == 1
        layer = get_channel_layer()
        if isinstance(layer, InMemoryChannelLayer):
            assert list(layer.groups[HUBS]) == [local.channel]
        await database_sync_to_async(cancel_all)(experiment)
        for client in clients:
            messages = await collect(
                client,
                lambda ms: any(
                    m["type"] == "experiment.updated" and m["data"]["status"] == "cancelled"
                    for m in ms
                ),
            )
            assert {m["data"]["id"] for m in messages if m["type"] == "job.updated"} == job_ids
        for client in clients:
            await client.disconnect()
        return local

    local = async_to_sync(scenario)()
    assert local.groups == {} and local.channel is None
    assert local.tasks == [], "the hub stops listening once its last connection is gone"


@pytest.mark.requires("redis")
def test_an_idle_connection_outlives_the_redis_blocking_read_timeout(user, token_for):
    """channels_redis blocks 5 s per read; redis-py 8's default 5 s socket timeout broke that."""
    experiment = make_experiment(user)
    token = token_for(user)

    async def scenario():
        client = communicator(f"/ws/experiments/{experiment.pk}/", token=token)
        assert (await client.connect())[0]
        assert await client.receive_nothing(timeout=7, interval=0.1)
        await database_sync_to_async(cancel_all)(experiment)
        messages = await collect(client, lambda ms: any(m["type"] == "job.updated" for m in ms))
        await client.disconnect()
        return messages

    assert async_to_sync(scenario)()
