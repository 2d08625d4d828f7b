"""Pre-trade checks. `risk` judges orders whatever their source."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.instruments.resolve import instrument_of
from brokers.instruments.specs import FutureSpec, Instrument
from brokers.models import BrokerAccount, Order, Position
from brokers.positions import signed
from brokers.services import account_flatten
from common.numbers import plain
from risk.calendar import calendar_parse
from risk.config import WEEKDAYS, clock_minutes, risk_config_update
from risk.models import EconomicEvent, RiskConfig, RiskPreset, RiskState
from risk.presets import preset_values

log = logging.getLogger(__name__)

ZERO = Decimal(0)


@dataclass(frozen=True)
class RiskDecision:
    allowed: bool
    rule: str = ""
    detail: str = ""
    numbers: dict[str, str] = field(default_factory=dict)
    quantity: Decimal | None = None  # allowed, resized down to this quantity

    @property
    def code(self) -> str:
        return f"risk:{self.rule}" if self.rule else ""


ALLOW = RiskDecision(True)


def risk_check(
    *,
    account: BrokerAccount,
    symbol: str,
    side: str,
    quantity: Decimal,
    price: Decimal | None = None,
    stop_loss: Decimal | None = None,
    current: Decimal | None = None,
    positions: dict[str, Decimal] | None = None,
    instrument: Instrument | None = None,
    at: datetime | None = None,
) -> RiskDecision:
    """Judge one order against the account's rules and its risk state.

    The caller must hold the account row locked (select_for_update) so that two
    orders for one account are judged one after the other. Exits (orders that
    only reduce a position) are always allowed: a rule never traps a trader in a
    position. `price` and `stop_loss` let the risk of the trade be measured;
    `current` is the position the order starts from when an earlier leg of the
    same signal (a flip's exit) is not filled yet; `positions`, the account's
    positions as the venue reported them (else our last sync), let what open
    positions risk to their stops count against the budget. `instrument` is the
    symbol's, as intake resolved it (else looked up from the symbol).
    """
    if current is None:
        current = (
            Position.objects.filter(account=account, symbol=symbol)
            .values_list("quantity", flat=True)
            .first()
            or ZERO
        )
    after = current + signed(side, quantity)
    reduces = abs(after) < abs(current) and (after == 0 or (after > 0) == (current > 0))
    now = at or timezone.now()
    config = RiskConfig.objects.filter(account=account).first()
    if reduces:
        if config is not None and not config.exits_outside_window:
            return _window(config, now)
        return ALLOW
    state = RiskState.objects.filter(account=account).first() if config else None
    locks = account_locks(account=account, config=config, state=state, at=now)
    if locks:
        return locks[0]
    if config is None:
        return ALLOW
    order = _Order(
        symbol,
        side,
        quantity,
        current,
        after,
        price,
        stop_loss,
        now,
        positions,
        instrument or instrument_of(symbol),
    )
    for check in CHECKS:
        decision = check(config, state, account, order)
        if not decision.allowed or decision.quantity is not None:
            return decision
    return ALLOW


@dataclass(frozen=True)
class _Order:
    symbol: str
    side: str
    quantity: Decimal
    current: Decimal
    after: Decimal
    price: Decimal | None
    stop_loss: Decimal | None
    at: datetime
    positions: dict[str, Decimal] | None = None
    instrument: Instrument | None = None


Check = Callable[[RiskConfig, "RiskState | None", BrokerAccount, _Order], RiskDecision]


def _refuse(rule: str, detail: str, **numbers: object) -> RiskDecision:
    return RiskDecision(False, rule, detail, {k: str(v) for k, v in numbers.items()})


def account_locks(
    *,
    account: BrokerAccount,
    config: RiskConfig | None,
    state: RiskState | None,
    at: datetime,
) -> list[RiskDecision]:
    """Everything that stops new positions on the account at `at`, as the
    refusals the pre-trade check gives, the most binding first. The risk page
    shows the same list. Exits are never locked (the check lets them through
    before it asks)."""
    locks = []
    if not account.enabled:
        locks.append(_refuse("account-disabled", "Disabled: no orders are sent."))
    if account.status == BrokerAccount.Status.CLOSE_ONLY:
        locks.append(
            _refuse("close-only", "The account is close-only: only exits are accepted.")
        )
    if config is None:
        return locks
    locks += [d for d in (_window(config, at), _news(config, at)) if not d.allowed]
    if state is not None:
        locks += _state_locks(config, state, at)
    return locks


def _state_locks(
    config: RiskConfig, state: RiskState, at: datetime
) -> list[RiskDecision]:
    locks = []
    if state.cooldown_until and state.cooldown_until > at:
        locks.append(
            _refuse(
                "cooldown",
                f"{config.cooldown_losses} losing trades in a row: no new positions "
                f"until {state.cooldown_until:%H:%M} UTC.",
                cooldown_until=state.cooldown_until.isoformat(),
            )
        )
    if state.locked_until and state.locked_until > at:
        locks.append(
            _refuse(
                "daily-loss-lock",
                "The daily loss limit was hit: no new positions until the session "
                f"ends ({state.locked_until:%Y-%m-%d %H:%M} UTC).",
                locked_until=state.locked_until.isoformat(),
            )
        )
    if config.stop_at_profit_target and state.target_reached_at:
        locks.append(
            _refuse(
                "profit-target",
                "The profit target is reached and the account stops trading there.",
            )
        )
    limit = config.max_trades_per_day
    if limit is not None and state.trades_today >= limit:
        locks.append(
            _refuse(
                "max-trades",
                f"{state.trades_today} trades today: the limit is {limit}.",
                trades_today=state.trades_today,
                limit=limit,
            )
        )
    return locks


def _budget(
    config: RiskConfig, state: RiskState | None, account: BrokerAccount, o: _Order
) -> RiskDecision:
    """Daily loss, the drawdown floor, and what this trade risks against them."""
    if state is None or state.equity is None:
        return ALLOW
    remaining: list[Decimal] = []
    if config.daily_loss_limit is not None and state.day_start_balance is not None:
        day_pnl = state.equity - state.day_start_balance
        left = config.daily_loss_limit + day_pnl
        if left <= 0:
            return _refuse(
                "daily-loss",
                f"Today's P&L is {day_pnl:.2f}: the daily loss limit of "
                f"{config.daily_loss_limit:.2f} is used up.",
                day_pnl=day_pnl,
                limit=config.daily_loss_limit,
            )
        remaining.append(left)
    if state.floor is not None:
        left = state.equity - state.floor
        if left <= 0:
            return _refuse(
                "max-loss",
                f"Equity {state.equity:.2f} is at or below the drawdown floor "
                f"{state.floor:.2f}.",
                equity=state.equity,
                floor=state.floor,
            )
        remaining.append(left)
    risk = _trade_risk(o)
    if risk is None:
        return ALLOW
    if config.max_risk_per_trade is not None and risk > config.max_risk_per_trade:
        if config.risk_action == "resize":
            return _resized(
                config, o, risk, min([config.max_risk_per_trade, *remaining])
            )
        return _refuse(
            "max-risk-per-trade",
            f"This trade risks {risk:.2f} to its stop; the limit is "
            f"{config.max_risk_per_trade:.2f}.",
            risk=risk,
            limit=config.max_risk_per_trade,
        )
    if not remaining:
        return ALLOW
    # What the open positions would still lose if their stops were hit: their
    # open profit, and the distance from their entries to their stops.
    at_stops = stops_at_risk(account, o)
    if at_stops:
        opened = state.equity - (account.balance or state.equity)
        at_stops += max(opened, ZERO)
    left = min(remaining) - at_stops
    if risk >= left:
        return _refuse(
            "risk-to-breach",
            f"Stopped out, this trade would lose {risk:.2f}: more than the "
            f"{max(left, ZERO):.2f} left before a limit"
            + (
                f" once the open positions' stops ({at_stops:.2f}) are hit."
                if at_stops
                else "."
            ),
            risk=risk,
            remaining=min(remaining),
            open_positions_at_stops=at_stops,
        )
    return ALLOW


def stops_at_risk(account: BrokerAccount, o: _Order) -> Decimal:
    """What the account's open positions lose from their entries to their stops.

    A position's stop is the bracket sent with the orders that opened it: the
    newest filled entries in its direction, as many as make up the position. A
    part opened without a stop is not measurable here (the live monitor guards
    it) and counts nothing.
    """
    held = (
        dict(o.positions)
        if o.positions is not None
        else dict(
            Position.objects.filter(account=account).values_list("symbol", "quantity")
        )
    )
    held[o.symbol] = o.current
    held = {symbol: qty for symbol, qty in held.items() if qty}
    if not held:
        return ZERO
    entries = Order.objects.filter(
        account=account,
        symbol__in=held,
        filled_quantity__gt=0,
        avg_fill_price__isnull=False,
    ).order_by("-filled_at", "-pk")
    uncovered = {symbol: abs(qty) for symbol, qty in held.items()}
    total = ZERO
    for symbol, side, filled, avg, stop in entries.values_list(
        "symbol", "side", "filled_quantity", "avg_fill_price", "stop_loss"
    )[:200]:
        direction = Decimal(1) if held[symbol] > 0 else Decimal(-1)
        if uncovered[symbol] <= 0 or signed(side, Decimal(1)) != direction:
            continue
        part = min(filled, uncovered[symbol])
        uncovered[symbol] -= part
        instrument = instrument_of(symbol)
        if stop is not None and avg is not None and instrument is not None:
            total += max((avg - stop) * direction, ZERO) * instrument.point_value * part
        if not any(uncovered.values()):
            break
    return total


def _resized(
    config: RiskConfig, o: _Order, risk: Decimal, budget: Decimal
) -> RiskDecision:
    """The largest whole quantity whose stop-out stays under `budget`."""
    per_unit = risk / o.quantity
    instrument = o.instrument
    step = Decimal(1) if instrument is None else instrument.quantity_step
    fits = (budget / per_unit / step).to_integral_value(ROUND_DOWN) * step
    if fits <= 0:
        return _refuse(
            "max-risk-per-trade",
            f"Even one unit risks {per_unit:.2f} to its stop; the limit is "
            f"{budget:.2f}.",
            risk_per_unit=per_unit,
            limit=budget,
        )
    return RiskDecision(
        True,
        "max-risk-per-trade",
        f"Resized from {plain(o.quantity)} to {plain(fits)} so the stop "
        f"risks at most {budget:.2f}.",
        {"from": str(o.quantity), "to": str(fits)},
        quantity=fits,
    )


def _window(config: RiskConfig, at: datetime) -> RiskDecision:
    """Inside one of today's trading windows, in the trader's time zone."""
    if not config.trading_windows:
        return ALLOW
    local = at.astimezone(ZoneInfo(config.timezone))
    spans = config.trading_windows.get(WEEKDAYS[local.weekday()], [])
    clock = local.strftime("%H:%M")
    now = local.hour * 60 + local.minute
    if any(clock_minutes(a) <= now < clock_minutes(b) for a, b in spans):
        return ALLOW
    shown = ", ".join(f"{a}-{b}" for a, b in spans) or "no trading"
    return _refuse(
        "outside-window",
        f"It is {clock} {config.timezone}; today's window: {shown}.",
        local_time=clock,
    )


IMPACTS = {
    "high": ("high",),
    "medium": ("high", "medium"),
    "low": ("high", "medium", "low"),
}


def _news(config: RiskConfig, at: datetime) -> RiskDecision:
    minutes = config.news_blackout_minutes
    if not minutes:
        return ALLOW
    span = timedelta(minutes=minutes)
    event = news_event(config, at - span, at + span)
    if event is None:
        return ALLOW
    return _refuse(
        "news-blackout",
        f"{event.name} at {event.at:%H:%M} UTC: no new positions {minutes} minutes "
        "either side.",
        event=event.name,
        event_at=event.at.isoformat(),
    )


def news_event(
    config: RiskConfig, start: datetime, end: datetime
) -> EconomicEvent | None:
    """The first event between `start` and `end` of the impact the config heeds."""
    return (
        EconomicEvent.objects.filter(
            at__gte=start, at__lte=end, impact__in=IMPACTS[config.news_min_impact]
        )
        .order_by("at")
        .first()
    )


def _trade_risk(o: _Order) -> Decimal | None:
    """Stop distance x point value x quantity, in the instrument's currency."""
    if o.price is None or o.stop_loss is None:
        return None
    instrument = o.instrument
    if instrument is None:
        return None
    return abs(o.price - o.stop_loss) * instrument.point_value * o.quantity


def _allowed(
    config: RiskConfig, state: RiskState | None, account: BrokerAccount, o: _Order
) -> RiskDecision:
    sides = config.allowed_sides
    if sides != "both" and (o.after > 0) != (sides == "long"):
        return _refuse("side-not-allowed", f"This account trades {sides} only.")
    if config.allowed_symbols:
        instrument = o.instrument
        root = instrument.symbol if instrument else o.symbol
        if root not in config.allowed_symbols:
            return _refuse(
                "symbol-not-allowed",
                f"{root} is not among this account's symbols: "
                + ", ".join(config.allowed_symbols)
                + ".",
            )
    return ALLOW


def _max_order(
    config: RiskConfig, state: RiskState | None, account: BrokerAccount, o: _Order
) -> RiskDecision:
    limit = config.max_order_quantity
    if limit is not None and o.quantity > limit:
        return _refuse(
            "max-order-quantity",
            f"The order of {plain(o.quantity)} exceeds the per-order limit of "
            f"{plain(limit)}.",
            quantity=o.quantity,
            limit=limit,
        )
    return ALLOW


def _max_symbol(
    config: RiskConfig, state: RiskState | None, account: BrokerAccount, o: _Order
) -> RiskDecision:
    limit = config.max_position_per_symbol
    if limit is not None and abs(o.after) > limit:
        return _refuse(
            "max-position",
            f"The position in {o.symbol} would be {plain(abs(o.after))}, "
            f"over the limit of {plain(limit)}.",
            position_after=o.after,
            limit=limit,
        )
    return ALLOW


def _max_contracts(
    config: RiskConfig, state: RiskState | None, account: BrokerAccount, o: _Order
) -> RiskDecision:
    """Open contracts across symbols plus orders still working, micros counted
    by the preset's ratio (10 MNQ = 1 NQ-sized contract on Topstep)."""
    limit = config.max_contracts
    if limit is None:
        return ALLOW
    total = contracts_open(config, account, {o.symbol: o.after}, held=o.positions)
    if total > limit:
        return _refuse(
            "max-contracts",
            f"The account would hold {plain(total)} contracts (with working "
            f"orders), over the limit of {plain(limit)}.",
            contracts_after=total,
            limit=limit,
        )
    return ALLOW


def contracts_open(
    config: RiskConfig,
    account: BrokerAccount,
    override: dict[str, Decimal] | None = None,
    *,
    held: dict[str, Decimal] | None = None,
) -> Decimal:
    """Open contracts across symbols (`held`: the positions the venue reported,
    else our last sync; `override`: positions as they would be), orders resting
    at the venue counted as if filled in the worse direction, micros weighted by
    the config's ratio."""
    held = dict(
        held
        if held is not None
        else Position.objects.filter(account=account).values_list("symbol", "quantity")
    )
    held.update(override or {})
    buys: dict[str, Decimal] = {}
    sells: dict[str, Decimal] = {}
    for sym, side, qty, filled in Order.objects.filter(
        account=account, status=Order.Status.WORKING
    ).values_list("symbol", "side", "quantity", "filled_quantity"):
        book = buys if side == "buy" else sells
        book[sym] = book.get(sym, ZERO) + qty - filled
    total = ZERO
    for sym in set(held) | set(buys) | set(sells):
        position = held.get(sym, ZERO)
        worst = max(
            abs(position + buys.get(sym, ZERO)), abs(position - sells.get(sym, ZERO))
        )
        total += _weight(config, sym, worst)
    return total


def _weight(config: RiskConfig, symbol: str, quantity: Decimal) -> Decimal:
    instrument = instrument_of(symbol)
    if isinstance(instrument, FutureSpec) and instrument.is_micro:
        return quantity / config.micros_per_contract
    return quantity


CHECKS: tuple[Check, ...] = (
    _allowed,
    _max_order,
    _max_symbol,
    _max_contracts,
    _budget,
)


def risk_entry_counted(*, account: BrokerAccount) -> None:
    """One more trade today (an entry order was accepted)."""
    RiskState.objects.filter(account=account).update(trades_today=F("trades_today") + 1)


# --- Kill switch ----------------------------------------------------------------------


@dataclass(frozen=True)
class StopReport:
    accounts: int
    orders_cancelled: int
    positions_closed: int
    strategies_stopped: int
    errors: list[dict[str, str]] = field(default_factory=list)


def account_emergency_close(
    *, account: BrokerAccount, close_only: bool = True
) -> StopReport:
    """Flatten the account (working orders cancelled, positions closed at market)
    and, by default, make it close-only, so no alert opens a position until the
    trader resumes it.

    Idempotent: on a flat account with nothing working it only confirms close-only.
    """
    if close_only:
        BrokerAccount.objects.filter(pk=account.pk).update(
            status=BrokerAccount.Status.CLOSE_ONLY
        )
        account.status = BrokerAccount.Status.CLOSE_ONLY
    try:
        done = account_flatten(account=account)
    except VenueError as exc:
        log.error("emergency close of account %s failed: %s", account.pk, exc)
        error = {"account_id": str(account.pk), "code": exc.code, "detail": exc.message}
        return StopReport(1, 0, 0, 0, [error])
    log.warning(
        "account %s closed in an emergency: %s orders cancelled, %s positions closed",
        account.pk,
        done.orders_cancelled,
        done.positions_closed,
    )
    return StopReport(1, done.orders_cancelled, done.positions_closed, 0)


def trading_resume(*, account: BrokerAccount) -> bool:
    """Lift close-only from an account (strategies stay stopped until restarted)."""
    return bool(
        BrokerAccount.objects.filter(
            pk=account.pk, status=BrokerAccount.Status.CLOSE_ONLY
        ).update(status=BrokerAccount.Status.ACTIVE)
    )


def risk_config_apply_preset(
    *, account: BrokerAccount, preset: RiskPreset
) -> RiskConfig:
    """Copy a preset's rules into the account's config (the trader may adjust).

    Raises RiskConfigError when the preset is larger than the account holds (its
    first measurement would flatten it and make it close-only)."""
    values = preset_values(preset.rules, preset.size)
    return risk_config_update(account=account, values={"preset": preset, **values})


def economic_calendar_import(*, text: str) -> tuple[int, int]:
    """Add or update events from an iCalendar file; returns (created, updated)."""
    created = updated = 0
    for event in calendar_parse(text):
        _, made = EconomicEvent.objects.update_or_create(
            uid=event.uid[:200],
            defaults={
                "name": event.name,
                "at": event.at,
                "impact": event.impact,
                "currency": event.currency,
            },
        )
        created += made
        updated += not made
    return created, updated
