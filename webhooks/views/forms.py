from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from accounts.scoping import AnyUser
from brokers.instruments.catalogue import get_instrument
from brokers.models import BrokerAccount
from brokers.symbols import symbol_overrides_checked, venue_symbols_checked
from common.numbers import plain
from webhooks.intake import builder
from webhooks.models import Signal, Strategy, Subscription

CURRENCIES = [
    ("USD", "USD"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("CHF", "CHF"),
    ("JPY", "JPY"),
    ("AUD", "AUD"),
    ("CAD", "CAD"),
]


class PaperAccountForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        required=False,
        help_text='Leave it empty for "Paper 50K" (by its balance).',
    )
    initial_balance = forms.DecimalField(
        min_value=Decimal("1"),
        max_digits=14,
        decimal_places=2,
        initial=Decimal("50000"),
    )
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")


# --- Strategies ----------------------------------------------------------------------


class StrategyForm(forms.Form):
    name = forms.CharField(
        max_length=64,
        help_text='Alerts may name it as "botname"; it cannot be changed later.',
    )
    description = forms.CharField(max_length=255, required=False)
    manual_approval = forms.BooleanField(
        required=False,
        help_text="Each signal waits on the dashboard until you approve or reject it.",
    )
    heartbeat_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=60 * 24 * 31,
        help_text="Warn me when no alert arrives for this many minutes.",
    )


class StrategySettingsForm(forms.Form):
    status = forms.ChoiceField(choices=Strategy.Status.choices)
    description = forms.CharField(max_length=255, required=False)
    manual_approval = forms.BooleanField(required=False)
    heartbeat_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=60 * 24 * 31
    )


def _tradable_targets(pairs: dict[str, str]) -> dict[str, str]:
    """A strategy's root map: upper case, each target an instrument we know."""
    mapping = {}
    for source, target in pairs.items():
        if get_instrument(target) is None:
            raise ValueError(f"TradeFlow does not know {target.upper()!r}.")
        mapping[source.upper()] = target.upper()
    return mapping


class SymbolMapField(forms.CharField):
    """A symbol map written as `NQ=MNQ, ES=MES`. `check` turns the pairs as
    written into the map to keep, or raises ValueError with a sentence; by
    default each target must be tradable (a strategy's root map)."""

    def __init__(
        self,
        *,
        check: Callable[[dict[str, str]], dict[str, str]] = _tradable_targets,
        shape: str = "ROOT=ROOT",
        example: str = "NQ=MNQ",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check, self.shape, self.example = check, shape, example
        self.widget.attrs.setdefault("placeholder", example)

    def to_python(self, value: Any) -> dict[str, str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        pairs: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in text.split(","))):
            source, equals, target = (part.strip() for part in pair.partition("="))
            if not (equals and source and target):
                raise forms.ValidationError(
                    f"Write each mapping as {self.shape}, e.g. {self.example} "
                    f"(not {pair!r})."
                )
            pairs[source] = target
        try:
            return self.check(pairs)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items())
        return value


class SymbolMapsForm(forms.Form):
    """An account's two maps (`brokers.symbols` checks them)."""

    symbol_overrides = SymbolMapField(
        label="Trade instead",
        required=False,
        max_length=500,
        check=symbol_overrides_checked,
        example="NQ=MNQ, ES=MES",
        help_text="An alert on the left-hand instrument trades the right-hand one "
        "on this account: NQ=MNQ turns NQ1! into MNQ1!.",
    )
    venue_symbols = SymbolMapField(
        label="The broker's names",
        required=False,
        max_length=500,
        check=venue_symbols_checked,
        shape="SYMBOL=NAME",
        example="XAUUSD=GOLD",
        help_text="What this broker calls an instrument when TradeFlow cannot find "
        "it by its own name or a usual alias (TradeLocker: XAUUSD=GOLD).",
    )

    def __init__(self, *args: Any, venue: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if venue:
            self.fields["venue_symbols"].label = f"{venue}'s names"
        for field in self.fields.values():
            field.widget.attrs.update(
                autocapitalize="characters", autocomplete="off", spellcheck="false"
            )


def _plain(value: Decimal | None) -> str:
    """10.0000 as "10" (not "1E+1", which a number input refuses)."""
    return "" if value is None else plain(value)


class SubscriptionForm(forms.Form):
    """One account's overrides; `form_id` ties a table row's inputs to its form."""

    enabled = forms.BooleanField(required=False, initial=True)
    multiplier = forms.DecimalField(
        min_value=Decimal("0.0001"), max_digits=10, decimal_places=4, initial=1
    )
    max_quantity = forms.DecimalField(
        required=False, min_value=Decimal("0.00000001"), max_digits=20, decimal_places=8
    )
    allowed_sides = forms.ChoiceField(
        choices=Subscription.Sides.choices, initial=Subscription.Sides.BOTH
    )
    symbol_map = SymbolMapField(required=False, max_length=500)

    def __init__(self, *args: Any, form_id: str = "", **kwargs: Any) -> None:
        if form_id:
            kwargs.setdefault("auto_id", f"{form_id}-%s")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if form_id:
                field.widget.attrs["form"] = form_id
        self.fields["symbol_map"].widget.attrs["placeholder"] = "NQ=MNQ, ES=MES"

    @classmethod
    def for_subscription(cls, subscription: Subscription) -> SubscriptionForm:
        return cls(
            initial={
                "enabled": subscription.enabled,
                "multiplier": _plain(subscription.multiplier),
                "max_quantity": _plain(subscription.max_quantity),
                "allowed_sides": subscription.allowed_sides,
                "symbol_map": subscription.symbol_map,
            },
            form_id=f"sub-{subscription.pk}",
        )


class SubscriptionAddForm(SubscriptionForm):
    account = forms.ModelChoiceField(queryset=BrokerAccount.objects.none())

    def __init__(
        self, *args: Any, accounts: QuerySet[BrokerAccount], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = accounts
        self.order_fields(["account"])


# --- Alert builder -------------------------------------------------------------------


def _distance(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0.00000001"),
        max_digits=20,
        decimal_places=8,
    )


class AlertBuilderForm(forms.Form):
    """The builder's options; a GET form, so every choice is a shareable URL."""

    action = forms.ChoiceField(
        choices=builder.ACTIONS,
        help_text="The strategy's order: {{strategy.order.action}}, buy or sell.",
    )
    symbol_mode = forms.ChoiceField(
        label="Symbol",
        choices=builder.SYMBOL_MODES,
        help_text="The chart's: {{ticker}}.",
    )
    symbol = forms.CharField(label="Fixed symbol", required=False, max_length=32)
    quantity_mode = forms.ChoiceField(
        label="Quantity",
        choices=builder.QUANTITY_MODES,
        help_text="The strategy's order: {{strategy.order.contracts}}.",
    )
    quantity = forms.DecimalField(
        label="Fixed quantity",
        required=False,
        min_value=Decimal("0.00000001"),
        max_digits=20,
    )
    quantity_type = forms.ChoiceField(
        label="Quantity means",
        choices=builder.QUANTITY_TYPES,
        help_text="Risk sizing needs a stop loss; % of the position sizes exits, "
        "reverses and adds.",
    )
    order_type = forms.ChoiceField(label="Order type", choices=builder.ORDER_TYPES)
    stop_loss = _distance("Stop loss")
    take_profit = _distance("Take profit")
    offset_unit = forms.ChoiceField(
        label="Stop loss / take profit in", choices=builder.UNITS
    )
    sentiment = forms.BooleanField(
        label="Send the strategy's position (strategy alerts)", required=False
    )
    include_price = forms.BooleanField(
        label='Send the price ("{{close}}")', required=False
    )
    include_time = forms.BooleanField(
        label='Send the time ("{{timenow}}"): stale alerts are refused', required=False
    )
    include_id = forms.BooleanField(
        label='Send an "id": a repeated alert is dropped', required=False
    )

    DEFAULTS = {
        "action": "buy",
        "symbol_mode": "ticker",
        "quantity_mode": "fixed",
        "quantity": "1",
        "quantity_type": "fixed",
        "order_type": "market",
        "offset_unit": "ticks",
        "include_price": "on",
        "include_time": "on",
    }

    @classmethod
    def from_query(cls, query: QueryDict) -> AlertBuilderForm:
        """Bound to the query string; choices it leaves out take their defaults
        (ticked boxes only when nothing was submitted: unticked sends nothing)."""
        if not query:
            return cls(cls.DEFAULTS)
        choices = {k: v for k, v in cls.DEFAULTS.items() if v != "on"}
        return cls({**choices, **query.dict()})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("quantity_mode") == "fixed" and not cleaned.get("quantity"):
            self.add_error("quantity", "Enter the quantity to send.")
        if not self.errors:
            for problem in builder.alert_problems(self.options()):
                self.add_error(None, problem)
        return cleaned

    def options(self) -> builder.AlertOptions:
        data = self.cleaned_data
        return builder.AlertOptions(
            action=data["action"],
            symbol_mode=data["symbol_mode"],
            symbol=data.get("symbol", "").strip().upper(),
            quantity_mode=data["quantity_mode"],
            quantity=data.get("quantity") or Decimal(1),
            quantity_type=data["quantity_type"],
            order_type=data["order_type"],
            stop_loss=data.get("stop_loss"),
            take_profit=data.get("take_profit"),
            offset_unit=data["offset_unit"],
            sentiment=data.get("sentiment", False),
            include_price=data.get("include_price", False),
            include_time=data.get("include_time", False),
            include_id=data.get("include_id", False),
        )


# --- Signal log ----------------------------------------------------------------------


class SignalFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Signal.Status.choices], required=False
    )
    error_code = forms.CharField(label="Code", required=False, max_length=64)
    strategy = forms.ModelChoiceField(
        queryset=Strategy.objects.none(), required=False, empty_label="Any strategy"
    )
    account = forms.ModelChoiceField(
        queryset=BrokerAccount.objects.none(), required=False, empty_label="Any account"
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        strategy, account = self.fields["strategy"], self.fields["account"]
        assert isinstance(strategy, forms.ModelChoiceField)
        assert isinstance(account, forms.ModelChoiceField)
        strategy.queryset = Strategy.objects.for_user(user)
        account.queryset = BrokerAccount.objects.for_user(user).order_by("name")
