"""The paper venue's writes: accounts, prices, and orders through their life.

Orders are placed once per client order id, checked (size, ticks, session, buying
power), then evaluated against the book now and on every later price until they
fill, are cancelled or expire. Per account, work is serialised by locking the
account row.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from brokers.adapters.base import OrderRequest, VenueError
from brokers.instruments.resolve import SymbolError, resolve
from brokers.instruments.sessions import ACCOUNT_DAY, is_open, next_open, trading_day
from brokers.instruments.specs import AssetClass, Instrument
from brokers.models import BrokerAccount, OrderType
from brokers.services import order_record_venue
from common.numbers import plain
from paperbroker.accounting import (
    account_state,
    day_roll,
    fill_book,
    in_account_currency,
    instrument_for,
    margin_for,
)
from paperbroker.fillmodel import (
    Book,
    Slippage,
    book_from_last,
    limit_fill_price,
    market_price,
    on_tick,
    stop_touched,
    trail_anchor,
    trail_stop_level,
)
from paperbroker.models import (
    PaperAccount,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperTrade,
    Quote,
    TimeInForce,
)
from paperbroker.reports import order_report

ZERO = Decimal(0)
WORKING = PaperOrder.Status.WORKING
PRICED = {OrderType.LIMIT, OrderType.STOP_LIMIT}
STOPPED = {OrderType.STOP, OrderType.STOP_LIMIT}


# --- Accounts -------------------------------------------------------------------------


def paper_account_open(
    *, broker_account: BrokerAccount, initial_balance: Decimal, currency: str
) -> PaperAccount:
    if initial_balance <= 0:
        raise VenueError(
            "invalid-balance", "The initial balance must be greater than zero."
        )
    account, _ = PaperAccount.objects.get_or_create(
        broker_account=broker_account,
        defaults={
            "initial_balance": initial_balance,
            "cash_balance": initial_balance,
            "currency": currency.upper(),
        },
    )
    return account


@transaction.atomic
def paper_account_reset(*, account: PaperAccount) -> PaperAccount:
    """Back to the start: no orders, fills, positions or trades; initial cash."""
    account = PaperAccount.objects.select_for_update().get(pk=account.pk)
    for model in (PaperFill, PaperTrade, PaperPosition, PaperOrder):
        model.objects.filter(account=account).delete()
    account.cash_balance, account.realized_pnl, account.commissions_paid = (
        account.initial_balance,
        Decimal(0),
        Decimal(0),
    )
    account.trading_day, account.day_start_equity, account.reset_at = (
        None,
        None,
        timezone.now(),
    )
    account.save()
    return account


# --- Prices ---------------------------------------------------------------------------


def quote_record(
    *,
    symbol: str,
    last: Decimal,
    source: str,
    bid: Decimal | None = None,
    ask: Decimal | None = None,
    account: PaperAccount | None = None,
) -> Quote:
    """Record a price: global, or for one account only (an alert's own price)."""
    quote, _ = Quote.objects.update_or_create(
        symbol=symbol,
        account=account,
        defaults={
            "last": last,
            "bid": bid,
            "ask": ask,
            "source": source,
            "updated_at": timezone.now(),
        },
    )
    return quote


def quote_for(symbol: str, account: PaperAccount | None = None) -> Quote | None:
    """The price an account trades and is marked at: the market's (feed, broker,
    admin) when there is one; else the account's own last alert price."""
    seen = Q(account__isnull=True) | Q(account=account) if account else Q(account=None)
    # Global rows first (NULL sorts last in a descending order on PostgreSQL and
    # first ascending on SQLite: say it explicitly).
    return (
        Quote.objects.filter(seen, symbol=symbol)
        .order_by(F("account").asc(nulls_first=True))
        .first()
    )


def last_price(symbol: str, account: PaperAccount | None = None) -> Decimal | None:
    quote = quote_for(symbol, account)
    return None if quote is None else quote.last


def book_for(symbol: str, instrument: Instrument, account: PaperAccount) -> Book | None:
    quote = quote_for(symbol, account)
    spread_ticks = account.spread_ticks
    if quote is None:
        return None
    if quote.bid is not None and quote.ask is not None and quote.bid < quote.ask:
        return Book(bid=quote.bid, ask=quote.ask, last=quote.last)
    return book_from_last(quote.last, instrument.tick_size, spread_ticks)


def price_update(
    *,
    symbol: str,
    last: Decimal,
    source: str,
    bid: Decimal | None = None,
    ask: Decimal | None = None,
) -> list[PaperOrder]:
    """Record a price, then evaluate every working order on the symbol against it."""
    quote_record(symbol=symbol, last=last, source=source, bid=bid, ask=ask)
    return orders_evaluate(symbol=symbol)


# --- Placing --------------------------------------------------------------------------


def _reject(order: PaperOrder, code: str, message: str) -> PaperOrder:
    message = message if message.endswith(".") else f"{message}."
    order.status, order.reject_reason = (
        PaperOrder.Status.REJECTED,
        f"{code}: {message}"[:255],
    )
    order.save()
    return order


def _default_tif(request: OrderRequest) -> str:
    if request.time_in_force:
        return request.time_in_force.upper()
    return (
        TimeInForce.IOC if request.order_type == OrderType.MARKET else TimeInForce.DAY
    )


def _validation_error(
    request: OrderRequest, instrument: Instrument, tif: str
) -> tuple[str, str] | None:
    if request.quantity <= 0:
        return "invalid-size", "The quantity must be greater than zero."
    if (
        instrument.asset_class == AssetClass.FUTURE
        and request.quantity != request.quantity.to_integral_value()
    ):
        return "invalid-size", "Futures trade in whole contracts."
    if tif not in TimeInForce.values:
        return (
            "invalid-tif",
            f"Unknown time in force {tif!r}: use DAY, GTC, IOC or FOK.",
        )
    if request.order_type in PRICED and request.limit_price is None:
        return "invalid-price", "A limit order needs a limit price."
    if request.order_type in STOPPED and request.stop_price is None:
        return "invalid-price", "A stop order needs a stop price."
    if request.order_type == OrderType.TRAILING_STOP and not (
        request.trail_distance and request.trail_distance > 0
    ):
        return "invalid-price", "A trailing stop needs a trail distance above zero."
    for name in (
        "limit_price",
        "stop_price",
        "stop_loss",
        "take_profit",
        "trail_distance",
    ):
        price = getattr(request, name)
        if price is not None and (
            price <= 0 or not on_tick(price, instrument.tick_size)
        ):
            return (
                "invalid-price",
                f"The {name.replace('_', ' ')} {plain(price)} is not a positive "
                f"multiple of the tick {plain(instrument.tick_size)}.",
            )
    return None


def _bracket_error(
    request: OrderRequest, reference: Decimal | None
) -> tuple[str, str] | None:
    entry = request.limit_price or request.stop_price or reference
    if entry is None:
        return None
    below, above = (
        (request.stop_loss, request.take_profit)
        if request.side == "buy"
        else (request.take_profit, request.stop_loss)
    )
    if (below is not None and below >= entry) or (above is not None and above <= entry):
        return (
            "invalid-bracket",
            "The stop loss and take profit must sit on either side of the entry price.",
        )
    return None


def paper_order_place(
    *, account: PaperAccount, request: OrderRequest, at: datetime | None = None
) -> PaperOrder:
    """Place an order once per client order id; a repeat returns the first order.

    The simulated venue latency (`execution_delay_ms`) passes before the account is
    locked, so a slow venue never holds up prices, cancels or flattens.
    """
    if account.execution_delay_ms and request.order_type == OrderType.MARKET:
        time.sleep(account.execution_delay_ms / 1000)
    return _place(account=account, request=request, at=at)


@transaction.atomic
def _place(
    *, account: PaperAccount, request: OrderRequest, at: datetime | None
) -> PaperOrder:
    now = at or timezone.now()
    account = PaperAccount.objects.select_for_update().get(pk=account.pk)
    existing = PaperOrder.objects.filter(
        account=account, client_order_id=request.client_order_id
    ).first()
    if existing is not None:
        return existing
    tif = _default_tif(request)
    order = PaperOrder(
        account=account,
        client_order_id=request.client_order_id,
        symbol=request.symbol.upper(),
        side=request.side,
        order_type=request.order_type,
        time_in_force=tif,
        quantity=request.quantity,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        trail_distance=request.trail_distance,
        stop_loss=request.stop_loss,
        take_profit=request.take_profit,
        status=WORKING,
        strategy=request.strategy[:120],
        comment=request.comment[:255],
        created_at=now,
    )
    instrument = request.instrument
    if instrument is None:  # a caller that did not resolve the symbol
        try:
            resolved = resolve(order.symbol)
        except SymbolError as exc:
            return _reject(order, "unknown-symbol", str(exc))
        # Books are kept per concrete contract: "ES" and "ES1!" both trade ESZ26.
        order.symbol, instrument = resolved.symbol, resolved.instrument
    problem = _validation_error(request, instrument, tif) or _bracket_error(
        request, request.reference_price or last_price(order.symbol, account)
    )
    if problem:
        return _reject(order, *problem)
    if request.reference_price is not None and request.reference_price > 0:
        # The alert's price is a hint: it prices this order, and marks the
        # account, only where the market has no price of its own (a stale
        # `price 4750` once re-marked an ES long held at 6000).
        _alert_quote_record(order.symbol, request.reference_price, account)
    trading = is_open(instrument, now)
    holdable = tif == TimeInForce.GTC and order.order_type != OrderType.MARKET
    if not holdable and not trading:
        opens = next_open(instrument, now)
        when = f"; it opens {opens:%Y-%m-%d %H:%M} UTC" if opens else ""
        return _reject(
            order,
            "market-closed",
            f"{order.symbol} is closed now{when}. Use GTC to hold the order.",
        )
    # One read of the book serves the margin check and the fill.
    book = book_for(order.symbol, instrument, account) if trading else None
    last = None if book is None else book.last
    # Held orders are margined now too: they may fill the moment the session opens.
    problem = _buying_power_error(account, instrument, order, now, last=last)
    if problem is not None:
        return _reject(order, *problem)
    order.trading_day = (
        trading_day(ACCOUNT_DAY, now) if tif == TimeInForce.DAY else None
    )
    order.save()
    if trading:
        _evaluate(order, instrument, now, placing=True, book=book)
    return order


def _alert_quote_record(symbol: str, last: Decimal, account: PaperAccount) -> None:
    """`quote_record` of an alert's price, in one UPDATE once the row exists."""
    updated = Quote.objects.filter(symbol=symbol, account=account).update(
        last=last,
        bid=None,
        ask=None,
        source=Quote.Source.ALERT,
        updated_at=timezone.now(),
    )
    if not updated:
        quote_record(
            symbol=symbol, last=last, source=Quote.Source.ALERT, account=account
        )


def _buying_power_error(
    account: PaperAccount,
    instrument: Instrument,
    order: PaperOrder,
    now: datetime,
    *,
    last: Decimal | None = None,
) -> tuple[str, str] | None:
    """Refuse orders that add exposure beyond what the equity can margin.

    `last`: the symbol's last price, when the caller has just read it.
    """
    positions = list(PaperPosition.objects.filter(account=account).exclude(quantity=0))
    held = next((p.quantity for p in positions if p.symbol == order.symbol), ZERO)
    delta = order.quantity if order.side == "buy" else -order.quantity
    added = abs(held + delta) - abs(held)
    if added <= 0:
        return None
    price = (
        order.limit_price
        or order.stop_price
        or last
        or last_price(order.symbol, account)
        or ZERO
    )
    needed = in_account_currency(
        margin_for(instrument, added, price), instrument, price, account.currency
    )
    available = account_state(account, at=now, positions=positions).buying_power
    if needed > available:
        return (
            "insufficient-buying-power",
            f"The order needs {needed:.2f} {account.currency} of margin; "
            f"{available:.2f} is available.",
        )
    return None


# --- Evaluating -----------------------------------------------------------------------


def orders_evaluate(*, symbol: str, at: datetime | None = None) -> list[PaperOrder]:
    """Evaluate every working order on `symbol` (all accounts) against the book."""
    now = at or timezone.now()
    changed = []
    ids = list(
        PaperOrder.objects.filter(symbol=symbol, status=WORKING)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    accounts = dict(
        PaperOrder.objects.filter(pk__in=ids).values_list("pk", "account_id")
    )
    for order_id in ids:
        with transaction.atomic():
            # Lock the account first, then re-read the order: a cancel or a fill
            # that committed while we waited must be seen, never overwritten.
            account = PaperAccount.objects.select_for_update().get(
                pk=accounts[order_id]
            )
            order = PaperOrder.objects.filter(pk=order_id, status=WORKING).first()
            if order is None:
                continue
            order.account = account
            try:
                instrument = instrument_for(order.symbol)
            except SymbolError:  # the contract expired while the order waited
                order.status = PaperOrder.Status.EXPIRED
                order.save(update_fields=["status", "updated_at"])
                changed.append(order)
                continue
            if _evaluate(order, instrument, now):
                changed.append(order)
    return changed


def _evaluate(
    order: PaperOrder,
    instrument: Instrument,
    now: datetime,
    placing: bool = False,
    book: Book | None = None,
) -> bool:
    """Fill, trigger, expire or cancel one working order; True when it changed.

    `placing`: the order is new, and `book` is the book its placing read.
    """
    if order.trading_day and trading_day(ACCOUNT_DAY, now) > order.trading_day:
        order.status = PaperOrder.Status.EXPIRED
        order.save(update_fields=["status", "updated_at"])
        return True
    if not is_open(instrument, now):
        return False
    if not placing:
        book = book_for(order.symbol, instrument, order.account)
    if book is None:
        if order.order_type == OrderType.MARKET:
            _reject(
                order,
                "no-price",
                f"No price is known for {order.symbol}; send the price in the alert.",
            )
            return True
        return False
    fill = _fill_price(order, instrument, book)
    if fill is not None:
        price, slip = fill
        day_roll(order.account, now)
        _fill(order, price, slip, now)
        return True
    if placing and order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        order.status, order.reject_reason = (
            PaperOrder.Status.CANCELLED,
            "not-marketable: the price was not available at once.",
        )
        order.save(update_fields=["status", "reject_reason", "updated_at"])
        return True
    return False


def _fill_price(
    order: PaperOrder, instrument: Instrument, book: Book
) -> tuple[Decimal, Decimal] | None:
    tick, account = instrument.tick_size, order.account
    slippage = Slippage(account.slippage_ticks, account.slippage_per_size)
    if order.order_type == OrderType.TRAILING_STOP and not order.triggered:
        assert order.trail_distance is not None
        order.trail_anchor = trail_anchor(order.side, order.trail_anchor, book.last)
        order.stop_price = trail_stop_level(
            order.side, order.trail_anchor, order.trail_distance
        )
        order.save(update_fields=["trail_anchor", "stop_price", "updated_at"])
    if order.order_type in STOPPED | {OrderType.TRAILING_STOP} and not order.triggered:
        assert order.stop_price is not None
        if not stop_touched(order.side, order.stop_price, book.last):
            return None
        order.triggered = True
        order.save(update_fields=["triggered", "updated_at"])
    if order.order_type in (OrderType.MARKET, OrderType.STOP, OrderType.TRAILING_STOP):
        return market_price(order.side, book, tick, order.quantity, slippage)
    assert order.limit_price is not None
    price = limit_fill_price(order.side, order.limit_price, book)
    return None if price is None else (price, Decimal(0))


def _fill(order: PaperOrder, price: Decimal, slippage: Decimal, now: datetime) -> None:
    _, position = fill_book(
        order=order, quantity=order.quantity, price=price, slippage=slippage, at=now
    )
    order.status, order.filled_quantity, order.avg_fill_price, order.filled_at = (
        PaperOrder.Status.FILLED,
        order.quantity,
        price,
        now,
    )
    order.save()
    if order.parent_id:  # one side of an OCO bracket filled: the other goes
        PaperOrder.objects.filter(parent_id=order.parent_id, status=WORKING).exclude(
            pk=order.pk
        ).update(status=PaperOrder.Status.CANCELLED)
        _bracket_exit_record(order)
    elif order.stop_loss or order.take_profit:
        _bracket_open(order, now)
    if position.quantity == 0:  # flat: no protective order may reopen it
        PaperOrder.objects.filter(
            account=order.account,
            symbol=order.symbol,
            status=WORKING,
            parent__isnull=False,
        ).update(status=PaperOrder.Status.CANCELLED)


def _bracket_exit_record(leg: PaperOrder) -> None:
    """A bracket's stop loss or take profit is the venue's own order: no Order of
    ours stands for it, and no execution asks after it. Its fill goes into our
    books here, in the fill's transaction (so never lost), once: by its venue
    fill id, as every paper fill is reported."""
    order_record_venue(
        account=leg.account.broker_account,
        report=order_report(leg),
        side=leg.side,
        order_type=leg.order_type,
    )


def _bracket_open(entry: PaperOrder, now: datetime) -> None:
    exit_side = "sell" if entry.side == "buy" else "buy"
    legs = [
        ("sl", OrderType.STOP, {"stop_price": entry.stop_loss}),
        ("tp", OrderType.LIMIT, {"limit_price": entry.take_profit}),
    ]
    for leg, kind, prices in legs:
        if next(iter(prices.values())) is None:
            continue
        PaperOrder.objects.create(
            account=entry.account,
            client_order_id=f"{entry.client_order_id}-{leg}"[:64],
            symbol=entry.symbol,
            side=exit_side,
            order_type=kind,
            time_in_force=TimeInForce.GTC,
            quantity=entry.quantity,
            parent=entry,
            status=WORKING,
            strategy=entry.strategy,
            created_at=now,
            **prices,
        )


# --- Changing -------------------------------------------------------------------------


@transaction.atomic
def paper_order_cancel(*, account: PaperAccount, order_id: int) -> PaperOrder:
    PaperAccount.objects.select_for_update().filter(pk=account.pk).first()
    order = PaperOrder.objects.filter(account=account, pk=order_id).first()
    if order is None:
        raise VenueError("order-not-found", f"Order {order_id} does not exist.")
    if order.status != WORKING:
        raise VenueError(
            "order-not-working",
            f"Order {order_id} is {order.status}: "
            "only working orders can be cancelled.",
        )
    order.status = PaperOrder.Status.CANCELLED
    order.save(update_fields=["status", "updated_at"])
    return order


@transaction.atomic
def paper_order_modify(
    *,
    account: PaperAccount,
    order_id: int,
    quantity: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> PaperOrder:
    """Change a working order's size or prices, checked as a new order would be."""
    PaperAccount.objects.select_for_update().filter(pk=account.pk).first()
    order = PaperOrder.objects.filter(
        account=account, pk=order_id, status=WORKING
    ).first()
    if order is None:
        raise VenueError(
            "order-not-working", f"Order {order_id} is not a working order."
        )
    request = OrderRequest(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity if quantity is None else quantity,
        limit_price=order.limit_price if limit_price is None else limit_price,
        stop_price=order.stop_price if stop_price is None else stop_price,
        time_in_force=order.time_in_force,
        trail_distance=order.trail_distance,
    )
    instrument = instrument_for(order.symbol)
    problem = _validation_error(request, instrument, order.time_in_force)
    if problem is None and request.quantity > order.quantity:
        bigger = PaperOrder(
            account=account,
            symbol=order.symbol,
            side=order.side,
            quantity=request.quantity,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
        )
        problem = _buying_power_error(account, instrument, bigger, timezone.now())
    if problem:
        raise VenueError(*problem)
    order.quantity, order.limit_price, order.stop_price = (
        request.quantity,
        request.limit_price,
        request.stop_price,
    )
    order.save()
    _evaluate(order, instrument_for(order.symbol), timezone.now())
    return order


@transaction.atomic
def paper_account_flatten(
    *, account: PaperAccount, at: datetime | None = None
) -> list[PaperOrder]:
    """Cancel every working order, then close every open position at market."""
    now = at or timezone.now()
    PaperAccount.objects.select_for_update().filter(pk=account.pk).first()
    PaperOrder.objects.filter(account=account, status=WORKING).update(
        status=PaperOrder.Status.CANCELLED
    )
    orders = []
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    for position in PaperPosition.objects.filter(account=account).exclude(quantity=0):
        request = OrderRequest(
            client_order_id=f"flat-{position.symbol}-{stamp}"[:64],
            symbol=position.symbol,
            side="sell" if position.quantity > 0 else "buy",
            order_type=OrderType.MARKET,
            quantity=abs(position.quantity),
            comment="flatten",
        )
        orders.append(
            paper_order_place(account=account, request=replace(request), at=now)
        )
    return orders
