"""The process's side of the websockets: publishing, and an outbox for each group it serves.

Each process's hub receives everything published on one channel (with channels_redis a channel
per connection cost about 0.3 ms per message each: 500 took 80-200 ms to be handed one) and
merges it into the outboxes of the groups named, each flushed, encoded once, to its connections.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from jobs.models import FINAL_STATUSES, JobStatus
from webapp.realtime import access

log = logging.getLogger(__name__)

# A connection is sent a frame once events stopped arriving for QUIET (a burst handed over in
# several channel-layer messages still leaves as one frame), FLUSH_INTERVAL after the first at
# the latest, and one per FLUSH_INTERVAL on average: BURST may leave back to back after a lull,
# so a lone event does not hold back a burst right after it.
FLUSH_INTERVAL, QUIET, BURST = 0.25, 0.02, 2
HUBS = "petri-hubs"  # the channel-layer group of every hub that has connections
ITEMS = {"job.log": "lines", "job.metric": "points"}
MAX_ITEMS = 1000  # log lines (metric points) of one job per flush; older ones count as dropped
REMEMBERED_JOBS = 20_000  # whose last state drops stale updates; bounded for huge sweeps
LATEST_ONLY = ("experiment.updated", "pipeline.updated")  # whole states: the newest replaces
# Within an attempt a job only moves forward through the statuses as declared (cancelling after
# running), then to a final state, and a retry raises the attempt: an update that would lower
# (attempt, rank) was read before a newer one (two processes racing to publish) and is dropped.
_RANK = {status: 9 if status in FINAL_STATUSES else n for n, status in enumerate(JobStatus)}
TABLE_MIN_ROWS = 3  # shorter runs gain little from a table and are easier to read as messages

Messages = list[dict[str, Any]]


def experiment_group(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class Broadcaster:
    """Hands messages for groups to the hubs from any thread, in order, from one event loop:
    what is published while a pass sends goes in the next, so a burst is a few round trips."""

    def __init__(self) -> None:
        self._pending: list[tuple[list[str], Messages]] = []  # touched on the sending loop only
        self._sending: asyncio.Task | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()  # one own loop, whichever thread publishes first

    def loop(self) -> asyncio.AbstractEventLoop | None:
        """Where the sends run; None when nothing published now could reach a websocket."""
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            # Its queues belong to the loop serving the websockets and are not thread-safe.
            return None if (found := serving()) is None else found.loop
        # Redis connections belong to the loop that opened them: one long-lived loop in a
        # daemon thread serves request threads and the scheduler thread alike.
        with self._lock:
            if self._own_loop is None:
                self._own_loop = asyncio.new_event_loop()
                threading.Thread(target=self._own_loop.run_forever, daemon=True).start()
            return self._own_loop

    def publish(self, groups: Sequence[str], messages: Messages) -> None:
        """Queue protocol messages (``{"type", "data"}``) for groups; callable from sync code."""
        if (loop := self.loop()) is not None:
            loop.call_soon_threadsafe(self._queue, list(groups), messages)

    def _queue(self, groups: list[str], messages: Messages) -> None:
        self._pending.append((groups, messages))
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())

    async def _send(self) -> None:
        layer = get_channel_layer()
        while self._pending:
            published, self._pending = self._pending, []
            try:
                await layer.group_send(HUBS, {"type": "realtime", "published": published})
            except Exception:
                log.exception("could not send %d publications to the hubs", len(published))


broadcaster = Broadcaster()
broadcast = broadcaster.publish


def encode(messages: Sequence[dict[str, Any]]) -> str:
    """The compact JSON of the one frame carrying ``messages`` (at least one): one message as
    itself, several as a ``batch`` whose runs of alike messages are tables (docs/realtime.md)."""
    entries: list[dict[str, Any]] = []
    for (kind, columns), run in itertools.groupby(
        messages, key=lambda message: (message["type"], tuple(message["data"]))
    ):
        run = list(run)
        if len(run) < TABLE_MIN_ROWS:
            entries += ({"type": kind, "data": message["data"]} for message in run)
        else:
            rows = [list(message["data"].values()) for message in run]
            entries.append({"type": kind, "columns": list(columns), "rows": rows})
    frame = entries[0] if len(messages) == 1 else {"type": "batch", "data": {"messages": entries}}
    return json.dumps(frame, separators=(",", ":"))


class Group:
    """A group's local connections and its outbox, flushed to all of them as one frame."""

    def __init__(self) -> None:
        self.members: list[Any] = []  # consumers.EventStream
        # Owed to the members: per job in order of arrival, its messages in theirs; then whole
        # states, the newest last.
        self.jobs: dict[int, Messages] = {}
        self.states: dict[tuple[str, int], dict[str, Any]] = {}
        self.seen: dict[int, tuple[int, int]] = {}  # job -> (attempt, rank) of its newest state
        self.flusher: asyncio.Task | None = None
        # When the outbox was first and last added to since it was sent; and the flushes' rate
        # allowance as a theoretical arrival time (GCRA): BURST may leave together after a lull.
        self._first = self._last = self._tat = 0.0

    def add(self, messages: Messages) -> None:
        """Merge messages into the outbox, and make sure a flush will send them."""
        self._last = asyncio.get_running_loop().time()
        if not (self.jobs or self.states):
            self._first = self._last
        for message in messages:
            self.merge(message)
        if self.flusher is None:
            self.flusher = asyncio.create_task(self._flush())

    def merge(self, message: dict[str, Any]) -> None:
        """Keep of ``message`` what the next flush must send; the message itself is not changed."""
        kind, data = message["type"], message["data"]
        if kind in LATEST_ONLY:
            self.states.pop((kind, data["id"]), None)  # the newest goes last
            self.states[(kind, data["id"])] = message
        elif kind in ITEMS:
            self._append(self.jobs.setdefault(data["job"], []), message)
        elif (key := (data["attempt"], _RANK[data["status"]])) >= self.seen.get(data["id"], key):
            self.seen.pop(data["id"], None)  # put back last: the least recently updated goes
            self.seen[data["id"]] = key
            if len(self.seen) > REMEMBERED_JOBS:
                del self.seen[next(iter(self.seen))]
            # The superseded state goes; the runs of items on both sides of it now touch.
            runs: Messages = []
            for entry in [e for e in self.jobs.get(data["id"], ()) if e["type"] in ITEMS]:
                self._append(runs, entry)
            self.jobs[data["id"]] = [*runs, message]

    def _append(self, runs: Messages, message: dict[str, Any]) -> None:
        # Lines (points) of one attempt following each other merge, the newest MAX_ITEMS kept.
        kind, data = message["type"], message["data"]
        key, dropped = ITEMS[kind], data.get("dropped", 0)
        items = data[key]
        if runs and runs[-1]["type"] == kind and runs[-1]["data"]["attempt"] == data["attempt"]:
            before = runs.pop()["data"]
            items, dropped = before[key] + items, before.get("dropped", 0) + dropped
        dropped += max(0, len(items) - MAX_ITEMS)
        merged = {**data, key: items[-MAX_ITEMS:], "dropped": dropped}
        if not dropped:
            del merged["dropped"]
        runs.append({"type": kind, "data": merged})

    def drain(self) -> Messages:
        """Everything owed: jobs in order of arrival, then the whole states."""
        messages = [*itertools.chain(*self.jobs.values()), *self.states.values()]
        self.jobs, self.states = {}, {}
        return messages

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self.jobs or self.states:
            due = min(self._last + QUIET, self._first + FLUSH_INTERVAL)
            due = max(due, self._tat - (BURST - 1) * FLUSH_INTERVAL)
            if (now := loop.time()) < due:
                await asyncio.sleep(due - now)
                continue  # more may have arrived meanwhile: look again
            self._tat = max(self._tat, now) + FLUSH_INTERVAL
            frame = {"type": "websocket.send", "text": encode(self.drain())}
            for member in list(self.members):
                try:
                    await member.base_send(frame)  # AsyncWebsocketConsumer.send adds nothing
                except Exception:
                    log.warning("realtime send to %r failed", member, exc_info=True)
                # daphne only buffers the frame: yielding lets the loop write it out now, while
                # the others are queued, rather than all of them after the last.
                await asyncio.sleep(0)
        self.flusher = None


class Hub:
    """One event loop's groups of connections, fed from one channel while there are any."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, Group] = {}
        self.tasks: list[asyncio.Task] = []  # receiving and re-checking, while there are groups
        self._joining = asyncio.Lock()  # one channel however many connect at once

    async def join(self, name: str, member: Any) -> None:
        """Returns once the group's messages reach ``member``."""
        async with self._joining:
            if self.channel is None:
                channel = await self.layer.new_channel(prefix="petri-hub")
                await self.layer.group_add(HUBS, channel)
                self.channel = channel
                self.tasks = [asyncio.create_task(run()) for run in (self._listen, self._check)]
        self.groups.setdefault(name, Group()).members.append(member)

    async def leave(self, name: str, member: Any) -> None:
        group = self.groups[name]
        group.members.remove(member)  # at once: it is sent nothing more
        if not group.members:
            del self.groups[name]
            if group.flusher is not None:
                group.flusher.cancel()
        if self.groups:
            return
        # The last connection is gone: the next to join subscribes a new channel.
        channel, self.channel = self.channel, None
        for task in set(self.tasks) - {asyncio.current_task()}:  # a re-check ends by itself
            task.cancel()
        self.tasks = []
        try:
            await self.layer.group_discard(HUBS, channel)
        except Exception:  # it expires by itself; the hub no longer receives on it
            log.warning("realtime hub could not leave %s", HUBS, exc_info=True)

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:
                log.exception("realtime hub could not receive; retrying in a second")
                await asyncio.sleep(1)
                continue
            for names, messages in message["published"]:
                for name in names:
                    if (group := self.groups.get(name)) is not None:
                        group.add(messages)

    async def recheck(self) -> None:
        """Check every member's grant now (access.py), and close those that lapsed."""
        members = [member for group in self.groups.values() for member in group.members]
        gone = await access.check({member.grant for member in members})
        for member in members:
            if member.grant in gone:
                await member.revoke()

    async def _check(self) -> None:
        me = asyncio.current_task()
        while me in self.tasks:
            await asyncio.sleep(settings.PETRI_WS_RECHECK_SECONDS)
            try:
                # channels_redis forgets a group's members after a day (group_expiry).
                await self.layer.group_add(HUBS, self.channel)
                await self.recheck()
            except Exception:  # a database or Redis hiccup: try again next round
                log.exception("realtime could not re-check websocket access")


_current: Hub | None = None  # daphne runs one loop; each test scenario runs its own in turn


def hub() -> Hub:
    """The running loop's hub."""
    global _current
    if _current is None or _current.loop is not asyncio.get_running_loop():
        _current = Hub()
    return _current


def serving() -> Hub | None:
    """The hub that has connections, if its loop still runs; callable from any thread."""
    found = _current
    return found if found is not None and found.groups and found.loop.is_running() else None
