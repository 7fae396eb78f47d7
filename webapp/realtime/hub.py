"""One channel-layer subscription per group per process, shared by that process's connections.

With channels_redis every connection waiting on its own channel costs about 0.3 ms per group
message (measured: 500 connections on one experiment took 80-200 ms to be handed one message),
so a popular experiment would cap a server at a few messages a second. The hub receives each
message once and hands it to the local connections with a plain method call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from channels.layers import get_channel_layer

from webapp.realtime.cohort import Cohorts
from webapp.realtime.frames import FrameCache

log = logging.getLogger(__name__)

# channels_redis forgets group members after a day (group_expiry); re-join well before.
REJOIN_EVERY = 3600.0


class Member(Protocol):
    def deliver(self, events: list[dict[str, Any]]) -> None: ...


class GroupHub:
    """Joins a group when its first local member arrives, leaves it when the last one goes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.members: dict[str, set[Member]] = {}
        self._joined: dict[str, asyncio.Future] = {}
        self._task: asyncio.Task | None = None
        # Local connections flushing the same messages send one shared encoding of them;
        # those handed the same events since they joined share their coalescing too.
        self.frames = FrameCache()
        self.cohorts = Cohorts(self.frames)

    async def join(self, group: str, member: Member) -> None:
        """Returns once messages sent to ``group`` reach ``member``."""
        if self.channel is None:
            self.channel = await self.layer.new_channel(prefix="petri-hub")
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="petri-realtime-hub")
        self.members.setdefault(group, set()).add(member)
        try:
            joined = self._joined.get(group)
            if joined is None:
                joined = self._joined[group] = self.loop.create_future()
                try:
                    await self.layer.group_add(group, self.channel)
                except BaseException as exc:
                    del self._joined[group]
                    joined.set_exception(exc)
                    joined.exception()  # retrieved: the joiners waiting on it get it raised
                    raise
                joined.set_result(True)
            await asyncio.shield(joined)
        except BaseException:
            self._forget(group, member)
            await self._stop_if_idle()
            raise

    async def leave(self, group: str, member: Member) -> None:
        if self._forget(group, member):
            self._joined.pop(group, None)
            try:
                await self.layer.group_discard(group, self.channel)
            except Exception:  # it expires by itself; the hub no longer dispatches to it
                log.warning("realtime hub could not leave %s", group, exc_info=True)
        await self._stop_if_idle()

    async def _stop_if_idle(self) -> None:
        if not self.members and self._task is not None:
            # Nobody left to listen for: stop receiving so a closing loop leaves nothing behind.
            task, self._task = self._task, None
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _forget(self, group: str, member: Member) -> bool:
        """Drop a member; True when it was the group's last one here."""
        members = self.members.get(group)
        if members is None:
            return False
        members.discard(member)
        if members:
            return False
        del self.members[group]
        return True

    async def _listen(self) -> None:
        rejoin_at = self.loop.time() + REJOIN_EVERY
        while True:
            try:
                message = await asyncio.wait_for(
                    self.layer.receive(self.channel), timeout=max(1.0, rejoin_at - self.loop.time())
                )
            except TimeoutError:
                message = None
            except Exception:
                log.exception("realtime hub could not receive; retrying in a second")
                await asyncio.sleep(1)
                continue
            if self.loop.time() >= rejoin_at:
                rejoin_at = self.loop.time() + REJOIN_EVERY
                for group in list(self.members):
                    await self.layer.group_add(group, self.channel)
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        for member in list(self.members.get(message.get("group", ""), ())):
            try:
                member.deliver(message["events"])
            except Exception:
                log.exception("realtime delivery to %r failed", member)


_hubs: dict[asyncio.AbstractEventLoop, GroupHub] = {}


def hub() -> GroupHub:
    """The running loop's hub (daphne has one loop; each test scenario has its own)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for stale in [other for other in _hubs if other.is_closed()]:
            del _hubs[stale]
        found = _hubs[loop] = GroupHub(loop)
    return found
