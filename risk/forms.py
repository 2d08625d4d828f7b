"""The risk settings page's forms: a preset picker and every rule of RiskConfig,
each written the way a trader would type it (windows as text, symbols as a list)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import groupby
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.db.models import QuerySet

from brokers.instruments.catalogue import get_instrument
from common.numbers import plain
from risk.config import WEEKDAYS, RiskConfigError, trading_windows_clean
from risk.models import RiskConfig, RiskPreset

NO_LIMIT = "Enter a number above zero, or leave it empty for no limit."


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class PlainDecimalField(forms.DecimalField):
    """Shows 2000.000000 as "2000" and refuses zero and negative limits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.widget.attrs.update(min="0", step="any")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return plain(value)
        return value

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and value <= 0:
            raise forms.ValidationError(NO_LIMIT)


class PositiveIntegerField(forms.IntegerField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and value <= 0:
            raise forms.ValidationError(NO_LIMIT)


class SymbolListField(forms.CharField):
    """Roots written as `MNQ, MES`; each must be in the instrument catalogue."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        roots: list[str] = []
        for root in filter(None, re.split(r"[,\s]+", text.upper())):
            if get_instrument(root) is None:
                raise forms.ValidationError(
                    f"TradeFlow does not know {root!r}: write roots such as MNQ or ES, "
                    "not contract months."
                )
            if root not in roots:
                roots.append(root)
        return roots

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value


class TradingWindowsField(forms.CharField):
    """One line per weekday: `mon 08:30-15:00, 18:00-24:00` (or `mon-fri ...`).

    Stored as {"mon": [["08:30", "15:00"]]}, checked by the risk service's one
    validation of windows (`risk.config.trading_windows_clean`).
    """

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value: Any) -> dict[str, list[list[str]]]:  # type: ignore[override]
        text = super().to_python(value) or ""
        windows: dict[str, list[list[str]]] = {}
        for line in filter(None, (raw.strip() for raw in text.splitlines())):
            days, _, spans = line.partition(" ")
            for day in _days(days.lower()):
                if day in windows:
                    raise forms.ValidationError(f"{day} is listed twice.")
                windows[day] = [_span(span) for span in _spans(line, spans)]
        try:
            return trading_windows_clean(windows)
        except RiskConfigError as exc:
            raise forms.ValidationError(exc.message) from None

    def prepare_value(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return "\n".join(
            f"{day} " + ", ".join(f"{start}-{end}" for start, end in value[day])
            for day in WEEKDAYS
            if day in value
        )


def _days(text: str) -> list[str]:
    """`mon` or a range `mon-fri`."""
    first, dash, last = text.partition("-")
    if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
        raise forms.ValidationError(
            f"Start each line with a weekday (mon, tue… or mon-fri), not {text!r}."
        )
    if not dash:
        return [first]
    start, end = WEEKDAYS.index(first), WEEKDAYS.index(last)
    if end < start:
        raise forms.ValidationError(f"{text}: the range runs backwards.")
    return list(WEEKDAYS[start : end + 1])


def _spans(line: str, text: str) -> list[str]:
    spans = [span.strip() for span in text.split(",") if span.strip()]
    if not spans:
        raise forms.ValidationError(f"{line!r} has no times: write 08:30-15:00.")
    return spans


def _span(text: str) -> list[str]:
    start, dash, end = (part.strip() for part in text.partition("-"))
    if not dash:
        raise forms.ValidationError(f"Write each window as 08:30-15:00, not {text!r}.")
    return [start, end]


# What each rule does, in the trader's words; shown next to its input.
EXPLANATIONS = {
    "starting_balance": "The balance the evaluation started from. The profit "
    "target counts from it and the trailing floor stops at it.",
    "profit_target": "Profit above the starting balance that passes the evaluation.",
    "stop_at_profit_target": "Once the balance reaches the target, refuse new "
    "positions (exits still go through).",
    "consistency_percent": "Your best day may be at most this share of your total "
    "profit (Topstep: 50%). Shown as progress; it never blocks an order.",
    "minimum_days": "Trading days the firm requires before a payout or a pass. "
    "Shown as progress; it never blocks an order.",
    "daily_loss_limit": "How much today's P&L (closed and open) may lose. TradeFlow "
    "acts a little before the limit, so the flattening's slippage fits.",
    "daily_loss_action": "What happens when the daily loss limit is reached. Days "
    "end at 17:00 Chicago time.",
    "max_loss_limit": "The trailing drawdown. The floor sits this far below the "
    "highest balance; touching it flattens the account and makes it close-only.",
    "max_loss_mode": "End-of-day: the floor trails your end-of-day balance and "
    "moves only when a session closes. Intraday: it follows your equity's high, "
    "open profit included.",
    "trail_stops_at_start": "The floor stops trailing once it reaches your starting "
    "balance (most firms' rule).",
    "max_risk_per_trade": "What one trade may lose if its stop is hit: stop "
    "distance x tick value x quantity. Needs a stop loss in the alert.",
    "risk_action": "When an order risks more than that: refuse it, or cut its "
    "quantity down to what fits.",
    "max_contracts": "All open contracts across symbols, working orders included, "
    "in full-size contracts.",
    "micros_per_contract": "How many micros count as one full-size contract toward "
    "that maximum (Topstep: 10 MNQ = 1 NQ).",
    "max_order_quantity": "The largest single order.",
    "max_position_per_symbol": "The largest position in any one symbol.",
    "max_trades_per_day": "Entries per session; exits are never counted or refused.",
    "allowed_symbols": "Roots this account may trade, e.g. MNQ, MES. Empty: any "
    "symbol.",
    "allowed_sides": "Refuse entries in the other direction.",
    "timezone": "The time zone of the windows and the flatten time below "
    "(e.g. America/Chicago, America/New_York, Europe/London).",
    "trading_windows": "When new positions may open, one line per weekday: "
    "'mon 08:30-15:00, 18:00-24:00' or 'mon-fri 08:30-15:00'. A day not "
    "listed has no trading. Empty: any time.",
    "exits_outside_window": "Let exits through outside the windows, so a position "
    "is never trapped.",
    "flatten_at": "Close every position at this time each day (before the firm's "
    "own cut-off, e.g. 15:55 Chicago).",
    "news_blackout_minutes": "No new positions this many minutes before and after a "
    "scheduled release (FOMC, CPI, NFP…).",
    "news_min_impact": "Which releases count.",
    "news_flatten_before": "Also close open positions before such a release.",
    "cooldown_losses": "After this many losing trades in a row…",
    "cooldown_minutes": "…no new positions for this many minutes.",
}

SECTIONS = (
    (
        "Account and target",
        [
            "starting_balance",
            "profit_target",
            "stop_at_profit_target",
            "consistency_percent",
            "minimum_days",
        ],
    ),
    (
        "Losses",
        [
            "daily_loss_limit",
            "daily_loss_action",
            "max_loss_limit",
            "max_loss_mode",
            "trail_stops_at_start",
            "max_risk_per_trade",
            "risk_action",
        ],
    ),
    (
        "Size",
        [
            "max_contracts",
            "micros_per_contract",
            "max_order_quantity",
            "max_position_per_symbol",
            "max_trades_per_day",
        ],
    ),
    (
        "What and when",
        [
            "allowed_symbols",
            "allowed_sides",
            "timezone",
            "trading_windows",
            "exits_outside_window",
            "flatten_at",
        ],
    ),
    (
        "News and losing streaks",
        [
            "news_blackout_minutes",
            "news_min_impact",
            "news_flatten_before",
            "cooldown_losses",
            "cooldown_minutes",
        ],
    ),
)

MONEY = ["starting_balance", "profit_target", "daily_loss_limit", "max_loss_limit"]
COUNTS = [
    "minimum_days",
    "micros_per_contract",
    "max_trades_per_day",
    "news_blackout_minutes",
    "cooldown_losses",
    "cooldown_minutes",
]


class RiskConfigForm(forms.ModelForm):
    """Every rule of the account; `read_only` shows them to a viewer, disabled."""

    allowed_symbols = SymbolListField(
        required=False, max_length=500, help_text=EXPLANATIONS["allowed_symbols"]
    )
    trading_windows = TradingWindowsField(
        required=False, max_length=2000, help_text=EXPLANATIONS["trading_windows"]
    )

    class Meta:
        model = RiskConfig
        fields = [name for _, names in SECTIONS for name in names]
        field_classes = {
            **dict.fromkeys(
                [*MONEY, "max_risk_per_trade", "consistency_percent"],
                PlainDecimalField,
            ),
            **dict.fromkeys(
                ["max_contracts", "max_order_quantity", "max_position_per_symbol"],
                PlainDecimalField,
            ),
            **dict.fromkeys(COUNTS, PositiveIntegerField),
        }
        labels = {
            "consistency_percent": "Consistency (%)",
            "minimum_days": "Minimum trading days",
            "max_loss_limit": "Maximum loss (trailing)",
            "max_loss_mode": "The floor trails",
            "trail_stops_at_start": "Floor stops at the starting balance",
            "stop_at_profit_target": "Stop at the profit target",
            "micros_per_contract": "Micros per contract",
            "max_position_per_symbol": "Max position per symbol",
            "risk_action": "Too much risk",
            "allowed_sides": "Sides",
            "timezone": "Time zone",
            "exits_outside_window": "Exits outside the windows",
            "flatten_at": "Flatten every day at",
            "news_blackout_minutes": "News blackout (minutes)",
            "news_min_impact": "News that counts",
            "news_flatten_before": "Flatten before news",
            "cooldown_losses": "Cooldown after losses",
            "cooldown_minutes": "Cooldown (minutes)",
        }
        help_texts = EXPLANATIONS
        widgets = {"flatten_at": forms.TimeInput(attrs={"type": "time"})}

    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["allowed_symbols"].widget.attrs["placeholder"] = "MNQ, MES"
        self.fields["trading_windows"].widget.attrs["placeholder"] = (
            "mon-fri 08:30-15:00"
        )
        self.fields["timezone"].widget.attrs["list"] = "timezones"
        for field in self.fields.values():
            field.disabled = read_only

    def clean_consistency_percent(self) -> Decimal | None:
        percent: Decimal | None = self.cleaned_data["consistency_percent"]
        if percent is not None and percent > 100:
            raise forms.ValidationError("A share of your profit: at most 100%.")
        return percent

    def clean_timezone(self) -> str:
        zone: str = self.cleaned_data["timezone"].strip()
        if zone not in _zones():
            raise forms.ValidationError(
                f"{zone!r} is not a time zone: use a name such as America/Chicago."
            )
        return zone

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        losses, minutes = data.get("cooldown_losses"), data.get("cooldown_minutes")
        failed = self.has_error("cooldown_losses") or self.has_error("cooldown_minutes")
        if (losses is None) != (minutes is None) and not failed:
            self.add_error(
                "cooldown_minutes" if minutes is None else "cooldown_losses",
                "A cooldown needs both: how many losses, and for how many minutes.",
            )
        stops = data.get("max_loss_limit") and data.get("trail_stops_at_start")
        unknown = data.get("starting_balance") is None
        unknown = unknown and not self.has_error("starting_balance")
        if (data.get("profit_target") or stops) and unknown:
            self.add_error(
                "starting_balance",
                "The profit target and a floor that stops at the start count from "
                "here: enter the balance the account started with.",
            )
        return data

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in SECTIONS]


# --- Presets -------------------------------------------------------------------------


@dataclass(frozen=True)
class PresetChoice:
    """One row of the picker: the preset and its headline rules."""

    preset: RiskPreset
    name: str
    summary: str


def preset_name(preset: RiskPreset) -> str:
    """ "Topstep Trading Combine 50K"."""
    size = preset.size
    if size is None:
        shown = ""
    elif size % 1000 == 0:
        shown = f" {size / 1000:.0f}K"
    else:
        shown = f" {size:,.0f}"
    return f"{preset.firm} {preset.program}{shown}".strip()


def _summary(rules: dict[str, Any]) -> str:
    parts = []
    for key, label in (
        ("daily_loss_limit", "daily loss"),
        ("max_loss_limit", "max loss"),
        ("profit_target", "target"),
    ):
        if rules.get(key) is not None:
            parts.append(f"{label} {Decimal(str(rules[key])):,.0f}")
    if rules.get("max_contracts") is not None:
        parts.append(f"{Decimal(str(rules['max_contracts'])):,.0f} contracts")
    return " · ".join(parts)


class PresetPickerForm(forms.Form):
    """A firm's preset (its values replace the form's), or Custom: keep them."""

    preset = forms.ModelChoiceField(
        queryset=RiskPreset.objects.none(),
        to_field_name="key",
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        presets: QuerySet[RiskPreset],
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["preset"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = presets
        field.disabled = read_only
        self.presets = list(presets)

    def groups(self) -> list[tuple[str, list[PresetChoice]]]:
        """Presets by firm, as the picker lists them."""
        choices = [
            PresetChoice(p, preset_name(p), _summary(p.rules)) for p in self.presets
        ]
        return [
            (firm, list(rows))
            for firm, rows in groupby(choices, key=lambda c: c.preset.firm)
        ]

    def chosen_key(self) -> str:
        value = self["preset"].value()
        return "" if value is None else str(value)
