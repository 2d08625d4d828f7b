"""The paper venue's books: fills into positions, round-trip trades, cash and equity.

Invariants (held by property tests):
- cash = initial balance + realized gross P&L - all commissions and fees;
- account realized P&L = the sum of closed trades' net P&L;
- equity = cash + open P&L at the last price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q
from django.utils import timezone

from brokers.adapters.base import Measure
from brokers.instruments.resolve import SymbolError, UnknownSymbol, instrument_of
from brokers.instruments.sessions import ACCOUNT_DAY, trading_day
from brokers.instruments.specs import AssetClass, FutureSpec, Instrument
from brokers.positions import net
from paperbroker.fillmodel import commission
from paperbroker.models import (
    PaperAccount,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperTrade,
    Quote,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
# Margin as a fraction of notional where the catalogue has no per-contract margin.
NOTIONAL_MARGIN = {
    AssetClass.FOREX: Decimal("0.0333"),
    AssetClass.STOCK: Decimal("0.5"),
    AssetClass.CRYPTO: Decimal(1),
    AssetClass.CFD: Decimal("0.05"),  # 1:20, the usual retail leverage on indices
}


def instrument_for(symbol: str) -> Instrument:
    """The catalogue spec for a symbol the venue holds (raises SymbolError)."""
    instrument = instrument_of(symbol)
    if instrument is None:
        raise UnknownSymbol(symbol)
    return instrument


def costs_for(
    account: PaperAccount, instrument: Instrument, quantity: Decimal, price: Decimal
) -> tuple[Decimal, Decimal]:
    """(commission, exchange fees) for one fill."""
    notional = quantity * price * instrument.point_value
    if instrument.asset_class in (AssetClass.FUTURE, AssetClass.FOREX):
        fees = (
            account.fee_per_unit * quantity
            if instrument.asset_class == AssetClass.FUTURE
            else ZERO
        )
        return commission(
            per_unit=account.commission_per_unit,
            bps=ZERO,
            quantity=quantity,
            notional=notional,
        ), fees.quantize(CENT)
    return commission(
        per_unit=ZERO, bps=account.commission_bps, quantity=quantity, notional=notional
    ), ZERO


USD_LIKE = frozenset({"USD", "USDT", "USDC"})


def in_account_currency(
    amount: Decimal, instrument: Instrument, price: Decimal, currency: str
) -> Decimal:
    """An amount in the instrument's currency, converted to the account's.

    USDJPY's P&L is in yen: on a USD account it is divided by the rate itself. Other
    pairs use the last quote of the currency pair when one is known; without one the
    amount is kept as is (and the account is then only as right as its currency).
    """
    quote = instrument.currency
    if quote == currency or {quote, currency} <= USD_LIKE or not amount:
        return amount
    if getattr(instrument, "base", None) == currency and price:
        return amount / price
    for symbol, invert in ((f"{quote}{currency}", False), (f"{currency}{quote}", True)):
        rate = (
            Quote.objects.filter(symbol=symbol, account__isnull=True)
            .values_list("last", flat=True)
            .first()
        )
        if rate:
            return amount / rate if invert else amount * rate
    return amount


def margin_for(instrument: Instrument, quantity: Decimal, price: Decimal) -> Decimal:
    """Margin in the instrument's currency (convert with `in_account_currency`)."""
    if isinstance(instrument, FutureSpec):
        return abs(quantity) * instrument.margin.intraday
    return (
        abs(quantity)
        * price
        * instrument.point_value
        * NOTIONAL_MARGIN.get(instrument.asset_class, Decimal(1))
    )


def fill_apply(
    *,
    order: PaperOrder,
    quantity: Decimal,
    price: Decimal,
    slippage: Decimal,
    at: datetime,
) -> PaperFill:
    """Book one fill: the fill row, the position, any closed round trip, and cash.

    The caller holds the account row locked.
    """
    fill, _ = fill_book(
        order=order, quantity=quantity, price=price, slippage=slippage, at=at
    )
    return fill


def fill_book(
    *,
    order: PaperOrder,
    quantity: Decimal,
    price: Decimal,
    slippage: Decimal,
    at: datetime,
) -> tuple[PaperFill, PaperPosition]:
    """`fill_apply`, returning the position as the fill left it too."""
    account = order.account
    instrument = instrument_for(order.symbol)
    fee_commission, fees = costs_for(account, instrument, quantity, price)
    cost = fee_commission + fees
    fill = PaperFill.objects.create(
        order=order,
        account=account,
        symbol=order.symbol,
        side=order.side,
        quantity=quantity,
        price=price,
        commission=fee_commission,
        fees=fees,
        slippage=slippage,
        filled_at=at,
    )
    position, _ = PaperPosition.objects.select_for_update().get_or_create(
        account=account, symbol=order.symbol
    )
    before_qty, before_avg = position.quantity, position.avg_price
    netted = net(before_qty, before_avg, order.side, quantity, price)
    gross = in_account_currency(
        netted.realized_points * instrument.point_value,
        instrument,
        price,
        account.currency,
    ).quantize(CENT)
    if netted.closed_quantity:
        share = netted.closed_quantity / abs(before_qty)
        entry_costs = (position.entry_costs * share).quantize(CENT)
        exit_costs = (cost * netted.closed_quantity / quantity).quantize(CENT)
        PaperTrade.objects.create(
            account=account,
            symbol=order.symbol,
            direction="long" if before_qty > 0 else "short",
            quantity=netted.closed_quantity,
            entry_price=before_avg or price,
            exit_price=price,
            gross_pnl=gross,
            costs=entry_costs + exit_costs,
            pnl=gross - entry_costs - exit_costs,
            opened_at=position.opened_at or at,
            closed_at=at,
        )
        position.entry_costs -= entry_costs
        account.realized_pnl += gross - entry_costs - exit_costs
        cost_opening = cost - exit_costs
    else:
        cost_opening = cost
    if netted.quantity == 0:
        position.entry_costs, position.opened_at = ZERO, None
    elif before_qty == 0 or (before_qty > 0) != (netted.quantity > 0):
        position.entry_costs, position.opened_at = cost_opening, at
    else:
        position.entry_costs += cost_opening
    position.quantity, position.avg_price, position.updated_at = (
        netted.quantity,
        netted.avg_price,
        at,
    )
    position.save()
    account.cash_balance += gross - cost
    account.commissions_paid += cost
    account.save(update_fields=["cash_balance", "realized_pnl", "commissions_paid"])
    return fill, position


@dataclass(frozen=True)
class PositionState:
    symbol: str
    asset_type: str
    quantity: Decimal
    avg_price: Decimal | None
    market_price: Decimal | None
    unrealized_pnl: Decimal
    multiplier: Decimal
    margin: Decimal


@dataclass(frozen=True)
class AccountState:
    cash: Decimal
    unrealized_pnl: Decimal
    equity: Decimal
    day_pnl: Decimal
    total_pnl: Decimal
    margin_used: Decimal
    buying_power: Decimal
    positions: tuple[PositionState, ...]


def _position_state(
    position: PaperPosition, marks: dict[str, Decimal], currency: str
) -> PositionState:
    try:
        instrument = instrument_for(position.symbol)
        multiplier, asset = instrument.point_value, str(instrument.asset_class)
    except SymbolError:
        instrument, multiplier, asset = None, Decimal(1), "unknown"
    mark = marks.get(position.symbol, position.avg_price)
    unrealized = (
        (mark - position.avg_price) * position.quantity * multiplier
        if mark is not None and position.avg_price is not None
        else ZERO
    )
    margin = (
        margin_for(instrument, position.quantity, mark or ZERO) if instrument else ZERO
    )
    if instrument is not None and mark:
        unrealized = in_account_currency(unrealized, instrument, mark, currency)
        margin = in_account_currency(margin, instrument, mark, currency)
    unrealized = unrealized.quantize(CENT)
    return PositionState(
        position.symbol,
        asset,
        position.quantity,
        position.avg_price,
        mark,
        unrealized,
        multiplier,
        margin.quantize(CENT),
    )


def account_state(
    account: PaperAccount,
    *,
    at: datetime | None = None,
    positions: list[PaperPosition] | None = None,
) -> AccountState:
    """Cash, open P&L, equity, day P&L, margin and buying power, at the last prices.

    `positions`: the account's open positions, when the caller has just read them.
    """
    if positions is None:
        positions = list(
            PaperPosition.objects.filter(account=account).exclude(quantity=0)
        )
    # The account's own (alert) prices first, so the market's price wins where
    # there is one: an alert's price never re-marks what the market prices.
    marks = dict(
        Quote.objects.filter(
            Q(account__isnull=True) | Q(account=account),
            symbol__in=[p.symbol for p in positions],
        )
        .order_by(F("account").asc(nulls_last=True))
        .values_list("symbol", "last")
    )
    states = tuple(_position_state(p, marks, account.currency) for p in positions)
    unrealized = sum((s.unrealized_pnl for s in states), ZERO)
    equity = account.cash_balance + unrealized
    margin = sum((s.margin for s in states), ZERO)
    start = (
        account.day_start_equity
        if account.trading_day == trading_day(ACCOUNT_DAY, at or timezone.now())
        else None
    )
    return AccountState(
        cash=account.cash_balance,
        unrealized_pnl=unrealized,
        equity=equity,
        day_pnl=equity - (start if start is not None else equity),
        total_pnl=equity - account.initial_balance,
        margin_used=margin,
        buying_power=equity - margin,
        positions=states,
    )


def accounts_measure(broker_account_ids: list[int]) -> dict[int, Measure]:
    """`account_state`'s equity for many accounts in three queries (the monitor's
    sweep), keyed by broker account id."""
    papers = list(PaperAccount.objects.filter(broker_account_id__in=broker_account_ids))
    held: dict[int, list[PaperPosition]] = {}
    for position in PaperPosition.objects.filter(account__in=papers).exclude(
        quantity=0
    ):
        held.setdefault(position.account_id, []).append(position)
    symbols = {p.symbol for positions in held.values() for p in positions}
    # Per symbol the market's price, else the account's own alert price.
    prices: dict[tuple[int | None, str], Decimal] = {}
    quotes = Quote.objects.filter(
        Q(account__isnull=True) | Q(account_id__in=list(held)), symbol__in=symbols
    ).values_list("account_id", "symbol", "last")
    for account_id, symbol, last in quotes if symbols else ():
        prices[(account_id, symbol)] = last
    measured = {}
    for paper in papers:
        positions = held.get(paper.pk, [])
        marks = {}
        for p in positions:
            mark = prices.get((None, p.symbol), prices.get((paper.pk, p.symbol)))
            if mark is not None:
                marks[p.symbol] = mark
        unrealized = sum(
            (
                _position_state(p, marks, paper.currency).unrealized_pnl
                for p in positions
            ),
            ZERO,
        )
        measured[paper.broker_account_id] = Measure(
            paper.cash_balance, paper.cash_balance + unrealized, not positions
        )
    return measured


def day_roll(account: PaperAccount, at: datetime) -> None:
    """At the first update of a trading day, remember the equity it started with."""
    today = trading_day(ACCOUNT_DAY, at)
    if account.trading_day != today:
        account.day_start_equity = account_state(account, at=at).equity
        account.trading_day = today
        account.save(update_fields=["day_start_equity", "trading_day"])
