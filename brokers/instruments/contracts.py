"""Futures contract months, expiry dates and the roll.

A root (ES) has a cycle of contract months (HMUZ); each contract (ESZ25) has a
last trading day computed from a named rule, and a roll date on which the
continuous symbol (ES1!) moves on to the next contract. Rules follow CME's
contract specifications.

Business days are weekdays that are not CME clearing holidays, taken from the
calendar library's "CME_TradeDate" calendar (it lists them, so there is no
reason to approximate). All roots here clear at CME, so one calendar serves all.
"""

from __future__ import annotations

import calendar as std_calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from .calendars import cme_holidays
from .catalogue import MONTH_CODES, future_spec
from .specs import ExpiryRule, FutureSpec, RollRule

ONE_DAY = timedelta(days=1)
FRIDAY, WEDNESDAY = 4, 2


def month_code(month: int) -> str:
    return MONTH_CODES[month - 1]


def month_of(code: str) -> int:
    return MONTH_CODES.index(code.upper()) + 1


@dataclass(frozen=True, order=True)
class Contract:
    """One contract month of a root, e.g. MNQ December 2025."""

    root: str
    year: int
    month: int

    @property
    def code(self) -> str:
        """The exchange-style symbol with a 2-digit year: "MNQZ25"."""
        return f"{self.root}{month_code(self.month)}{self.year % 100:02d}"

    @property
    def spec(self) -> FutureSpec:
        return future_spec(self.root)

    @property
    def expiry(self) -> date:
        return expiry_date(self.spec.expiry_rule, self.year, self.month)

    @property
    def roll_date(self) -> date:
        """First day on which the continuous symbol means the next contract."""
        spec = self.spec
        return roll_date(spec.roll, spec.expiry_rule, self.year, self.month)


# --- business days -----------------------------------------------------------


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in cme_holidays()


def business_days_before(day: date, count: int) -> date:
    """The `count`-th business day strictly before `day`."""
    while count:
        day -= ONE_DAY
        count -= is_business_day(day)
    return day


def last_business_day(year: int, month: int) -> date:
    day = date(year, month, std_calendar.monthrange(year, month)[1])
    return day if is_business_day(day) else business_days_before(day, 1)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (nth - 1))


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


# --- expiry rules ------------------------------------------------------------


def _third_friday(year: int, month: int) -> date:
    day = _nth_weekday(year, month, FRIDAY, 3)
    # A holiday Friday (Good Friday) moves the expiry to the business day before.
    return day if is_business_day(day) else business_days_before(day, 1)


def _fx_imm(year: int, month: int) -> date:
    return business_days_before(_nth_weekday(year, month, WEDNESDAY, 3), 2)


def _crude(year: int, month: int) -> date:
    # "3 business days before the 25th of the prior month; 4 if the 25th is not a
    # business day": both are 3 business days before the last one on or before it.
    prior_year, prior_month = _month_before(year, month)
    the_25th = date(prior_year, prior_month, 25)
    return business_days_before(the_25th, 3 if is_business_day(the_25th) else 4)


def _crude_micro(year: int, month: int) -> date:
    # Micro WTI is cash-settled against CL and stops trading one business day
    # before it.
    return business_days_before(_crude(year, month), 1)


def _natgas(year: int, month: int) -> date:
    return business_days_before(date(year, month, 1), 3)


def _metals(year: int, month: int) -> date:
    return business_days_before(last_business_day(year, month), 2)


def _treasury(year: int, month: int) -> date:
    return business_days_before(last_business_day(year, month), 7)


_EXPIRY_RULES = {
    ExpiryRule.THIRD_FRIDAY: _third_friday,
    ExpiryRule.FX_IMM: _fx_imm,
    ExpiryRule.CRUDE: _crude,
    ExpiryRule.CRUDE_MICRO: _crude_micro,
    ExpiryRule.NATGAS: _natgas,
    ExpiryRule.METALS: _metals,
    ExpiryRule.TREASURY: _treasury,
    ExpiryRule.LAST_BUSINESS_DAY: last_business_day,
}


@lru_cache(maxsize=4096)
def expiry_date(rule: ExpiryRule, year: int, month: int) -> date:
    """Last trading day of the contract for `month`/`year` under `rule`."""
    return _EXPIRY_RULES[rule](year, month)


@lru_cache(maxsize=4096)
def roll_date(rule: RollRule, expiry: ExpiryRule, year: int, month: int) -> date:
    """The day the continuous symbol moves to the next contract.

    `month_before` rolls on the last business day of the month before the
    contract month: first notice day for physically delivered contracts, after
    which a long may be handed the metal or the bond.
    """
    if rule.days_before_expiry is not None:
        days = timedelta(days=rule.days_before_expiry)
        return expiry_date(expiry, year, month) - days
    return last_business_day(*_month_before(year, month))


# --- walking the cycle -------------------------------------------------------


def next_contract(contract: Contract) -> Contract:
    """The next contract month in the root's cycle."""
    months = [month_of(code) for code in future_spec(contract.root).months]
    later = [month for month in months if month > contract.month]
    if later:
        return Contract(contract.root, contract.year, later[0])
    return Contract(contract.root, contract.year + 1, months[0])


def front_contract(root: str, on: date, index: int = 1) -> Contract:
    """The contract `ROOT{index}!` means on `on`: 1 is the front, 2 the next...

    The front is the first contract whose roll date is after `on`. Every rule
    expires on or before the end of its contract month, so the search can start
    with the contract month `on` is in.
    """
    if index < 1:
        raise ValueError("continuous contract index starts at 1")
    # The contract after "the month before `on`" is the first one from `on`'s month.
    contract = next_contract(Contract(root, *_month_before(on.year, on.month)))
    while contract.roll_date <= on:
        contract = next_contract(contract)
    for _ in range(index - 1):
        contract = next_contract(contract)
    return contract
