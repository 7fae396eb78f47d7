"""The websocket consumers, driven through the whole ASGI stack with Channels' communicator."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from jobs import services
from jobs.models import Job
from jobs.tests.factories import UserFactory, make_experiment
from webapp.realtime.hub import BURST, FLUSH_INTERVAL, MAX_ITEMS, experiment_group, user_group
from webapp.realtime.tests.helpers import collect, communicator, drain, run

pytestmark = pytest.mark.django_db(transaction=True)


def start_jobs(limit: int = 100) -> list[Job]:
    """Claim waiting jobs and hand them to a pretend backend: they become ``pending``."""
    claimed = services.claim_waiting_jobs(scheduler="tests", backend="noop", limit=limit)
    services.mark_dispatched(claimed)
    return list(Job.objects.filter(pk__in=[item.job_id for item in claimed]).order_by("id"))


def of_type(messages, kind):
    return [m["data"] for m in messages if m["type"] == kind]


async def refused(path: str, **credentials) -> bool:
    client = communicator(path, **credentials)
    connected, _ = await client.connect()
    await client.disconnect()
    return not connected


# Who may connect ------------------------------------------------------------------------------


def test_anonymous_connections_are_refused_before_the_handshake_completes(user):
    experiment = make_experiment(user)
    assert run(refused, "/ws/events/")
    assert run(refused, f"/ws/experiments/{experiment.pk}/")


def test_an_unknown_or_revoked_token_is_refused_even_with_a_valid_session(
    user, token_for, session_for
):
    experiment = make_experiment(user)
    session = session_for(user)
    assert run(refused, "/ws/events/", token="petri_not-a-real-key")
    assert run(refused, f"/ws/experiments/{experiment.pk}/", token="petri_x", session=session)


def test_a_foreign_or_unknown_experiment_is_refused(user, other_user, token_for):
    theirs = make_experiment(other_user)
    token = token_for(user)
    assert run(refused, f"/ws/experiments/{theirs.pk}/", token=token)
    assert run(refused, f"/ws/experiments/{theirs.pk + 1000}/", token=token)


def test_a_browser_session_from_an_allowed_origin_connects(user, session_for):
    experiment = make_experiment(user)
    session = session_for(user)
    assert not run(refused, "/ws/events/", session=session)
    assert not run(refused, f"/ws/experiments/{experiment.pk}/", session=session)


def test_a_session_from_a_foreign_origin_or_without_origin_is_refused(user, session_for):
    session = session_for(user)
    assert run(refused, "/ws/events/", session=session, origin="http://evil.example")
    assert run(refused, "/ws/events/", session=session, origin=None)


def test_a_token_script_may_connect_without_an_origin_header(user, token_for):
    assert not run(refused, "/ws/events/", token=token_for(user), origin=None)


def test_staff_may_watch_any_experiment(other_user, token_for):
    staff = UserFactory(username="carol", is_staff=True)
    theirs = make_experiment(other_user)
    assert not run(refused, f"/ws/experiments/{theirs.pk}/", token=token_for(staff))


# What a connection receives --------------------------------------------------------------------


def test_each_user_receives_events_about_their_own_experiments_only(user, other_user, token_for):
    mine = make_experiment(user, parameters={"n": [1, 2]})
    theirs = make_experiment(other_user, parameters={"n": [3]})
    alice, bob = token_for(user), token_for(other_user)

    async def scenario():
        alice_events = communicator("/ws/events/", token=alice)
        bob_events = communicator("/ws/events/", token=bob)
        bob_watch = communicator(f"/ws/experiments/{theirs.pk}/", token=bob)
        for client in (alice_events, bob_events, bob_watch):
            assert (await client.connect())[0]
        jobs = await database_sync_to_async(start_jobs)()
        assert {job.experiment_id for job in jobs} == {mine.pk, theirs.pk}

        def both_pending(messages):
            return {(d["id"], d["status"]) for d in of_type(messages, "job.updated")} >= {
                (job.pk, "pending") for job in jobs if job.experiment_id == mine.pk
            }

        seen_by_alice = await collect(alice_events, both_pending)
        # Everything published so far has reached bob's two streams.
        seen_by_bob = await drain(
            [user_group(other_user.pk), experiment_group(theirs.pk)], bob_events, bob_watch
        )
        for client in (alice_events, bob_events, bob_watch):
            await client.disconnect()
        return seen_by_alice, seen_by_bob

    seen_by_alice, seen_by_bob = run(scenario)
    assert {m["data"].get("experiment", m["data"]["id"]) for m in seen_by_alice} == {mine.pk}
    assert seen_by_bob, "bob hears about his own experiment"
    assert {m["data"].get("experiment", m["data"]["id"]) for m in seen_by_bob} == {theirs.pk}


def test_a_finished_job_is_pushed_with_its_state_and_metrics(user, token_for):
    experiment = make_experiment(user)
    token = token_for(user)

    async def scenario():
        client = communicator(f"/ws/experiments/{experiment.pk}/", token=token)
        assert (await client.connect())[0]
        (job,) = await database_sync_to_async(start_jobs)()
        await database_sync_to_async(services.record_events)(
            job.pk, job.attempt, [{"type": "started"}, {"type": "progress", "value": 0.5}]
        )
        # Seen before it finishes, so coalescing cannot fold the running state into the last.
        messages = await collect(
            client,
            lambda ms: any(
                (d["status"], d["progress"]) == ("running", 0.5) for d in of_type(ms, "job.updated")
            ),
        )
        await database_sync_to_async(services.finish_attempt)(
            job.pk, job.attempt, succeeded=True, metrics={"score": 0.75}
        )
        messages += await collect(
            client,
            lambda ms: any(d["status"] == "succeeded" for d in of_type(ms, "experiment.updated")),
        )
        await client.disconnect()
        return job, messages

    job, messages = run(scenario)
    final = of_type(messages, "job.updated")[-1]
    assert set(final) == {
        "id",
        "experiment",
        "status",
        "attempt",
        "progress",
        "failure_reason",
        "started_at",
        "finished_at",
        "metrics",
    }
    assert final["id"] == job.pk and final["experiment"] == experiment.pk
    assert (final["status"], final["attempt"], final["progress"]) == ("succeeded", 1, 1.0)
    assert final["metrics"] == {"score": 0.75}
    assert final["failure_reason"] == ""
    assert final["started_at"] and final["finished_at"]
    unfinished = [d for d in of_type(messages, "job.updated") if d["status"] != "succeeded"]
    assert unfinished, "the running state was pushed before the result"
    assert all(d["metrics"] is None for d in unfinished), unfinished


def test_experiment_updates_carry_every_status_count_the_derived_status_and_progress(
    user, token_for
):
    experiment = make_experiment(user, parameters={"n": [1, 2, 3, 4]})
    token = token_for(user)

    async def scenario():
        client = communicator("/ws/events/", token=token)
        assert (await client.connect())[0]
        jobs = await database_sync_to_async(start_jobs)(limit=2)
        first = jobs[0]
        await database_sync_to_async(services.finish_attempt)(
            first.pk, first.attempt, succeeded=True
        )
        messages = await collect(
            client,
            lambda ms: any(d["counts"]["succeeded"] for d in of_type(ms, "experiment.updated")),
        )
        await client.disconnect()
        return messages

    latest = of_type(run(scenario), "experiment.updated")[-1]
    assert latest == {
        "id": experiment.pk,
        "counts": {
            "waiting": 2,
            "dispatching": 0,
            "pending": 1,
            "running": 0,
            "succeeded": 1,
            "failed": 0,
            "cancelling": 0,
            "cancelled": 0,
            "pruned": 0,
        },
        "status": "running",
        "stop_reason": "",
        "progress": 0.25,
        "job_count": 4,
    }


def test_log_lines_and_metric_points_are_pushed_as_they_are_recorded(user, token_for):
    experiment = make_experiment(user)
    token = token_for(user)

    async def scenario():
        client = communicator(f"/ws/experiments/{experiment.pk}/", token=token)
        assert (await client.connect())[0]
        (job,) = await database_sync_to_async(start_jobs)()
        await database_sync_to_async(services.record_events)(
            job.pk,
            job.attempt,
            [
                {"type": "started"},
                {"type": "log", "lines": ["loading", "fitting"]},
                {"type": "metric", "name": "loss", "value": 0.5, "step": 1},
                {"type": "metric", "name": "loss", "value": 0.25, "step": 2},
            ],
        )
        messages = await collect(
            client, lambda ms: of_type(ms, "job.log") and of_type(ms, "job.metric")
        )
        await client.disconnect()
        return job, messages

    job, messages = run(scenario)
    (log,) = of_type(messages, "job.log")
    assert log == {
        "job": job.pk,
        "experiment": experiment.pk,
        "attempt": 1,
        "lines": ["loading", "fitting"],
    }
    (metric,) = of_type(messages, "job.metric")
    assert {k: metric[k] for k in ("job", "experiment", "attempt")} == {
        "job": job.pk,
        "experiment": experiment.pk,
        "attempt": 1,
    }
    assert [(p["name"], p["value"], p["step"]) for p in metric["points"]] == [
        ("loss", 0.5, 1),
        ("loss", 0.25, 2),
    ]
    assert all(p["time"] for p in metric["points"])


# Order and coalescing ---------------------------------------------------------------------------

LIFECYCLE = ["waiting", "dispatching", "pending", "running", "succeeded"]


def test_a_jobs_events_reach_the_client_in_the_order_they_were_committed(user, token_for):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    token = token_for(user)

    def drive(job: Job, tag: str) -> None:
        record = services.record_events
        record(job.pk, 1, [{"type": "started"}, {"type": "log", "lines": [f"{tag} 0"]}])
        for step in range(1, 6):
            record(job.pk, 1, [{"type": "progress", "value": step / 10}])
            record(job.pk, 1, [{"type": "log", "lines": [f"{tag} {step}"]}])
            record(job.pk, 1, [{"type": "metric", "name": "loss", "value": 1 / step, "step": step}])
        services.finish_attempt(job.pk, 1, succeeded=True, metrics={"score": 1.0})

    def drive_both(jobs: list[Job]) -> None:
        # Interleaved, so two jobs' events share every flush.
        first, second = jobs
        drive(first, "first")
        drive(second, "second")

    async def scenario():
        client = communicator(f"/ws/experiments/{experiment.pk}/", token=token)
        assert (await client.connect())[0]
        jobs = await database_sync_to_async(start_jobs)()
        await database_sync_to_async(drive_both)(jobs)
        messages = await collect(
            client,
            lambda ms: any(d["status"] == "succeeded" for d in of_type(ms, "experiment.updated")),
        )
        messages += await drain([experiment_group(experiment.pk)], client)
        await client.disconnect()
        return jobs, messages

    jobs, messages = run(scenario)
    for job, tag in zip(jobs, ("first", "second"), strict=True):
        mine = [m for m in messages if m["data"].get("job", m["data"].get("id")) == job.pk]
        mine = [m for m in mine if m["type"] != "experiment.updated"]
        updates = [m["data"] for m in mine if m["type"] == "job.updated"]
        ranks = [LIFECYCLE.index(d["status"]) for d in updates]
        assert ranks == sorted(ranks), updates
        # No progress yet (None, as just started) may come first, never after a value.
        progress = [-1 if d["progress"] is None else d["progress"] for d in updates]
        progress = [p for p, d in zip(progress, updates, strict=True) if d["status"] == "running"]
        assert progress == sorted(progress), updates
        assert mine[-1]["type"] == "job.updated" and mine[-1]["data"]["status"] == "succeeded"
        lines = [line for m in mine if m["type"] == "job.log" for line in m["data"]["lines"]]
        assert lines == [f"{tag} {step}" for step in range(6)]
        steps = [p["step"] for m in mine if m["type"] == "job.metric" for p in m["data"]["points"]]
        assert steps == [1, 2, 3, 4, 5]


def test_a_flood_of_log_lines_is_coalesced_into_a_few_capped_messages(user, token_for):
    """10,000 lines in a burst reach the client as a few messages holding the newest lines."""
    from jobs.signals import job_logged

    experiment = make_experiment(user)
    token = token_for(user)
    total, first_batch = 10_000, 5_000

    def flood(job: Job) -> None:
        def log(lines: list[str]) -> None:
            ids = {"job_id": job.pk, "experiment_id": experiment.pk, "owner_id": user.pk}
            job_logged.send(None, attempt=1, lines=lines, **ids)

        # One runner batch larger than any client keeps, then a line at a time, as fast as we can.
        log([f"line {n}" for n in range(first_batch)])
        for n in range(first_batch, total):
            log([f"line {n}"])

    async def scenario():
        loop = asyncio.get_running_loop()
        client = communicator(f"/ws/experiments/{experiment.pk}/", token=token)
        assert (await client.connect())[0]
        (job,) = await database_sync_to_async(start_jobs)()
        await drain([experiment_group(experiment.pk)], client)
        started = loop.time()
        await sync_to_async(flood, thread_sensitive=False)(job)
        messages = await collect(
            client,
            lambda ms: any(f"line {total - 1}" in d["lines"] for d in of_type(ms, "job.log")),
        )
        span = loop.time() - started
        messages += await drain([experiment_group(experiment.pk)], client)
        await client.disconnect()
        return span, messages

    span, messages = run(scenario)
    logs = of_type(messages, "job.log")
    assert len(messages) == len(logs), "nothing but the log was published"
    # One flush per FLUSH_INTERVAL on average (BURST of them at once), all within `span`.
    assert len(logs) <= span / FLUSH_INTERVAL + BURST, (len(logs), span)
    assert all(len(d["lines"]) <= MAX_ITEMS for d in logs)
    numbers = [int(line.split()[1]) for d in logs for line in d["lines"]]
    assert numbers == sorted(numbers) and numbers[-1] == total - 1
    dropped = sum(d.get("dropped", 0) for d in logs)
    assert dropped >= first_batch - MAX_ITEMS
    assert len(numbers) + dropped == total
    # Within each message the lines are the newest ones: nothing between them was skipped.
    for d in logs:
        first = int(d["lines"][0].split()[1])
        assert [int(line.split()[1]) for line in d["lines"]] == list(
            range(first, first + len(d["lines"]))
        )
