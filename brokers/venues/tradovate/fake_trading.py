"""The fake Tradovate's order actions: placing an order or an OSO bracket,
modifying, cancelling, liquidating; and the validation every placement passes
first (the account's, the order's fields, the tick grid, the clOrdId, the
position limit). A refused action books nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .fake_market import FakeMarket
from .fake_world import (
    ACCESS_DENIED,
    ZERO,
    FakeAccount,
    FakeContract,
    FakeOrder,
    FakeUser,
    _dec,
    _enum,
    _int,
    _Leg,
    _now,
    _RefusedError,
)
from .mapping import (
    OPEN_STATUSES,
    Action,
    CommandType,
    FailureReason,
    OrderType,
    OrdStatus,
    TimeInForce,
)

DUPLICATE_CL_ORD_ID = "Duplicate clOrdId"
NOT_AUTOMATED = "isAutomated must be true for orders not placed by a human"
SUPPORTED_TYPES = frozenset(
    {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}
)


class TradingEndpoints(FakeMarket):
    """`order/*` actions, and the validation before them."""

    # --- Validation ---------------------------------------------------------------

    def _placing_account(self, user: FakeUser, body: dict[str, Any]) -> FakeAccount:
        account = self._own_account(user, body.get("accountId"))
        spec = body.get("accountSpec")
        if spec is not None and str(spec) not in (account.name, user.name):
            raise _RefusedError(FailureReason.UNAUTHORIZED, ACCESS_DENIED)
        if not account.active:
            raise _RefusedError(FailureReason.ACCOUNT_CLOSED, "The account is closed")
        if body.get("isAutomated") is not True:
            raise _RefusedError(FailureReason.UNKNOWN_REASON, NOT_AUTOMATED)
        return account

    @staticmethod
    def _on_tick(value: Decimal | None, contract: FakeContract) -> None:
        if value is not None and (value <= 0 or value % contract.tick != 0):
            raise _RefusedError(
                FailureReason.INVALID_PRICE,
                f"Price {value} is not a multiple of the tick size {contract.tick}",
            )

    def _leg(
        self,
        body: dict[str, Any],
        contract: FakeContract,
        *,
        qty: int | None = None,
        default_tif: TimeInForce = TimeInForce.DAY,
    ) -> _Leg:
        if not isinstance(body, dict):
            raise _RefusedError(FailureReason.UNKNOWN_REASON, "Malformed order")
        action = _enum(Action, body.get("action"))
        order_type = _enum(OrderType, body.get("orderType"))
        if order_type not in SUPPORTED_TYPES:
            raise _RefusedError(
                FailureReason.UNSUPPORTED, f"Order type {order_type} is not supported"
            )
        given = body.get("orderQty")
        size = _int(given) if given is not None or qty is None else qty
        if size is None or size <= 0:
            raise _RefusedError(
                FailureReason.UNKNOWN_REASON, "orderQty must be positive"
            )
        price = _dec(body.get("price"))
        stop = _dec(body.get("stopPrice"))
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
            raise _RefusedError(
                FailureReason.INVALID_PRICE, f"{order_type} needs a price"
            )
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None:
            raise _RefusedError(
                FailureReason.INVALID_PRICE, f"{order_type} needs a stopPrice"
            )
        if order_type in (OrderType.MARKET, OrderType.STOP):
            price = None
        if order_type in (OrderType.MARKET, OrderType.LIMIT):
            stop = None
        self._on_tick(price, contract)
        self._on_tick(stop, contract)
        tif = _enum(TimeInForce, body.get("timeInForce"), default_tif)
        cl_ord_id = body.get("clOrdId")
        text = body.get("text")
        return _Leg(
            action,
            order_type,
            size,
            price,
            stop,
            tif,
            str(cl_ord_id) if cl_ord_id else None,
            str(text) if text else None,
        )

    def _fresh_ids(self, account: FakeAccount, legs: list[_Leg]) -> None:
        seen = {
            o.cl_ord_id
            for o in self.orders.values()
            if o.account_id == account.id and o.cl_ord_id
        }
        for leg in legs:
            if leg.cl_ord_id is None:
                continue
            if leg.cl_ord_id in seen:
                raise _RefusedError(FailureReason.UNKNOWN_REASON, DUPLICATE_CL_ORD_ID)
            seen.add(leg.cl_ord_id)

    def _entry(
        self, user: FakeUser, body: dict[str, Any]
    ) -> tuple[FakeAccount, FakeContract, _Leg]:
        account = self._placing_account(user, body)
        contract = self._contract(body.get("symbol"))
        if contract is None:
            raise _RefusedError(
                FailureReason.INVALID_CONTRACT,
                f"Unknown contract {body.get('symbol')!r}",
            )
        leg = self._leg(body, contract)
        if leg.order_type == OrderType.MARKET and contract.id not in self.prices:
            raise _RefusedError(FailureReason.NO_QUOTE, "No quote for a market order")
        held, _ = self.positions.get((account.id, contract.id), (0, ZERO))
        signed = leg.qty if leg.action == Action.BUY else -leg.qty
        if abs(held + signed) > account.max_position:
            raise _RefusedError(
                FailureReason.MAX_POS_LIMIT_REACHED,
                f"Max position limit of {account.max_position} reached",
            )
        return account, contract, leg

    # --- Endpoints: order actions -------------------------------------------------

    def ep_place_order(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        account, contract, leg = self._entry(user, body)
        self._fresh_ids(account, [leg])
        order = self._book(account, contract, leg, body)
        self._execute(order)
        return {"orderId": order.id}

    def ep_place_oso(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        account, contract, leg = self._entry(user, body)
        brackets = [
            self._leg(body[name], contract, qty=leg.qty, default_tif=TimeInForce.GTC)
            for name in ("bracket1", "bracket2")
            if body.get(name) is not None
        ]
        if not brackets:
            raise _RefusedError(FailureReason.UNKNOWN_REASON, "bracket1 is required")
        self._fresh_ids(account, [leg, *brackets])
        entry = self._book(account, contract, leg, body)
        legs = [
            self._book(
                account,
                contract,
                bracket,
                body,
                status=OrdStatus.SUSPENDED,
                parent_id=entry.id,
            )
            for bracket in brackets
        ]
        if len(legs) == 2:
            legs[0].linked_id, legs[1].linked_id = legs[1].id, legs[0].id
        self._execute(entry)
        answer = {"orderId": entry.id, "oso1Id": legs[0].id}
        if len(legs) == 2:
            answer["oso2Id"] = legs[1].id
        return answer

    def ep_modify_order(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        order = self._own_order(user, body.get("orderId"))
        if order.status not in (OrdStatus.WORKING, OrdStatus.SUSPENDED):
            raise _RefusedError(
                FailureReason.TOO_LATE, "The order is no longer working"
            )
        contract = self.contracts[order.contract_id]
        changes = {
            "action": str(order.action),
            "orderQty": body.get("orderQty", order.qty),
            "orderType": body.get("orderType", str(order.order_type)),
            "price": body.get("price", order.price),
            "stopPrice": body.get("stopPrice", order.stop_price),
            "timeInForce": body.get("timeInForce", str(order.time_in_force)),
        }
        leg = self._leg(changes, contract)
        if leg.order_type == OrderType.MARKET and contract.id not in self.prices:
            raise _RefusedError(FailureReason.NO_QUOTE, "No quote for a market order")
        order.order_type, order.qty, order.price, order.stop_price = (
            leg.order_type,
            leg.qty,
            leg.price,
            leg.stop_price,
        )
        order.time_in_force, order.triggered, order.updated = (
            leg.time_in_force,
            False,
            _now(),
        )
        self._version(order)
        cl_ord_id = body.get("clOrdId")
        command_id = self._command(
            order, CommandType.MODIFY, str(cl_ord_id) if cl_ord_id else None, body
        )
        last = self.prices.get(order.contract_id)
        if last is not None:
            self._try_fill(order, last)
        return {"commandId": command_id}

    def ep_cancel_order(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        order = self._own_order(user, body.get("orderId"))
        if order.status not in OPEN_STATUSES:
            raise _RefusedError(
                FailureReason.TOO_LATE, "The order is no longer working"
            )
        cl_ord_id = body.get("clOrdId")
        command_id = self._command(
            order, CommandType.CANCEL, str(cl_ord_id) if cl_ord_id else None, body
        )
        self._cancel(order)
        return {"commandId": command_id}

    def _liquidate(
        self, account: FakeAccount, contract: FakeContract, body: dict[str, Any]
    ) -> FakeOrder | None:
        """Cancel the contract's open orders on the account, then close the position
        at the last price; the closing order (None when flat)."""
        net, _ = self.positions.get((account.id, contract.id), (0, ZERO))
        if net and contract.id not in self.prices:
            raise _RefusedError(FailureReason.NO_QUOTE, "No quote to liquidate at")
        for order in list(self.orders.values()):
            if (
                order.account_id == account.id
                and order.contract_id == contract.id
                and order.status in OPEN_STATUSES
            ):
                self._cancel(order)
        if not net:
            return None
        leg = _Leg(
            Action.SELL if net > 0 else Action.BUY,
            OrderType.MARKET,
            abs(net),
            None,
            None,
            TimeInForce.DAY,
            None,
            "Liquidation",
        )
        order = self._book(account, contract, leg, {"isAutomated": True, **body})
        self._execute(order)
        return order

    def ep_liquidate_position(
        self, user: FakeUser, body: dict[str, Any], query: Any
    ) -> Any:
        account = self._own_account(user, body.get("accountId"))
        contract = self.contracts.get(_int(body.get("contractId")) or 0)
        if contract is None:
            raise _RefusedError(FailureReason.INVALID_CONTRACT, "Unknown contract")
        order = self._liquidate(account, contract, body)
        if order is None:
            raise _RefusedError(
                FailureReason.UNKNOWN_REASON, "No position to liquidate"
            )
        return {"orderId": order.id}

    def ep_liquidate_positions(
        self, user: FakeUser, body: dict[str, Any], query: Any
    ) -> Any:
        wanted = body.get("positions")
        if not isinstance(wanted, list) or not wanted:
            return {"ok": False, "errorText": "positions is required"}
        by_id = {book.id: key for key, book in self._books.items()}
        mine = self._my_account_ids(user)
        keys = [by_id.get(_int(value) or 0) for value in wanted]
        if any(key is None or key[0] not in mine for key in keys):
            return {"ok": False, "errorText": ACCESS_DENIED}
        closing = [key for key in keys if key is not None and self.positions[key][0]]
        if any(key[1] not in self.prices for key in closing):
            return {"ok": False, "errorText": "No quote to liquidate at"}
        for key in keys:
            assert key is not None
            self._liquidate(self.accounts[key[0]], self.contracts[key[1]], body)
        return {"ok": True}
