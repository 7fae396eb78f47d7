"""An open websocket stops streaming, and is closed, once its access is gone.

Each scenario waits for a condition under a deadline (the close frame), never a fixed time.
"""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session

from jobs import services
from jobs.tests.factories import UserFactory, make_experiment
from webapp.accounts.models import ApiToken
from webapp.realtime.access import REVOKED
from webapp.realtime.tests.helpers import communicator, run

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 10.0  # seconds; the re-check runs every PETRI_WS_RECHECK_SECONDS (0.1 here)


@pytest.fixture(autouse=True)
def quick_recheck(settings):
    settings.PETRI_WS_RECHECK_SECONDS = 0.1


async def closed_after(client, revoke) -> tuple[dict, float]:
    """Connect, revoke (a sync function), then wait for the server's close frame."""
    assert (await client.connect())[0]
    await database_sync_to_async(revoke)()
    started = time.monotonic()
    while True:
        left = DEADLINE - (time.monotonic() - started)
        if left <= 0:
            raise AssertionError(f"the socket still streams {DEADLINE} s after the revocation")
        output = await client.receive_output(timeout=left)
        if output["type"] == "websocket.close":
            return output, time.monotonic() - started


async def still_open(client, change) -> bool:
    """Connect, make a change that keeps access, and see that a later recheck leaves it open."""
    from webapp.realtime.hub import hub

    assert (await client.connect())[0]
    await database_sync_to_async(change)()
    await hub().recheck()
    # Updates may still arrive (the share announces itself); only a close means it was cut off.
    alive = True
    while not await client.receive_nothing(timeout=0.3):
        if (await client.receive_output(timeout=1)).get("type") == "websocket.close":
            alive = False
            break
    await client.disconnect()
    return alive


def test_revoking_a_share_closes_the_experiment_stream(user, other_user, token_for):
    experiment = make_experiment(user)
    services.share_experiment(experiment, [other_user.username])
    client = communicator(f"/ws/experiments/{experiment.pk}/", token=token_for(other_user))
    output, _ = run(closed_after, client, lambda: services.unshare_experiment(experiment, ["bob"]))
    assert output["code"] == REVOKED


def test_deleting_the_token_closes_every_stream_it_opened(user, token_for):
    experiment = make_experiment(user)
    key = token_for(user)
    client = communicator(f"/ws/experiments/{experiment.pk}/", token=key)
    output, _ = run(closed_after, client, lambda: ApiToken.objects.filter(user=user).delete())
    assert output["code"] == REVOKED
    client = communicator("/ws/events/", token=token_for(user))
    output, _ = run(closed_after, client, lambda: ApiToken.objects.filter(user=user).delete())
    assert output["code"] == REVOKED


def test_switching_the_account_off_closes_its_streams(user, token_for, session_for):
    session = session_for(user)
    client = communicator("/ws/events/", session=session)

    def switch_off():
        type(user).objects.filter(pk=user.pk).update(is_active=False)

    output, _ = run(closed_after, client, switch_off)
    assert output["code"] == REVOKED


def test_signing_out_closes_the_browsers_stream(user, session_for):
    session = session_for(user)
    client = communicator("/ws/events/", session=session)
    output, _ = run(closed_after, client, lambda: Session.objects.filter(pk=session).delete())
    assert output["code"] == REVOKED


def test_an_expired_token_closes_its_stream(user, token_for):
    from datetime import timedelta

    from django.utils import timezone

    client = communicator("/ws/events/", token=token_for(user))

    def expire():
        ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))

    output, _ = run(closed_after, client, expire)
    assert output["code"] == REVOKED


def test_streams_whose_access_holds_stay_open(user, other_user, token_for):
    experiment = make_experiment(user)
    services.share_experiment(experiment, [other_user.username])
    carol = UserFactory(username="carol")
    client = communicator(f"/ws/experiments/{experiment.pk}/", token=token_for(other_user))
    # Another user's share going, and another token going, leave bob's stream alone.
    assert run(
        still_open,
        client,
        lambda: (
            services.share_experiment(experiment, [carol.username]),
            services.unshare_experiment(experiment, [carol.username]),
            ApiToken.objects.filter(user=carol).delete(),
        ),
    )


@pytest.mark.parametrize("revocation", ["unshare", "token", "account"])
def test_a_revocation_in_this_process_closes_the_stream_without_waiting_for_the_period(
    revocation, user, other_user, token_for, settings
):
    settings.PETRI_WS_RECHECK_SECONDS = 3600  # only the revocation's own trigger can close it
    experiment = make_experiment(user)
    services.share_experiment(experiment, [other_user.username])
    client = communicator(f"/ws/experiments/{experiment.pk}/", token=token_for(other_user))

    def revoke():
        if revocation == "unshare":
            services.unshare_experiment(experiment, [other_user.username])
        elif revocation == "token":
            ApiToken.objects.filter(user=other_user).delete()
        else:
            other_user.is_active = False
            other_user.save()

    output, _ = run(closed_after, client, revoke)
    assert output["code"] == REVOKED
