"""The process's side of the websockets: publishing to groups, and one outbox per group joined.

With channels_redis every connection waiting on its own channel costs about 0.3 ms per group
message (500 connections on one experiment took 80-200 ms to be handed one message), so the hub
receives each group's messages once, on one channel, merges them in the group's outbox, and
sends each flush, encoded once, to every local connection of the group. While it has any it
also re-checks their access (access.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from jobs.models import FINAL_STATUSES, JobStatus
from webapp.realtime import access, wire

log = logging.getLogger(__name__)

# No connection is sent more than one frame per FLUSH_INTERVAL seconds on average (BURST of them
# back to back after a lull, so a lone event does not hold back a burst right after it), and
# none waits longer than that for its frame, besides the wait for the rate allowance. A frame
# leaves once events stopped arriving for QUIET: a burst that reaches the hub as several
# channel-layer messages still leaves as one frame, soon after its end.
FLUSH_INTERVAL = 0.25
QUIET = 0.02
BURST = 2
REJOIN_EVERY = 3600.0  # channels_redis forgets group members after a day (group_expiry)
# Sent alone in its frame once everything handed to the group before it has been flushed: how a
# test shows that nothing more is on its way without waiting out a quiet spell.
BARRIER = "barrier"
ITEMS = {"job.log": "lines", "job.metric": "points"}
MAX_ITEMS = 1000  # log lines (metric points) of one job per flush; older ones count as dropped
REMEMBERED_JOBS = 20_000  # whose last state drops stale updates; bounded for huge sweeps
LATEST_ONLY = ("experiment.updated", "pipeline.updated")  # whole states: the newest replaces
# Within an attempt a job only moves forward through the statuses as declared (cancelling after
# running), then to a final state, and a retry raises the attempt: an update that would lower
# (attempt, rank) was read before a newer one (two processes racing to publish) and is dropped.
_RANK = {status: 9 if status in FINAL_STATUSES else n for n, status in enumerate(JobStatus)}

Messages = list[dict[str, Any]]


def experiment_group(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class Broadcaster:
    """Sends protocol messages to groups from any thread, in order, from one event loop.

    What was published while a pass was sending goes in the next one, as one channel-layer
    message per group: a burst costs a few round trips rather than one per event.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Messages] = {}
        self._lock = threading.Lock()
        self._pumping: asyncio.AbstractEventLoop | None = None  # where a pass is under way
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.group_messages = 0  # sent so far; the benchmark reports it

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
                threading.Thread(
                    target=self._own_loop.run_forever, name="petri-broadcast", daemon=True
                ).start()
            return self._own_loop

    def publish(self, groups: Sequence[str], messages: Messages) -> None:
        """Queue protocol messages (``{"type", "data"}``) for groups; callable from sync code."""
        if (loop := self.loop()) is None:
            return
        with self._lock:
            for group in groups:
                self._pending.setdefault(group, []).extend(messages)
            if self._pumping is not None and self._pumping.is_running():
                return  # the running pass sends these next
            self._pumping = loop
            self._idle.clear()
        asyncio.run_coroutine_threadsafe(self._pump(), loop)

    async def _pump(self) -> None:
        layer = get_channel_layer()
        while True:
            with self._lock:
                batch, self._pending = self._pending, {}
                if not batch:
                    self._pumping = None
                    self._idle.set()
                    return
            for group, messages in batch.items():
                try:
                    await layer.group_send(
                        group, {"type": "realtime.events", "group": group, "events": messages}
                    )
                    self.group_messages += 1
                except Exception:
                    log.exception("could not send %d messages to %s", len(messages), group)

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything published so far was handed to the channel layer."""
        return self._idle.wait(timeout)


broadcaster = Broadcaster()
broadcast = broadcaster.publish


class Group:
    """A group's local connections and its outbox, flushed to all of them as one frame."""

    def __init__(
        self, interval: float = FLUSH_INTERVAL, quiet: float = QUIET, max_items: int = MAX_ITEMS
    ) -> None:
        self.interval, self.quiet, self.max_items = interval, quiet, max_items
        self.members: list[Any] = []  # consumers.EventStream
        # Owed to the members: per job in order of arrival, its messages in theirs; then whole
        # states, the newest last; then the barriers, once everything before them is out.
        self.jobs: dict[int, Messages] = {}
        self.states: dict[tuple[str, int], dict[str, Any]] = {}
        self.barriers: Messages = []
        self.seen: dict[int, tuple[int, int]] = {}  # job -> (attempt, rank) of its newest state
        self.flusher: asyncio.Task | None = None
        # A token bucket: one flush per interval on average, BURST back to back after a lull.
        self._tokens, self._counted_at = float(BURST), 0.0
        self._first = self._last = 0.0

    def add(self, messages: Messages) -> None:
        """Merge messages into the outbox, and make sure a flush will send them."""
        self._last = asyncio.get_running_loop().time()
        if not (self.jobs or self.states):
            self._first = self._last
        for message in messages:
            self.merge(message)
        if (self.jobs or self.states or self.barriers) and self.flusher is None:
            self.flusher = asyncio.create_task(self._flush())

    def merge(self, message: dict[str, Any]) -> None:
        """Keep of ``message`` what the next flush must send; the message itself is not changed."""
        kind, data = message["type"], message["data"]
        if kind == BARRIER:
            self.barriers.append(message)
        elif kind in LATEST_ONLY:
            self.states.pop((kind, data["id"]), None)  # the newest goes last
            self.states[(kind, data["id"])] = message
        elif kind in ITEMS:
            self._append(self.jobs.setdefault(data["job"], []), message)
        elif self._newest(data):
            # The superseded state goes; the runs of items on both sides of it now touch.
            runs: Messages = []
            for entry in [*self.jobs.get(data["id"], ()), message]:
                if entry["type"] in ITEMS or entry is message:
                    self._append(runs, entry)
            self.jobs[data["id"]] = runs

    def _newest(self, data: dict[str, Any]) -> bool:
        key = (data["attempt"], _RANK[data["status"]])
        if key < self.seen.get(data["id"], key):
            return False
        self.seen.pop(data["id"], None)  # put back last: the least recently updated goes first
        self.seen[data["id"]] = key
        if len(self.seen) > REMEMBERED_JOBS:
            del self.seen[next(iter(self.seen))]
        return True

    def _append(self, runs: Messages, message: dict[str, Any]) -> None:
        # Lines (points) of one attempt following each other merge, the newest max_items kept.
        kind, data = message["type"], message["data"]
        if kind not in ITEMS:
            runs.append(message)
            return
        key, dropped = ITEMS[kind], data.get("dropped", 0)
        items = data[key]
        if runs and runs[-1]["type"] == kind and runs[-1]["data"]["attempt"] == data["attempt"]:
            before = runs.pop()["data"]
            items, dropped = before[key] + items, before.get("dropped", 0) + dropped
        dropped += max(0, len(items) - self.max_items)
        merged = {**data, key: items[-self.max_items :], "dropped": dropped}
        if not dropped:
            del merged["dropped"]
        runs.append({"type": kind, "data": merged})

    def drain(self) -> Messages:
        """Everything owed but the barriers: jobs in order of arrival, then the whole states."""
        messages = [message for runs in self.jobs.values() for message in runs]
        messages += self.states.values()
        self.jobs, self.states = {}, {}
        return messages

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self.jobs or self.states or self.barriers:
            if not (self.jobs or self.states):  # what was handed over before it has gone out
                await self._send([self.barriers.pop(0)])
                continue
            now = loop.time()
            tokens = min(BURST, self._tokens + (now - self._counted_at) / self.interval)
            due = max(
                min(self._last + self.quiet, self._first + self.interval),
                now + max(0.0, 1 - tokens) * self.interval,
            )
            if due > now:
                await asyncio.sleep(due - now)
                continue  # more may have arrived meanwhile: look again
            self._tokens, self._counted_at = tokens - 1, now
            await self._send(self.drain())
        self.flusher = None

    async def _send(self, messages: Messages) -> None:
        frame = {"type": "websocket.send", "text": wire.encode(messages)}
        for member in list(self.members):
            try:
                await member.base_send(frame)  # AsyncWebsocketConsumer.send adds nothing
            except Exception:
                log.warning("realtime send to %r failed", member, exc_info=True)
            # daphne only buffers the frame: yielding lets the loop write it out now, while
            # the others are queued, rather than all of them after the last.
            await asyncio.sleep(0)


class Hub:
    """One event loop's groups: joined on one channel when their first member arrives."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, Group] = {}
        self.tasks: list[asyncio.Task] = []  # receiving and re-checking, while there are groups
        # Joining and leaving one at a time: a group is never joined while it is being left.
        self._changing = asyncio.Lock()

    async def join(self, name: str, member: Any) -> None:
        """Returns once the group's messages reach ``member``."""
        async with self._changing:
            if name not in self.groups:
                self.channel = self.channel or await self.layer.new_channel(prefix="petri-hub")
                await self.layer.group_add(name, self.channel)
                self.groups[name] = Group()
            if not self.tasks:
                self.tasks = [asyncio.create_task(run()) for run in (self._listen, self._check)]
            self.groups[name].members.append(member)

    async def leave(self, name: str, member: Any) -> None:
        group = self.groups[name]
        group.members.remove(member)  # at once: it is sent nothing more
        async with self._changing:
            # Another member's leave may have gone first, and a join made the group anew.
            if group.members or self.groups.get(name) is not group:
                return
            del self.groups[name]
            if group.flusher is not None:
                group.flusher.cancel()
            if not self.groups:
                # Nothing is left running on a loop that may be closing. A revocation may be
                # the one leaving: its own task ends by itself (see _check).
                tasks, self.tasks = self.tasks, []
                tasks = [task for task in tasks if task is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await self.layer.group_discard(name, self.channel)
            except Exception:  # it expires by itself; the hub no longer dispatches to it
                log.warning("realtime hub could not leave %s", name, exc_info=True)

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:
                log.exception("realtime hub could not receive; retrying in a second")
                await asyncio.sleep(1)
                continue
            if (group := self.groups.get(message["group"])) is not None:
                group.add(message["events"])

    async def recheck(self) -> int:
        """Check every member's grant now, close those that lapsed; returns how many."""
        members = [member for group in self.groups.values() for member in group.members]
        gone = await access.check({member.grant for member in members}) if members else set()
        revoked = [member for member in members if member.grant in gone]
        for member in revoked:
            await member.revoke()
        return len(revoked)

    async def _check(self) -> None:
        me, rejoin_at = asyncio.current_task(), self.loop.time() + REJOIN_EVERY
        while me in self.tasks:
            await asyncio.sleep(settings.PETRI_WS_RECHECK_SECONDS)
            try:
                if self.loop.time() >= rejoin_at:
                    rejoin_at = self.loop.time() + REJOIN_EVERY
                    async with self._changing:
                        for name in self.groups:
                            await self.layer.group_add(name, self.channel)
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
