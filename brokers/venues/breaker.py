"""A circuit breaker per venue host, shared by every process through Redis.

After VENUE_BREAKER_FAILURES transient failures in a row (a timeout, no answer, a
5xx) from one venue host, the breaker opens: for VENUE_BREAKER_COOLDOWN_SECONDS
every call to that host fails at once with a transient `venue-circuit-open`,
instead of each worker thread waiting out its own timeout against a venue that is
down. Then it is half-open: one call (whichever process takes the probe first) is
let through; its success closes the breaker, its failure opens it again. Any
answer that is not a failure (a 4xx is the venue working) closes it.

    breaker = Breaker("ProjectX", "api.topstepx.com")
    breaker.admit()      # raises VenueError("venue-circuit-open") while open
    breaker.record(ok)   # after the exchange

Taking risk off never waits for it: inside `exits()` (a flatten, a cancel, an
exit leg) admit() lets the call go whatever the state, and its outcome counts
as any call's (a success closes the breaker, a failure adds to the run).
TradeFlow's rule: outages may refuse new entries, never an exit.

    with exits():
        adapter.flatten()

One breaker per host, not per venue: a ProjectX firm's outage does not stop the
others, nor Tradovate's demo environment its live one. The state is a Redis hash
beside the rate-limit windows (`rl:`), the same kind of short-lived shared
counter. Redis unreachable, the breaker stays out of the way (a lost breaker
beats a refused order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

from brokers.adapters.base import VenueError

log = logging.getLogger(__name__)
PREFIX = "rl:breaker:"
# A breaker nobody has touched for this long is forgotten (closed).
STATE_SECONDS = 3600
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
# Set while the calls made take risk off (exits()): an open breaker lets them go.
# A callable decides only if a breaker is open (exits_when): a healthy venue
# costs the caller nothing to ask.
_exiting: ContextVar[bool | Callable[[], bool]] = ContextVar(
    "venue_breaker_exiting", default=False
)


@contextmanager
def exits() -> Iterator[None]:
    """The venue calls made inside take risk off (an exit, a flatten, a cancel):
    they pass an open breaker. Per thread and per task (a context variable)."""
    token = _exiting.set(True)
    try:
        yield
    finally:
        _exiting.reset(token)


@contextmanager
def exits_when(decide: Callable[[], bool]) -> Iterator[None]:
    """`exits()` if `decide()` says the calls take risk off, asked only when a
    breaker is open (at most once)."""
    answer: list[bool] = []

    def once() -> bool:
        if not answer:
            answer.append(decide())
        return answer[0]

    token = _exiting.set(once)
    try:
        yield
    finally:
        _exiting.reset(token)


def _exiting_now() -> bool:
    exiting = _exiting.get()
    return exiting() if callable(exiting) else exiting


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5)


@dataclass(frozen=True)
class BreakerState:
    """What one host's breaker says now."""

    venue: str  # "projectx"
    host: str  # "api.topstepx.com", "127.0.0.1:40123"
    state: str  # closed | open | half_open
    failures: int  # transient failures in a row
    opened_at: float | None  # epoch seconds
    retry_at: float | None  # when a probe may go (open), epoch seconds


class Breaker:
    def __init__(self, venue: str, host: str) -> None:
        self.venue = venue  # as the venue's messages name it: "ProjectX"
        self.key = f"{PREFIX}{venue.lower()}:{host}"
        self._dirty = True  # a success must clear what admit() saw
        self._probing = False

    def admit(self) -> None:
        """Let the call go, or raise a transient `venue-circuit-open` (never
        inside exits())."""
        try:
            raw = _client().hgetall(self.key)
        except redis.RedisError:
            log.warning("venue breaker unavailable; %s let through", self.key)
            self._dirty = False
            return
        self._dirty = bool(raw)
        opened = raw.get(b"opened_at")
        if opened is None:
            return
        if _exiting_now():
            log.info("%s open; an exit let through", self.key)
            return
        retry_at = float(opened) + settings.VENUE_BREAKER_COOLDOWN_SECONDS
        if time.time() >= retry_at and self._take_probe():
            self._probing = True
            return
        raise VenueError(
            "venue-circuit-open",
            f"{self.venue} failed {int(raw.get(b'failures', 0))} times in a row: "
            "TradeFlow sends it nothing for "
            f"{settings.VENUE_BREAKER_COOLDOWN_SECONDS} s, then tries once.",
            transient=True,
        )

    def _take_probe(self) -> bool:
        """The one call of the half-open state, leased so that a probe lost with
        its process lets another go after the cool-down."""
        lease = max(settings.VENUE_BREAKER_COOLDOWN_SECONDS, 1)
        try:
            return bool(_client().set(f"{self.key}:probe", "1", nx=True, ex=lease))
        except redis.RedisError:
            return True

    def record(self, ok: bool) -> None:
        """The outcome of the call admit() let go."""
        try:
            if ok:
                if self._dirty:  # a healthy venue costs no write per call
                    _client().delete(self.key, f"{self.key}:probe")
                return
            self._failed()
        except redis.RedisError:
            log.warning("venue breaker unavailable; %s not recorded", self.key)

    def _failed(self) -> None:
        pipe = _client().pipeline()
        pipe.hincrby(self.key, "failures", 1)
        pipe.expire(self.key, STATE_SECONDS)
        failures = int(pipe.execute()[0])
        if self._probing or failures == settings.VENUE_BREAKER_FAILURES:
            pipe.hset(self.key, "opened_at", repr(time.time()))
            pipe.delete(f"{self.key}:probe")
            pipe.execute()
            log.error(
                "%s: %s failures in a row, circuit open for %s s",
                self.key.removeprefix(PREFIX),
                failures,
                settings.VENUE_BREAKER_COOLDOWN_SECONDS,
            )


def breakers_state() -> list[BreakerState]:
    """Every breaker with something to say (a failure, or open), by venue and
    host; a host not listed is closed."""
    try:
        client = _client()
        keys = sorted(
            key
            for key in client.scan_iter(f"{PREFIX}*", count=1000)
            if not key.endswith(b":probe")
        )
        pipe = client.pipeline()
        for key in keys:
            pipe.hgetall(key)
        rows = pipe.execute() if keys else []
    except redis.RedisError:
        log.warning("venue breakers unavailable")
        return []
    return [_state(key.decode(), row) for key, row in zip(keys, rows, strict=True)]


def _state(key: str, row: dict[Any, Any]) -> BreakerState:
    venue, _, host = key.removeprefix(PREFIX).partition(":")
    failures = int(row.get(b"failures", 0))
    opened = row.get(b"opened_at")
    if opened is None:
        return BreakerState(venue, host, CLOSED, failures, None, None)
    opened_at = float(opened)
    retry_at = opened_at + settings.VENUE_BREAKER_COOLDOWN_SECONDS
    state = OPEN if time.time() < retry_at else HALF_OPEN
    return BreakerState(venue, host, state, failures, opened_at, retry_at)
