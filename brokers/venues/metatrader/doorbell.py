"""Waking a waiting poll when a command is queued for its account.

A worker that queues a command rings (a Redis publish on `tf:ea:<account id>`);
each web process keeps one subscription for every account (a pattern) and wakes
the polls waiting on that account. So an idle EA costs a waiting coroutine, not a
query a second, and a command reaches it as soon as it is committed. When Redis
cannot be heard the polls look at the database once a second instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)
CHANNEL = "tf:ea:"
FALLBACK_SECONDS = 1.0


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5)


def ring(account_id: int) -> None:
    """Tell the polls of `account_id` that a command waits (after the commit)."""
    try:
        _client().publish(f"{CHANNEL}{account_id}", b"1")
    except redis.RedisError:
        log.warning("doorbell unavailable; account %s polls will look", account_id)


class _Bell:
    """One loop's subscription and the polls waiting on it."""

    def __init__(self) -> None:
        self.waiters: dict[int, set[asyncio.Event]] = {}
        self.heard = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                client = aioredis.Redis.from_url(settings.REDIS_URL)
                async with client.pubsub() as pubsub:
                    await pubsub.psubscribe(f"{CHANNEL}*")
                    self.heard = True
                    async for message in pubsub.listen():
                        if message.get("type") == "pmessage":
                            self._wake(message["channel"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("doorbell lost Redis; polls fall back to looking")
            self.heard = False
            self._wake_all()  # whoever waits looks again, once a second
            await asyncio.sleep(FALLBACK_SECONDS)

    def _wake(self, channel: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        try:
            account_id = int(name.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return
        for event in self.waiters.get(account_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for events in self.waiters.values():
            for event in events:
                event.set()


_bells: dict[asyncio.AbstractEventLoop, _Bell] = {}


def _bell() -> _Bell:
    loop = asyncio.get_running_loop()
    bell = _bells.get(loop)
    if bell is None:
        for old in [old for old in _bells if old.is_closed()]:
            del _bells[old]
        bell = _bells[loop] = _Bell()
    bell.start()
    return bell


class Waiter:
    def __init__(self, bell: _Bell, event: asyncio.Event) -> None:
        self._bell, self._event = bell, event

    async def wait(self, seconds: float) -> bool:
        """Until rung or `seconds` pass (a second at most while Redis is unheard).
        False when the time ran out with Redis heard: nothing was queued."""
        if seconds <= 0:
            return True
        heard = self._bell.heard
        if not heard:
            seconds = min(seconds, FALLBACK_SECONDS)
        rung = True
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            rung = not heard
        self._event.clear()
        return rung


@asynccontextmanager
async def listening(account_id: int) -> AsyncIterator[Waiter]:
    """Listen for `account_id`'s bell from before the first look, so that a command
    committed between the look and the wait is not missed."""
    bell = _bell()
    event = asyncio.Event()
    bell.waiters.setdefault(account_id, set()).add(event)
    started = time.monotonic()
    try:
        while not bell.heard and time.monotonic() - started < 0.2:
            await asyncio.sleep(0.01)  # a new process's first poll: subscribe first
        yield Waiter(bell, event)
    finally:
        events = bell.waiters.get(account_id)
        if events is not None:
            events.discard(event)
            if not events:
                del bell.waiters[account_id]
