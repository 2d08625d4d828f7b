"""The fake TradeLocker's trading endpoints under `/trade`.

Placing, modifying and cancelling orders (one, or all of an account); modifying a
position's stop loss and take profit, and closing positions (one, part of one, or
all), with the validation fake.py's "Assumed" list describes: lots, the tick
grid, the side a stop loss or take profit must be on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .fake_market import FakeMarket
from .fake_world import (
    NO_QUOTES,
    FakeInstrument,
    FakeOrder,
    FakePosition,
    _Context,
    _dec,
    _enum,
    _int,
    _now,
    _RefusedError,
    _text,
)
from .mapping import (
    OrderKind,
    OrderStatus,
    Side,
    StopLossType,
    TakeProfitType,
    Validity,
)

MAX_STRATEGY_ID = 31


class TradingEndpoints(FakeMarket):
    """/trade/* orders and positions: placing, changing, cancelling, closing."""

    # --- Validation ---------------------------------------------------------------

    @staticmethod
    def _on_tick(value: Decimal, instrument: FakeInstrument, name: str) -> None:
        if value <= 0 or value % instrument.tick_size != 0:
            raise _RefusedError(
                f"Invalid {name}: {_text(value)} is not a positive multiple of the "
                f"tick size {_text(instrument.tick_size)}"
            )

    @staticmethod
    def _lots(value: Any, instrument: FakeInstrument) -> Decimal:
        qty = _dec(value, "qty")
        if qty is None or qty <= 0:
            raise _RefusedError("Invalid qty")
        if qty < instrument.min_lot:
            raise _RefusedError(f"qty is below minLot {_text(instrument.min_lot)}")
        if qty > instrument.max_lot:
            raise _RefusedError(f"qty is above maxLot {_text(instrument.max_lot)}")
        if qty % instrument.lot_step != 0:
            raise _RefusedError(
                f"qty is not a multiple of lotStep {_text(instrument.lot_step)}"
            )
        return qty

    def _protection(
        self,
        body: dict[str, Any],
        instrument: FakeInstrument,
        side: Side,
        reference: Decimal | None,
    ) -> tuple[
        Decimal | None, StopLossType | None, Decimal | None, TakeProfitType | None
    ]:
        """The stop loss and take profit of an order body, checked against the
        price the position would open at (`reference`, when known)."""
        stop = _dec(body.get("stopLoss"), "stopLoss")
        target = _dec(body.get("takeProfit"), "takeProfit")
        stop = None if stop == 0 else stop
        target = None if target == 0 else target
        stop_type: StopLossType | None = None
        target_type: TakeProfitType | None = None
        buy = side == Side.BUY
        if stop is not None:
            if body.get("stopLossType") in (None, ""):
                raise _RefusedError("stopLossType is required with stopLoss")
            stop_type = _enum(StopLossType, body["stopLossType"], "stopLossType")
            if stop_type == StopLossType.ABSOLUTE:
                self._on_tick(stop, instrument, "stopLoss")
                if reference is not None and (
                    (stop >= reference) if buy else (stop <= reference)
                ):
                    raise _RefusedError("Invalid stopLoss: on the wrong side")
            elif stop <= 0:
                raise _RefusedError("Invalid stopLoss")
        if target is not None:
            if body.get("takeProfitType") in (None, ""):
                raise _RefusedError("takeProfitType is required with takeProfit")
            target_type = _enum(
                TakeProfitType, body["takeProfitType"], "takeProfitType"
            )
            if target_type == TakeProfitType.ABSOLUTE:
                self._on_tick(target, instrument, "takeProfit")
                if reference is not None and (
                    (target <= reference) if buy else (target >= reference)
                ):
                    raise _RefusedError("Invalid takeProfit: on the wrong side")
            elif target <= 0:
                raise _RefusedError("Invalid takeProfit")
        return stop, stop_type, target, target_type

    def _order_of(self, ctx: _Context, value: str) -> FakeOrder:
        order = self.orders.get(_int(value) or 0)
        if order is None or order.account_id != ctx.account.id:
            raise _RefusedError("Order not found")
        return order

    def _position_of(self, ctx: _Context, value: str) -> FakePosition:
        position = self.positions.get(_int(value) or 0)
        if position is None or position.account_id != ctx.account.id:
            raise _RefusedError("Position not found")
        return position

    def _protected_by(
        self, ctx: _Context, order_id: int
    ) -> tuple[FakePosition, bool] | None:
        """The open position whose stop loss (True) or take profit (False) has
        this id, if any."""
        for position in self.positions.values():
            if position.account_id != ctx.account.id:
                continue
            if position.stop_loss_id == order_id:
                return position, True
            if position.take_profit_id == order_id:
                return position, False
        return None

    # --- Endpoints: /trade, orders ------------------------------------------------

    def ep_place(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: Any
    ) -> Any:
        for name in (
            "qty",
            "routeId",
            "side",
            "validity",
            "type",
            "tradableInstrumentId",
        ):
            if body.get(name) in (None, ""):
                raise _RefusedError(f"{name} is required")
        account = ctx.account
        if account.status != "ACTIVE":
            raise _RefusedError("Account is not active")
        instrument = self.instruments.get(_int(body["tradableInstrumentId"]) or 0)
        if instrument is None:
            raise _RefusedError("Instrument not found")
        if _int(body["routeId"]) != instrument.trade_route:
            raise _RefusedError("Invalid routeId")
        side = _enum(Side, body["side"], "side")
        kind = _enum(OrderKind, body["type"], "type")
        validity = _enum(Validity, body["validity"], "validity")
        wanted = Validity.IOC if kind == OrderKind.MARKET else Validity.GTC
        if validity != wanted:
            raise _RefusedError(f"Invalid validity: {kind} orders must be {wanted}")
        qty = self._lots(body["qty"], instrument)
        price = _dec(body.get("price"), "price")
        stop_price = _dec(body.get("stopPrice"), "stopPrice")
        quote = self.quotes.get(instrument.tradable_instrument_id)
        reference: Decimal | None
        if kind == OrderKind.MARKET:
            if quote is None:
                raise _RefusedError(NO_QUOTES)
            price = stop_price = None
            # The side the position would close at: a stop or target past it
            # would close it at once.
            reference = quote[0] if side == Side.BUY else quote[1]
        elif kind == OrderKind.LIMIT:
            if price is None:
                raise _RefusedError("price is required for limit orders")
            self._on_tick(price, instrument, "price")
            stop_price, reference = None, price
        else:
            if stop_price is None:
                raise _RefusedError("stopPrice is required for stop orders")
            self._on_tick(stop_price, instrument, "stopPrice")
            price, reference = None, stop_price
        stop, stop_type, target, target_type = self._protection(
            body, instrument, side, reference
        )
        strategy = body.get("strategyId")
        strategy_id = None if strategy in (None, "") else str(strategy)
        if strategy_id is not None and len(strategy_id) > MAX_STRATEGY_ID:
            raise _RefusedError(
                f"strategyId is too long (at most {MAX_STRATEGY_ID} characters)"
            )
        order = FakeOrder(
            id=next(self._trade_ids),
            account_id=account.id,
            tradable_instrument_id=instrument.tradable_instrument_id,
            route_id=instrument.trade_route,
            side=side,
            type=kind,
            qty=qty,
            price=price,
            stop_price=stop_price,
            validity=validity,
            strategy_id=strategy_id,
            stop_loss=stop,
            stop_loss_type=stop_type,
            take_profit=target,
            take_profit_type=target_type,
        )
        self.orders[order.id] = order
        self._try_fill(order)
        return {"orderId": str(order.id)}

    def ep_modify_order(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: dict[str, str]
    ) -> Any:
        order_id = _int(path["order"]) or 0
        protected = self._protected_by(ctx, order_id)
        if protected is not None:
            position, is_stop = protected
            instrument = self.instruments[position.tradable_instrument_id]
            level = _dec(
                body.get("stopPrice" if is_stop else "price")
                or body.get("price" if is_stop else "stopPrice"),
                "price",
            )
            if level is None:
                raise _RefusedError("price is required")
            self._on_tick(level, instrument, "price")
            if is_stop:
                position.stop_loss, position.trailing_offset = level, None
            else:
                position.take_profit = level
            self._protect(position)
            return None
        order = self._order_of(ctx, path["order"])
        if not order.is_open:
            raise _RefusedError("Order is not active")
        instrument = self.instruments[order.tradable_instrument_id]
        if "qty" in body:
            order.qty = self._lots(body["qty"], instrument)
        if "validity" in body and body["validity"] is not None:
            wanted = _enum(Validity, body["validity"], "validity")
            if wanted != Validity.GTC:
                raise _RefusedError(
                    f"Invalid validity: {order.type} orders must be GTC"
                )
        if order.type == OrderKind.LIMIT and body.get("price") is not None:
            price = _dec(body["price"], "price")
            assert price is not None
            self._on_tick(price, instrument, "price")
            order.price = price
        if order.type == OrderKind.STOP and body.get("stopPrice") is not None:
            stop_price = _dec(body["stopPrice"], "stopPrice")
            assert stop_price is not None
            self._on_tick(stop_price, instrument, "stopPrice")
            order.stop_price = stop_price
        changes = {
            "stopLoss": order.stop_loss,
            "stopLossType": order.stop_loss_type,
            "takeProfit": order.take_profit,
            "takeProfitType": order.take_profit_type,
        }
        changes.update({k: body[k] for k in changes if k in body})
        reference = order.price if order.type == OrderKind.LIMIT else order.stop_price
        (
            order.stop_loss,
            order.stop_loss_type,
            order.take_profit,
            order.take_profit_type,
        ) = self._protection(changes, instrument, order.side, reference)
        order.modified = _now()
        self._try_fill(order)
        return None

    def ep_cancel_order(
        self, ctx: _Context, body: Any, query: Any, path: dict[str, str]
    ) -> Any:
        protected = self._protected_by(ctx, _int(path["order"]) or 0)
        if protected is not None:
            position, is_stop = protected
            if is_stop:
                position.stop_loss, position.stop_loss_id = None, 0
                position.trailing_offset = None
            else:
                position.take_profit, position.take_profit_id = None, 0
            return None
        order = self._order_of(ctx, path["order"])
        if not order.is_open:
            raise _RefusedError("Order is not active")
        order.status, order.modified = OrderStatus.CANCELLED, _now()
        return None

    def ep_cancel_all(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        wanted = _int(query.get("tradableInstrumentId"))
        for order in self.orders.values():
            if (
                order.account_id == ctx.account.id
                and order.is_open
                and (wanted is None or order.tradable_instrument_id == wanted)
            ):
                order.status, order.modified = OrderStatus.CANCELLED, _now()
        return None

    # --- Endpoints: /trade, positions ---------------------------------------------

    def ep_modify_position(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: dict[str, str]
    ) -> Any:
        position = self._position_of(ctx, path["position"])
        instrument = self.instruments[position.tradable_instrument_id]
        at = self._closing_price(position)
        sign = 1 if position.buy else -1
        stop, trailing = position.stop_loss, position.trailing_offset
        target = position.take_profit
        if "stopLoss" in body:
            value = _dec(body["stopLoss"], "stopLoss")
            kind = _enum(
                StopLossType, body.get("stopLossType") or "absolute", "stopLossType"
            )
            trailing = None
            if value is None or value == 0:
                stop = None
            elif kind == StopLossType.ABSOLUTE:
                self._on_tick(value, instrument, "stopLoss")
                stop = value
            elif kind == StopLossType.OFFSET:
                stop = position.avg_price - sign * value
            else:
                if at is None:
                    raise _RefusedError(NO_QUOTES)
                stop, trailing = at - sign * value, value
            if (
                stop is not None
                and at is not None
                and ((stop >= at) if position.buy else (stop <= at))
            ):
                raise _RefusedError("Invalid stopLoss: on the wrong side")
        if "takeProfit" in body:
            value = _dec(body["takeProfit"], "takeProfit")
            target_kind = _enum(
                TakeProfitType,
                body.get("takeProfitType") or "absolute",
                "takeProfitType",
            )
            if value is None or value == 0:
                target = None
            elif target_kind == TakeProfitType.ABSOLUTE:
                self._on_tick(value, instrument, "takeProfit")
                target = value
            else:
                target = position.avg_price + sign * value
            if (
                target is not None
                and at is not None
                and ((target <= at) if position.buy else (target >= at))
            ):
                raise _RefusedError("Invalid takeProfit: on the wrong side")
        position.stop_loss, position.trailing_offset = stop, trailing
        position.take_profit = target
        if stop is None:
            position.stop_loss_id = 0
        elif not position.stop_loss_id:
            position.stop_loss_id = next(self._trade_ids)
        if target is None:
            position.take_profit_id = 0
        elif not position.take_profit_id:
            position.take_profit_id = next(self._trade_ids)
        return None

    def ep_close_position(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: dict[str, str]
    ) -> Any:
        position = self._position_of(ctx, path["position"])
        instrument = self.instruments[position.tradable_instrument_id]
        qty = _dec(body.get("qty", "0"), "qty")
        if qty is None or qty < 0:
            raise _RefusedError("Invalid qty")
        if qty == 0:
            qty = position.qty
        elif qty > position.qty:
            raise _RefusedError("qty is above the position's")
        elif qty < position.qty:
            self._lots(qty, instrument)
        at = self._closing_price(position)
        if at is None:
            raise _RefusedError(NO_QUOTES)
        self._close(position, qty, at)
        return None

    def ep_close_all(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        wanted = _int(query.get("tradableInstrumentId"))
        closing = [
            p
            for p in sorted(self.positions.values(), key=lambda p: p.id)
            if p.account_id == ctx.account.id
            and (wanted is None or p.tradable_instrument_id == wanted)
        ]
        prices = [self._closing_price(p) for p in closing]
        if any(at is None for at in prices):
            raise _RefusedError(NO_QUOTES)
        for position, at in zip(closing, prices, strict=True):
            assert at is not None
            self._close(position, position.qty, at)
        return None
