"""The one place that talks to pandas_market_calendars.

The library knows exchange hours, early closes and holidays, and is maintained;
it is also slow (milliseconds per schedule) and speaks pandas. So it is imported
lazily (a process that only resolves symbols by name never loads pandas), asked
once per (calendar, month), and its answers are turned into plain UTC datetimes
here: no pandas object leaves this module.
"""

from __future__ import annotations

import calendar as std_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any

# CME's clearing calendar: the days that have a settlement. Its holidays are the
# ones that move expiry dates (Thanksgiving, Good Friday, MLK Day...), even on
# days when Globex still trades an abbreviated session.
CME_CLEARING_CALENDAR = "CME_TradeDate"


@dataclass(frozen=True)
class Session:
    """One trading day's session. `day` is the exchange's trade date."""

    day: date
    open: datetime
    close: datetime
    break_start: datetime | None = None
    break_end: datetime | None = None

    def contains(self, at: datetime) -> bool:
        if not self.open <= at < self.close:
            return False
        if self.break_start is None or self.break_end is None:
            return True
        return not self.break_start <= at < self.break_end


@cache
def _library_calendar(name: str) -> Any:
    import pandas_market_calendars as mcal  # type: ignore[import-untyped]

    return mcal.get_calendar(name)


def calendar_names() -> frozenset[str]:
    """Names the installed pandas_market_calendars knows."""
    import pandas_market_calendars as mcal

    return frozenset(mcal.get_calendar_names())


def _to_utc(value: Any) -> datetime | None:
    import pandas as pd  # type: ignore[import-untyped]

    if value is None or pd.isna(value):
        return None
    result: datetime = value.to_pydatetime().astimezone(UTC)
    return result


def _session(day: Any, row: Any) -> Session:
    open_at, close_at = _to_utc(row["market_open"]), _to_utc(row["market_close"])
    if open_at is None or close_at is None:
        raise ValueError(f"calendar row for {day} has no open or close")
    return Session(
        day=day.date(),
        open=open_at,
        close=close_at,
        break_start=_to_utc(row.get("break_start")),
        break_end=_to_utc(row.get("break_end")),
    )


@lru_cache(maxsize=1024)
def month_sessions(name: str, year: int, month: int) -> tuple[Session, ...]:
    """Sessions whose trade date falls in the month, in order. Cached."""
    last = std_calendar.monthrange(year, month)[1]
    frame = _library_calendar(name).schedule(
        start_date=date(year, month, 1).isoformat(),
        end_date=date(year, month, last).isoformat(),
    )
    return tuple(_session(day, row) for day, row in frame.iterrows())


@cache
def cme_holidays() -> frozenset[date]:
    """Full CME clearing holidays (no settlement), for business-day arithmetic."""
    holidays = _library_calendar(CME_CLEARING_CALENDAR).holidays().holidays
    return frozenset(day.astype("datetime64[D]").item() for day in holidays)
