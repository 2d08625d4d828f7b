"""The one clock the code reads, set by a test.

Code reads the time through `django.utils.timezone.now()` (and `time.time()` for
Redis windows); `time-machine` moves both, and `datetime.now`, for the whole
process. A test that names a date takes the `clock` fixture, so that it means
the same thing whatever day the suite runs on. `time.monotonic()` (timeouts,
waits) keeps running.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

CHICAGO = ZoneInfo("America/Chicago")
# Where a frozen test starts: a Tuesday, noon in Chicago, CME, forex and crypto
# all open, no holiday near.
DEFAULT_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=CHICAGO)
# Seconds a run's processes add to the real time (`shifted`, `testkit.travelling`).
CLOCK_OFFSET_ENV = "TRADEFLOW_TEST_CLOCK_OFFSET"


class Clock:
    """The frozen time of one test: read it, set it, move it on."""

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller

    def now(self) -> datetime:
        return datetime.now(UTC)

    def set(self, at: datetime) -> datetime:
        """Jump to `at` (timezone-aware); returns it."""
        if at.tzinfo is None:
            raise ValueError(f"{at!r} is naive: give the clock a time zone")
        self._traveller.move_to(at)
        return at

    def advance(self, **delta: float) -> datetime:
        """Move on by `timedelta(**delta)`; returns the new now."""
        self._traveller.shift(timedelta(**delta))
        return self.now()


@contextmanager
def frozen(at: datetime = DEFAULT_NOW) -> Iterator[Clock]:
    """Freeze the process's clock at `at` for the block."""
    with time_machine.travel(at, tick=False) as traveller:
        yield Clock(traveller)


def offset_to(at: datetime = DEFAULT_NOW) -> float:
    """The seconds to add to the real time for the clock to read `at` now."""
    return at.timestamp() - time.time()


@contextmanager
def shifted(offset: float) -> Iterator[Clock]:
    """The process's clock `offset` seconds from the real time, ticking: what a
    test shares with the processes it starts under `testkit.travelling`."""
    with time_machine.travel(time.time() + offset, tick=True) as traveller:
        yield Clock(traveller)
