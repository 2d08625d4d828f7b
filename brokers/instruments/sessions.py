"""Is the market open, which trading day is it, when does it open and close.

Exchange-traded instruments ask pandas_market_calendars (through calendars.py,
cached per calendar and month) so holidays and early closes are the library's
problem. Three calendars need no library:

* forex trades from Sunday 17:00 to Friday 17:00 America/New_York, the
  interbank convention brokers follow; holidays are thin, not closed, so they
  are ignored;
* crypto never closes; its trading day is the UTC date;
* accounts (`ACCOUNT_DAY`): prop firms, the risk monitor and the paper venue's
  daily P&L count days as CME's trade report does, from 17:00 to 17:00
  America/Chicago, a weekend belonging to Monday.

This module's `trading_day` is the one trading-day function of the project.

Every datetime in and out is timezone-aware; results are in UTC. A trading day
is the session a timestamp belongs to: the one in progress, or when the market
is closed the next one to open (CME's day starts at 17:00 America/Chicago the
evening before, so Sunday 18:00 CT is Monday).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .calendars import Session, month_sessions
from .specs import ALWAYS_OPEN_CALENDAR, FOREX_CALENDAR, Instrument

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
FOREX_ROLLOVER = time(17)
# The calendar accounts count their days in (see the module docstring).
ACCOUNT_DAY = "account-day"
# Each calendar without a library: where its day rolls over.
ROLLOVER_ZONES = {FOREX_CALENDAR: NEW_YORK, ACCOUNT_DAY: CHICAGO}
FRIDAY, SATURDAY, SUNDAY = 4, 5, 6
# How far ahead to look for a session before concluding there is none.
MAX_MONTHS_AHEAD = 13


class NoSessionError(ValueError):
    """The market has no session on that day (weekend or holiday)."""


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is naive: pass a timezone-aware datetime")
    return at.astimezone(UTC)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


@dataclass(frozen=True)
class _Window:
    sessions: tuple[Session, ...]
    opens: tuple[datetime, ...]
    closes: tuple[datetime, ...]


@lru_cache(maxsize=1024)
def _window(name: str, year: int, month: int) -> _Window:
    """Sessions around a UTC month, with their opens and closes for bisecting.

    A session that contains an instant of month M has its trade date in M or in
    M+1 (CME opens the evening before); M-1 is included as a margin.
    """
    months = (_previous_month(year, month), (year, month), _next_month(year, month))
    sessions = tuple(s for ym in months for s in month_sessions(name, *ym))
    opens = tuple(s.open for s in sessions)
    return _Window(sessions, opens, tuple(s.close for s in sessions))


def _sessions_from(name: str, at: datetime) -> Iterator[Session]:
    """Sessions in order, starting with the first one that closes after `at`."""
    window = _window(name, at.year, at.month)
    yield from window.sessions[bisect_right(window.closes, at) :]
    year, month = _next_month(at.year, at.month)
    for _ in range(MAX_MONTHS_AHEAD):
        year, month = _next_month(year, month)
        yield from month_sessions(name, year, month)


def _first_session_after(name: str, at: datetime) -> Session:
    for session in _sessions_from(name, at):
        return session
    raise NoSessionError(f"{name} has no session in the year after {at.isoformat()}")


# --- forex -------------------------------------------------------------------


def _forex_is_open(at: datetime) -> bool:
    local = at.astimezone(NEW_YORK)
    weekday, clock = local.weekday(), local.time()
    if weekday == SATURDAY:
        return False
    if weekday == SUNDAY:
        return clock >= FOREX_ROLLOVER
    return weekday != FRIDAY or clock < FOREX_ROLLOVER


def _rollover_day(at: datetime, zone: ZoneInfo) -> date:
    """A day that starts at 17:00 local the evening before; weekends are Monday's."""
    local = at.astimezone(zone)
    day = local.date() + timedelta(days=local.time() >= FOREX_ROLLOVER)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


def _forex_next_open(at: datetime) -> datetime:
    """Next Sunday 17:00 New York strictly after `at`."""
    local = at.astimezone(NEW_YORK)
    sunday = local.date() + timedelta(days=(SUNDAY - local.weekday()) % 7)
    opens = datetime.combine(sunday, FOREX_ROLLOVER, NEW_YORK)
    if opens <= at:
        opens = datetime.combine(sunday + timedelta(days=7), FOREX_ROLLOVER, NEW_YORK)
    return opens.astimezone(UTC)


def _rollover_close(day: date, zone: ZoneInfo) -> datetime:
    if day.weekday() >= SATURDAY:
        raise NoSessionError(f"no session on {day:%A} {day}")
    return datetime.combine(day, FOREX_ROLLOVER, zone).astimezone(UTC)


# --- public API --------------------------------------------------------------


def is_open(instrument: Instrument, at: datetime) -> bool:
    """Whether the market for `instrument` trades at `at` (regular session)."""
    at = _utc(at)
    name = instrument.calendar
    if name == ALWAYS_OPEN_CALENDAR:
        return True
    if name == FOREX_CALENDAR:
        return _forex_is_open(at)
    window = _window(name, at.year, at.month)
    index = bisect_right(window.opens, at) - 1
    return index >= 0 and window.sessions[index].contains(at)


def trading_day(instrument: Instrument | str, at: datetime) -> date:
    """The trade date `at` belongs to: the session in progress, else the next.

    `instrument` may be a calendar's name instead (`ACCOUNT_DAY`).
    """
    at = _utc(at)
    name = instrument if isinstance(instrument, str) else instrument.calendar
    if name == ALWAYS_OPEN_CALENDAR:
        return at.date()
    if name in ROLLOVER_ZONES:
        return _rollover_day(at, ROLLOVER_ZONES[name])
    return _first_session_after(name, at).day


def next_open(instrument: Instrument, at: datetime) -> datetime | None:
    """When the next session starts, strictly after `at`; None if it never closes.

    While a market is open this is the start of the following session; callers
    that want "now or later" check `is_open` first.
    """
    at = _utc(at)
    name = instrument.calendar
    if name == ALWAYS_OPEN_CALENDAR:
        return None
    if name == FOREX_CALENDAR:
        return _forex_next_open(at)
    for session in _sessions_from(name, at):
        if session.open > at:
            return session.open
    raise NoSessionError(f"{name} has no session in the year after {at.isoformat()}")


def session_close(instrument: Instrument | str, day: date) -> datetime:
    """When the session for trade date `day` ends (early closes included).

    Raises NoSessionError for a weekend or holiday. Crypto's day ends at midnight
    UTC. `instrument` may be a calendar's name instead (`ACCOUNT_DAY`).
    """
    name = instrument if isinstance(instrument, str) else instrument.calendar
    if name == ALWAYS_OPEN_CALENDAR:
        return datetime.combine(day + timedelta(days=1), time(0), UTC)
    if name in ROLLOVER_ZONES:
        return _rollover_close(day, ROLLOVER_ZONES[name])
    for session in month_sessions(name, day.year, day.month):
        if session.day == day:
            return session.close
    raise NoSessionError(f"{name} has no session on {day:%A} {day}")
