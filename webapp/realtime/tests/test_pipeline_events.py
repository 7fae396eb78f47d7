"""/ws/events/ tells a pipeline's owner, and only them, each time it changes."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from jobs.services.pipelines import cancel_pipeline, submit_pipeline
from jobs.tests.pipeline_helpers import algorithms, study
from webapp.realtime.hub import user_group
from webapp.realtime.tests.helpers import collect, communicator, drain, run

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_owner_hears_a_pipeline_start_and_end_and_nobody_else_does(user, other_user, token_for):
    algorithms()
    alice, bob = token_for(user), token_for(other_user)

    async def scenario():
        mine = communicator("/ws/events/", token=alice)
        theirs = communicator("/ws/events/", token=bob)
        for client in (mine, theirs):
            assert (await client.connect())[0]
        pipeline = await database_sync_to_async(submit_pipeline)(user, study())
        await database_sync_to_async(cancel_pipeline)(pipeline)

        def ended(messages):
            return any(
                m["type"] == "pipeline.updated" and m["data"]["status"] == "cancelled"
                for m in messages
            )

        heard = await collect(mine, ended)
        overheard = await drain([user_group(other_user.pk)], theirs)
        for client in (mine, theirs):
            await client.disconnect()
        return pipeline.pk, heard, overheard

    pipeline_id, heard, overheard = run(scenario)
    updates = [m["data"] for m in heard if m["type"] == "pipeline.updated"]
    # A newer state replaces an older one not yet sent, so "running" may have been skipped.
    assert {update["id"] for update in updates} == {pipeline_id}
    assert updates[-1] == {"id": pipeline_id, "status": "cancelled"}
    assert not overheard
