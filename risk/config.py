"""An account's risk rules as the trader edits them on the risk page."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.conf import settings

from brokers.models import BrokerAccount
from risk.models import RiskConfig, RiskState
from risk.presets import preset_values


class RiskConfigError(Exception):
    """Rules refused before they are saved; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
DAY_MINUTES = 24 * 60


def clock_minutes(text: str) -> int:
    """Minutes after midnight of a window's clock time "HH:MM" ("24:00" ends the
    day; ":00" seconds are allowed). Raises ValueError."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError(text)
    minutes = int(match[1]) * 60 + int(match[2])
    if int(match[2]) > 59 or minutes > DAY_MINUTES:
        raise ValueError(text)
    return minutes


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02}:{minutes % 60:02}"


def trading_windows_clean(raw: object) -> dict[str, list[list[str]]]:
    """Trading windows as the engine keeps them: {"mon": [["08:30", "15:00"]]},
    weekdays in order, clock times as "HH:MM" from 00:00 to 24:00, each window
    starting before it ends (one across midnight is written as two), none
    overlapping another. The one validation of windows, whoever sends them.

    Raises RiskConfigError("invalid-windows") with a sentence saying what is wrong.
    """
    if not isinstance(raw, dict):
        raise _windows_error('Send the windows as {"mon": [["08:30", "15:00"]]}.')
    cleaned: dict[str, list[list[str]]] = {}
    for day, spans in raw.items():
        if day not in WEEKDAYS:
            raise _windows_error(f"{str(day)[:10]!r} is not a weekday: mon … sun.")
        if not isinstance(spans, list):
            raise _windows_error(f"{day}: send a list of [start, end] pairs.")
        minutes = sorted(_span_minutes(day, span) for span in spans)
        for (_, end), (start, _) in pairwise(minutes):
            if start < end:
                raise _windows_error(f"{day}: two windows overlap.")
        cleaned[day] = [[_clock_text(a), _clock_text(b)] for a, b in minutes]
    return {day: cleaned[day] for day in WEEKDAYS if day in cleaned}


def _span_minutes(day: str, span: object) -> tuple[int, int]:
    if not (isinstance(span, list) and len(span) == 2):
        raise _windows_error(f'{day}: write each window as ["08:30", "15:00"].')
    try:
        start, end = (clock_minutes(str(part)) for part in span)
    except ValueError as exc:
        raise _windows_error(
            f"{day}: {str(exc)[:12]!r} is not a time (HH:MM)."
        ) from None
    if end <= start:
        raise _windows_error(
            f"{day} {span[0]}-{span[1]} ends before it starts: split a window across "
            "midnight in two, e.g. mon 18:00-24:00 and tue 00:00-02:00."
        )
    return start, end


def _windows_error(sentence: str) -> RiskConfigError:
    return RiskConfigError("invalid-windows", sentence)


def risk_config_update(*, account: BrokerAccount, values: dict[str, Any]) -> RiskConfig:
    """Write the trader's rules: RiskConfig field values, validated by the caller.

    Creates the config on the first save. `values` may name the preset the rules
    came from (None once the trader chose Custom); fields it leaves out keep
    their values. The next measurement moves the floor to the new limits.
    Raises RiskConfigError when the rules would end a never-measured account at
    its first measurement, or for trading windows that are not windows.
    """
    if "trading_windows" in values:
        values = {
            **values,
            "trading_windows": trading_windows_clean(values["trading_windows"]),
        }
    current = RiskConfig.objects.filter(account=account).first()
    merged = {
        name: values.get(name, getattr(current, name, None))
        for name in ("max_loss_limit", "starting_balance")
    }
    problem = opening_breach(account=account, values=merged)
    if problem:
        raise RiskConfigError("opening-breach", problem)
    config, _ = RiskConfig.objects.update_or_create(account=account, defaults=values)
    return config


def preset_adjustments(config: RiskConfig) -> list[str]:
    """The fields the trader changed from the config's preset."""
    if config.preset is None:
        return []
    values = preset_values(config.preset.rules, config.preset.size)
    return [name for name, value in values.items() if getattr(config, name) != value]


def opening_breach(*, account: BrokerAccount, values: dict[str, Any]) -> str:
    """Why the first measurement under `values` would end the account at once, or "".

    A never-measured account whose equity already sits at (or within the monitor's
    buffer of) the floor these rules start with would be flattened and made
    close-only within seconds: a 25K account given a 50K preset, say.
    """
    if RiskState.objects.filter(account=account, trading_day__isnull=False).exists():
        return ""  # measured before: the floor has a history of its own
    limit, start = values.get("max_loss_limit"), values.get("starting_balance")
    equity = account.equity if account.equity is not None else account.balance
    if limit is None or start is None or equity is None:
        return ""
    floor = start - limit
    buffer = limit * Decimal(settings.RISK_FLATTEN_BUFFER_PERCENT) / 100
    if equity > floor + buffer:
        return ""
    return (
        f"The account holds {equity:,.2f}: a {start:,.2f} start with a {limit:,.2f} "
        f"maximum loss puts the floor at {floor:,.2f}, so the first measurement "
        "would flatten the account and make it close-only. Set the starting "
        "balance to the account's, or pick the preset for its size."
    )
