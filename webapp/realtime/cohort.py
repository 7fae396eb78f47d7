"""Connections of one group that have seen the same events share one outbox and one flush.

Coalescing is per connection in effect: what a connection is sent depends only on the events
it was handed since it joined and on when it last flushed. Connections for which both are the
same (those that joined a group while nothing was waiting to be sent) form a cohort: the events
are added to one Outbox, drained once and encoded once, and the one frame goes to each member.
A connection that joins while its group's cohorts have events waiting starts a cohort of its
own, so it is never sent events published before it joined.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from webapp.realtime.coalesce import Outbox
from webapp.realtime.frames import FrameCache

log = logging.getLogger(__name__)

# Flushes a connection may be sent back to back after a lull: a lone event just before a burst
# then leaves at once without holding the burst back for a whole interval.
BURST = 2


class Connection(Protocol):
    async def base_send(self, message: dict[str, Any]) -> None: ...


class Cohort:
    """An outbox flushed after ``quiet``, once per ``interval`` on average, to all its members."""

    def __init__(self, interval: float, quiet: float, frames: FrameCache) -> None:
        self.interval, self.quiet, self.frames = interval, quiet, frames
        self.outbox = Outbox()
        self.members: list[Connection] = []
        self._handed: list[dict[str, Any]] | None = None  # the hub's last batch: every member
        self._flusher: asyncio.Task | None = None
        # A token bucket: one flush per interval on average, BURST back to back after a lull.
        self._tokens, self._counted_at = float(BURST), 0.0
        self._first_event = self._last_event = 0.0

    def joinable(self) -> bool:
        """A newcomer may share this cohort's future only while nothing is waiting."""
        return not self.outbox and self._flusher is None

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Called by each member with the hub's batch; the cohort takes it once."""
        if events is self._handed:
            return
        self._handed = events  # held: its id cannot be reused by a later batch meanwhile
        now = asyncio.get_running_loop().time()
        if not self.outbox:
            self._first_event = now
        self._last_event = now
        for event in events:
            self.outbox.add(event)
        if self.outbox and self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())

    def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()

    def _tokens_at(self, now: float) -> float:
        return min(BURST, self._tokens + (now - self._counted_at) / self.interval)

    def _due(self, now: float) -> float:
        settled = min(self._last_event + self.quiet, self._first_event + self.interval)
        tokens = self._tokens_at(now)
        return max(settled, now if tokens >= 1 else now + (1 - tokens) * self.interval)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.outbox:
                now = loop.time()
                wait = self._due(now) - now
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue  # more may have arrived meanwhile: look again
                messages = self.outbox.drain()
                self._tokens, self._counted_at = self._tokens_at(now) - 1, now
                # One frame per flush, encoded once for every member.
                send = {"type": "websocket.send", "text": self.frames.frame(messages)}
                for member in list(self.members):
                    try:
                        # Straight to the server: AsyncWebsocketConsumer.send adds nothing here.
                        await member.base_send(send)
                    except Exception:
                        log.warning("realtime send to %r failed", member, exc_info=True)
                    # daphne only buffers the frame: yielding lets the loop write it out now,
                    # while the others are queued, rather than all of them after the last.
                    await asyncio.sleep(0)
        finally:
            self._flusher = None


class Cohorts:
    """A process's cohorts, per group (one per event loop, kept by the hub)."""

    def __init__(self, frames: FrameCache) -> None:
        self.frames = frames
        self.by_group: dict[str, list[Cohort]] = {}

    def enter(self, group: str, member: Connection, interval: float, quiet: float) -> Cohort:
        cohorts = self.by_group.setdefault(group, [])
        for cohort in cohorts:
            if cohort.joinable() and (cohort.interval, cohort.quiet) == (interval, quiet):
                break
        else:
            cohort = Cohort(interval, quiet, self.frames)
            cohorts.append(cohort)
        cohort.members.append(member)
        return cohort

    def leave(self, group: str, member: Connection, cohort: Cohort) -> None:
        if member in cohort.members:
            cohort.members.remove(member)
        if not cohort.members:
            cohort.stop()
            cohorts = self.by_group.get(group, [])
            if cohort in cohorts:
                cohorts.remove(cohort)
            if not cohorts:
                self.by_group.pop(group, None)
