"""The process's side of the websockets: one subscription and one outbox per group.

With channels_redis every connection waiting on its own channel costs about 0.3 ms per group
message (measured: 500 connections on one experiment took 80-200 ms to be handed one message),
so a popular experiment would cap a server at a few messages a second. The hub receives each
message once, merges what a group is owed in one Outbox, and sends each flush, encoded once, to
every local connection of the group. It also re-checks their access while there are any.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from webapp.realtime import access, wire
from webapp.realtime.outbox import Outbox

log = logging.getLogger(__name__)

# No connection is sent more than one frame per FLUSH_INTERVAL seconds on average (BURST of them
# back to back after a lull, so a lone event does not hold back a burst right after it), and
# none waits longer than that for its frame, besides the wait for the rate allowance. A frame
# leaves once events stopped arriving for QUIET: a burst that reaches the hub as several
# channel-layer messages still leaves as one frame, soon after its end.
FLUSH_INTERVAL = 0.25
QUIET = 0.02
BURST = 2
# channels_redis forgets group members after a day (group_expiry); re-join well before.
REJOIN_EVERY = 3600.0
# Sent, as a frame of its own, once everything handed to the group before it has been flushed:
# how a test shows that nothing more is on its way without waiting out a quiet spell.
BARRIER = "barrier"
MESSAGE_TYPE = "realtime.events"  # of the channel-layer message carrying a group's messages


def group_message(group: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": MESSAGE_TYPE, "group": group, "events": messages}


class Member(Protocol):
    grant: access.Grant

    async def base_send(self, message: dict[str, Any]) -> None: ...

    async def revoke(self) -> None: ...


class Group:
    """A group's local connections and its outbox, flushed to all of them at once."""

    def __init__(self, interval: float = FLUSH_INTERVAL, quiet: float = QUIET) -> None:
        self.interval, self.quiet = interval, quiet
        self.members: list[Member] = []
        self.outbox = Outbox()
        self.barriers: list[dict[str, Any]] = []
        self._flusher: asyncio.Task | None = None
        # A token bucket: one flush per interval on average, BURST back to back after a lull.
        self._tokens, self._counted_at = float(BURST), 0.0
        self._first = self._last = 0.0

    def add(self, messages: list[dict[str, Any]]) -> None:
        now = asyncio.get_running_loop().time()
        if not self.outbox:
            self._first = now
        self._last = now
        for message in messages:
            (self.barriers.append if message["type"] == BARRIER else self.outbox.add)(message)
        if (self.outbox or self.barriers) and self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())

    def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.outbox or self.barriers:
                if not self.outbox:  # everything handed over before the barrier has gone out
                    await self._send(wire.encode([self.barriers.pop(0)]))
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
                await self._send(wire.encode(self.outbox.drain()))
        finally:
            self._flusher = None

    async def _send(self, text: str) -> None:
        message = {"type": "websocket.send", "text": text}
        for member in list(self.members):
            try:
                # Straight to the server: AsyncWebsocketConsumer.send adds nothing here.
                await member.base_send(message)
            except Exception:
                log.warning("realtime send to %r failed", member, exc_info=True)
            # daphne only buffers the frame: yielding lets the loop write it out now, while
            # the others are queued, rather than all of them after the last.
            await asyncio.sleep(0)


class GroupHub:
    """Joins a group when its first local member arrives, leaves it when the last one goes."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, Group] = {}
        # Joining and leaving one at a time: a group is never joined while it is being left.
        self._changing = asyncio.Lock()
        self._listener: asyncio.Task | None = None
        self._checker: asyncio.Task | None = None

    def members(self) -> list[Member]:
        return [member for group in self.groups.values() for member in group.members]

    async def join(self, name: str, member: Member) -> None:
        """Returns once the group's messages reach ``member``."""
        async with self._changing:
            if name not in self.groups:
                self.channel = self.channel or await self.layer.new_channel(prefix="petri-hub")
                await self.layer.group_add(name, self.channel)
                self.groups[name] = Group()
            if self._listener is None:
                self._listener = asyncio.create_task(self._listen(), name="petri-realtime-hub")
                self._checker = asyncio.create_task(self._check(), name="petri-realtime-access")
            self.groups[name].members.append(member)

    async def leave(self, name: str, member: Member) -> None:
        group = self.groups.get(name)
        if group is None or member not in group.members:
            return
        group.members.remove(member)  # at once: it is sent nothing more
        async with self._changing:
            if group.members or self.groups.get(name) is not group:
                return
            del self.groups[name]
            group.stop()
            try:
                await self.layer.group_discard(name, self.channel)
            except Exception:  # it expires by itself; the hub no longer dispatches to it
                log.warning("realtime hub could not leave %s", name, exc_info=True)
            if not self.groups:
                # Nobody left to listen for: a closing loop is left with nothing running.
                tasks = [self._listener, self._checker]
                self._listener = self._checker = None
                # A revocation may be the one leaving: its task ends by itself (see _check).
                tasks = [task for task in tasks if task not in (None, asyncio.current_task())]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        rejoin_at = loop.time() + REJOIN_EVERY
        while True:
            try:
                message = await asyncio.wait_for(
                    self.layer.receive(self.channel), timeout=max(1.0, rejoin_at - loop.time())
                )
                group = self.groups.get(message.get("group", ""))
                if group is not None:
                    group.add(message["events"])
            except TimeoutError:
                pass
            except Exception:
                log.exception("realtime hub could not receive; retrying in a second")
                await asyncio.sleep(1)
            if loop.time() >= rejoin_at:
                rejoin_at = loop.time() + REJOIN_EVERY
                for name in list(self.groups):
                    await self.layer.group_add(name, self.channel)

    async def recheck(self) -> int:
        """Check every member's grant now, close those that lapsed; returns how many."""
        members = self.members()
        if not members:
            return 0
        gone = await _lapsed({member.grant for member in members})
        revoked = [member for member in members if member.grant in gone]
        for member in revoked:
            await member.revoke()
        return len(revoked)

    async def _check(self) -> None:
        me = asyncio.current_task()
        while self._checker is me:
            await asyncio.sleep(settings.PETRI_WS_RECHECK_SECONDS)
            try:
                await self.recheck()
            except Exception:  # a database hiccup: try again next round
                log.exception("realtime could not re-check websocket access")


_lapsed = database_sync_to_async(access.lapsed, thread_sensitive=False)
# One hub per event loop: daphne has one; each test scenario has its own. A plain dict: other
# threads read it (serving()), and copying one is atomic.
_hubs: dict[asyncio.AbstractEventLoop, GroupHub] = {}


def hub() -> GroupHub:
    """The running loop's hub."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for closed in [other for other in _hubs if other.is_closed()]:
            del _hubs[closed]
        found = _hubs[loop] = GroupHub()
    return found


def serving() -> list[tuple[asyncio.AbstractEventLoop, GroupHub]]:
    """The hubs that have connections, with the loops they serve them on."""
    hubs = list(_hubs.items())
    return [(loop, found) for loop, found in hubs if found.groups and loop.is_running()]
