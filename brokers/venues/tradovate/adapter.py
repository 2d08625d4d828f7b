"""Tradovate accounts behind `VenueAdapter`: our orders and reports <-> its API.

An account's credentials (encrypted on the row) are its environment (demo or
live), the login's user name and password, the API key (`cid`, `sec`), a device
id made once at connect, and the account's name (Tradovate's `accountSpec`);
`external_id` is Tradovate's account id.

Exactly once: our client order id rides in `clOrdId`. Tradovate's Order rows do
not carry it, its commands do (`command/list`): a retry after a timeout or a
crash finds the order through the command that placed it before anything is
placed again (`find_order`, which the executor calls on resume).

Brackets: Tradovate takes them as prices (`order/placeoso`, `bracket1` the
target, `bracket2` the stop), linked as an OCO pair once the entry fills.
Futures only; contract names have a one-digit year (`MNQZ6`,
`brokers.venues.names`), found with `contract/find`, never guessed.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from brokers.adapters.base import (
    AccountSnapshot,
    FillReport,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAccount,
    VenueAdapter,
    VenueError,
)
from brokers.instruments.resolve import SymbolError, resolve
from brokers.models import BrokerAccount, Order, OrderType
from brokers.venues.connect import account_chosen, account_keep
from brokers.venues.names import contract_code, contract_name, is_contract_code

from .client import Login, TradovateClient, TradovateRefusedError
from .mapping import OPEN_STATUSES, OrdStatus

log = logging.getLogger(__name__)
ZERO = Decimal(0)
CONTRACT_CACHE_SECONDS = 24 * 3600
ENVIRONMENTS = ("demo", "live")

ORDER_TYPES = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP: "Stop",
    OrderType.STOP_LIMIT: "StopLimit",
}
TIME_IN_FORCE = {"DAY": "Day", "GTC": "GTC", "IOC": "IOC", "FOK": "FOK"}
STATUSES = {
    OrdStatus.PENDING_NEW: Order.Status.PENDING,
    OrdStatus.WORKING: Order.Status.WORKING,
    OrdStatus.PENDING_REPLACE: Order.Status.WORKING,
    OrdStatus.PENDING_CANCEL: Order.Status.WORKING,
    OrdStatus.SUSPENDED: Order.Status.WORKING,  # a bracket leg waiting for its entry
    OrdStatus.FILLED: Order.Status.FILLED,
    OrdStatus.COMPLETED: Order.Status.FILLED,
    OrdStatus.CANCELED: Order.Status.CANCELLED,
    OrdStatus.EXPIRED: Order.Status.CANCELLED,
    OrdStatus.REJECTED: Order.Status.REJECTED,
}


@dataclass(frozen=True)
class Credentials:
    """A login with a password and an API key, or (OAuth) a refresh token."""

    environment: str
    user_name: str
    password: str = field(repr=False)
    cid: int
    sec: str = field(repr=False)
    device_id: str
    account_spec: str  # the account's name at Tradovate
    refresh_token: str = field(default="", repr=False)

    @classmethod
    def of(cls, account: BrokerAccount) -> Credentials:
        try:
            raw = json.loads(account.credentials or "{}")
            found = cls(
                raw["environment"],
                raw["user_name"],
                raw.get("password") or "",
                int(raw.get("cid") or 0),
                raw.get("sec") or "",
                raw["device_id"],
                raw["account_spec"],
                raw.get("refresh_token") or "",
            )
            if not found.password and not found.refresh_token:
                raise ValueError("neither a password nor a refresh token")
            return found
        except (ValueError, KeyError, TypeError):
            raise VenueError(
                "credentials-missing",
                "This Tradovate account has no credentials: connect it again.",
            ) from None

    def dumps(self) -> str:
        return json.dumps(vars(self))

    def login(self) -> Login:
        return Login(
            api_url(self.environment),
            self.user_name,
            self.password,
            self.cid,
            self.sec,
            self.device_id,
            self.refresh_token,
        )


def api_url(environment: str) -> str:
    return str(settings.TRADOVATE_API_URLS[environment])


class TradovateAdapter(VenueAdapter):
    venue = "tradovate"

    def __init__(self, account: BrokerAccount) -> None:
        super().__init__(account)
        self.credentials = Credentials.of(account)
        self.client = TradovateClient(
            self.credentials.login(), on_refresh=self._keep_refresh_token
        )
        try:
            self.account_id = int(account.external_id)
        except ValueError:
            raise VenueError(
                "credentials-missing", "This Tradovate account has no account id."
            ) from None

    # --- Connecting -------------------------------------------------------------------

    @classmethod
    def venue_accounts(cls, options: dict[str, Any]) -> list[VenueAccount]:
        credentials = _login_options(options)
        live = credentials.environment == "live"
        client = TradovateClient(credentials.login())
        try:
            if credentials.refresh_token:  # OAuth: the grant's token, kept for all
                client.tokens.put(
                    str(options["access_token"]),
                    datetime.fromisoformat(str(options["expires_at"])),
                )
            else:
                client.sign_in()
            # The Account entity has no `active`: a closed account says `closed`.
            rows = [row for row in client.accounts() if not row.get("closed")]
            balances = {
                int(row["id"]): client.cash_snapshot(int(row["id"])) for row in rows
            }
        finally:
            client.close()
        return [
            VenueAccount(
                id=str(row["id"]),
                name=str(row["name"]),
                balance=_dec(balances[int(row["id"])].get("totalCashValue")),
                live=live,
                can_trade=not row.get("restricted") and not row.get("closed"),
            )
            for row in rows
        ]

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        """Sign in with the trader's login, find the chosen account among theirs,
        and keep the credentials (encrypted) on the row."""
        credentials = _login_options(options)
        accounts = cls.venue_accounts({**options, "device_id": credentials.device_id})
        chosen = account_chosen("Tradovate", accounts, options)
        kept = Credentials(**{**vars(credentials), "account_spec": chosen.name})
        account_keep(account, chosen, kept.dumps())

    def _keep_refresh_token(self, refresh_token: str) -> None:
        """Tradovate rotated the login's refresh token: every account of the
        login keeps the new one (the old one no longer works)."""
        for account in BrokerAccount.objects.filter(venue="tradovate"):
            try:
                theirs = Credentials.of(account)
            except VenueError:
                continue
            if theirs.login().key == self.client.login.key and theirs.refresh_token:
                kept = Credentials(**{**vars(theirs), "refresh_token": refresh_token})
                BrokerAccount.objects.filter(pk=account.pk).update(
                    credentials=kept.dumps()
                )

    # --- Contracts --------------------------------------------------------------------

    def _cache_key(self, kind: str, value: object) -> str:
        return f"tradovate:{kind}:{self.client.login.key}:{value}"

    def contract(self, symbol: str) -> tuple[int, str]:
        """Our "MNQZ26" (or "MNQ1!") -> (Tradovate's contract id, its name "MNQZ6")."""
        code = symbol
        if not is_contract_code(symbol):
            try:
                code = resolve(symbol).contract or ""
            except SymbolError as exc:
                raise VenueError("unknown-symbol", str(exc)) from None
        if not code:
            raise VenueError(
                "not-a-future", f"Tradovate trades futures; {symbol} is not one."
            )
        _, name = contract_name(code)
        key = self._cache_key("id", code)
        cached = cache.get(key)
        if cached:
            return int(cached), name
        found = self.client.contract_named(name)
        if not found:
            raise VenueError(
                "contract-not-found", f"Tradovate lists no contract {name} ({code})."
            )
        cache.set(key, found["id"], CONTRACT_CACHE_SECONDS)
        cache.set(self._cache_key("code", found["id"]), code, CONTRACT_CACHE_SECONDS)
        return int(found["id"]), name

    def venue_symbol(self, symbol: str) -> str:
        """Tradovate's name for our contract ("MNQZ26" -> "MNQZ6"), asked of it."""
        return self.contract(symbol)[1]

    def _code(self, contract_id: int) -> str:
        """Tradovate's contract id -> our code, cached."""
        key = self._cache_key("code", contract_id)
        cached = cache.get(key)
        if cached:
            return str(cached)
        name = str(self.client.contract(contract_id)["name"])
        code = contract_code(name, timezone.now().date())
        cache.set(key, code, CONTRACT_CACHE_SECONDS)
        return code

    # --- Reading ----------------------------------------------------------------------

    def account_snapshot(self) -> AccountSnapshot:
        """Tradovate marks open positions itself: equity is its net liquidation."""
        cash = self.client.cash_snapshot(self.account_id)
        balance = _dec(cash.get("totalCashValue"))
        net = cash.get("netLiq")
        equity = _dec(net) if net is not None else balance + _dec(cash.get("openPnL"))
        return AccountSnapshot(balance=balance, equity=equity, currency="USD")

    def positions(self) -> list[PositionReport]:
        reports = []
        for row in self.client.positions():
            size = _dec(row.get("netPos"))
            if int(row["accountId"]) != self.account_id or not size:
                continue  # another account of the login, or flat (still listed)
            price = row.get("netPrice")
            reports.append(
                PositionReport(
                    self._code(int(row["contractId"])),
                    size,
                    None if price is None else _dec(price),
                )
            )
        return reports

    def working_orders(self) -> list[OrderReport]:
        tags = self._tags()
        return [
            self._report(row, fills=(), cid=tags.get(int(row["id"]), ""))
            for row in self.client.orders()
            if int(row["accountId"]) == self.account_id and _working(row)
        ]

    def find_order(self, client_order_id: str) -> OrderReport | None:
        order_id = self._placed_as(client_order_id)
        if order_id is None:
            return None
        row = self.client.order(order_id)
        return None if row is None else self._report(row, cid=client_order_id)

    def _placed_as(self, client_order_id: str) -> int | None:
        """The order the command carrying this clOrdId placed, if any."""
        for order_id, tag in self._tags().items():
            if tag == client_order_id:
                return order_id
        return None

    def _tags(self) -> dict[int, str]:
        """Order id -> our client order id, from the commands that placed them
        (Tradovate's Order rows do not carry it)."""
        return {
            int(command["orderId"]): str(command["clOrdId"])
            for command in self.client.commands()
            if command.get("clOrdId")
            and command.get("orderId")
            and command.get("commandType", "New") == "New"
        }

    def _fills(self, order_id: int) -> tuple[FillReport, ...]:
        return tuple(
            FillReport(
                venue_fill_id=f"tv-{row['id']}",
                quantity=_dec(row["qty"]),
                price=_dec(row["price"]),
                commission=ZERO,  # Tradovate reports fees apart (fillFee)
                filled_at=_when(row.get("timestamp")),
            )
            for row in self.client.fills()
            if int(row["orderId"]) == order_id and row.get("active", True)
        )

    def _report(
        self,
        row: dict[str, Any],
        *,
        fills: tuple[FillReport, ...] | None = None,
        cid: str = "",
        reason: str = "",
    ) -> OrderReport:
        order_id = int(row["id"])
        status = _status(row.get("ordStatus"))
        if fills is None:
            fills = self._fills(order_id)
        filled = sum((fill.quantity for fill in fills), ZERO)
        if status == Order.Status.WORKING and filled:
            status = Order.Status.PARTIALLY_FILLED
        cost = sum((fill.price * fill.quantity for fill in fills), ZERO)
        return OrderReport(
            client_order_id=cid,
            venue_order_id=str(order_id),
            status=status,
            filled_quantity=filled,
            avg_fill_price=cost / filled if filled else None,
            reject_reason=reason,
            fills=fills,
            symbol=self._code(int(row["contractId"])),
        )

    # --- Trading ----------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        _, name = self.contract(request.symbol)  # found, so the venue knows it
        body = self._order_body(request, name)
        # Tradovate does not say a clOrdId is unique: look before placing, so a
        # retry whose first answer was lost finds that order and places none.
        placed = self.find_order(request.client_order_id)
        if placed is not None:
            return placed
        try:
            answer = self.client.place(body)
        except TradovateRefusedError as exc:
            # Refused with no order made: maybe because this clOrdId was placed
            # before (a retry whose first answer was lost).
            found = self.find_order(request.client_order_id)
            if found is not None:
                return found
            if exc.transient:
                raise
            return OrderReport(
                client_order_id=request.client_order_id,
                venue_order_id=str(exc.payload.get("orderId") or ""),
                status=Order.Status.REJECTED,
                reject_reason=f"{exc.code}: {exc.message}",
                symbol=request.symbol,
            )
        order_id = int(answer["orderId"])
        row = self.client.order(order_id)
        if row is None:  # accepted, not yet listed: the refresh will find it
            return OrderReport(
                client_order_id=request.client_order_id,
                venue_order_id=str(order_id),
                status=Order.Status.PENDING,
                symbol=request.symbol,
            )
        return self._report(row, cid=request.client_order_id)

    def _order_body(self, request: OrderRequest, name: str) -> dict[str, Any]:
        size = request.quantity
        if size <= 0 or size != size.to_integral_value():
            raise VenueError(
                "invalid-quantity",
                f"Tradovate trades whole contracts; {size} is not a whole number.",
            )
        kind = ORDER_TYPES.get(OrderType(request.order_type))
        if kind is None:
            raise VenueError(
                "order-type-unsupported",
                f"TradeFlow does not send {request.order_type} orders to Tradovate.",
            )
        action = "Buy" if request.side == "buy" else "Sell"
        body: dict[str, Any] = {
            "accountSpec": self.credentials.account_spec,
            "accountId": self.account_id,
            "action": action,
            "symbol": name,
            "orderQty": int(size),
            "orderType": kind,
            "clOrdId": request.client_order_id,
            "isAutomated": True,  # required of every order a person did not click
        }
        if request.limit_price is not None:
            body["price"] = request.limit_price
        if request.stop_price is not None:
            body["stopPrice"] = request.stop_price
        if request.time_in_force:
            tif = TIME_IN_FORCE.get(request.time_in_force)
            if tif is None:
                raise VenueError(
                    "time-in-force-unsupported",
                    f"Tradovate has no {request.time_in_force} time in force.",
                )
            body["timeInForce"] = tif
        exit_action = "Sell" if action == "Buy" else "Buy"
        if request.take_profit is not None:
            body["bracket1"] = {
                "action": exit_action,
                "orderType": "Limit",
                "price": request.take_profit,
            }
        if request.stop_loss is not None:
            body["bracket2" if "bracket1" in body else "bracket1"] = {
                "action": exit_action,
                "orderType": "Stop",
                "stopPrice": request.stop_loss,
            }
        return _jsonable(body)

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        order_id = int(venue_order_id)
        try:
            self.client.cancel(order_id)
        except TradovateRefusedError as exc:
            if exc.code != "too-late":
                raise
        row = self.client.order(order_id)
        if row is None:
            raise VenueError("order-not-found", "Tradovate has no such order.")
        return self._report(row, cid=self._tags().get(order_id, ""))

    def flatten(self) -> list[OrderReport]:
        """Close every position at market (Tradovate's liquidation also cancels
        that contract's working orders), then cancel what still works."""
        held = [
            row
            for row in self.client.positions()
            if int(row["accountId"]) == self.account_id and _dec(row.get("netPos"))
        ]
        closing, failed = [], []
        for row in held:
            try:  # one refused liquidation leaves the others to close
                order_id = self.client.liquidate(
                    self.account_id, int(row["contractId"])
                )
            except VenueError as exc:
                failed.append(exc)
                continue
            if order_id is not None:
                closing.append(order_id)
        for row in self.client.orders():
            if int(row["accountId"]) == self.account_id and _working(row):
                try:
                    self.client.cancel(int(row["id"]))
                except TradovateRefusedError as exc:
                    log.warning(
                        "flatten %s: order %s not cancelled: %s",
                        self.account.pk,
                        row["id"],
                        exc,
                    )
        if failed:
            raise failed[0]  # the rest are closed; the flatten is retried
        closed = [self.client.order(order_id) for order_id in closing]
        return [self._report(found) for found in closed if found is not None]


def _login_options(options: dict[str, Any]) -> Credentials:
    # The registration API's `mode` names the environment.
    environment = str(options.get("environment") or options.get("mode") or "demo")
    if environment not in ENVIRONMENTS:
        raise VenueError(
            "invalid-environment", "A Tradovate environment is demo or live."
        )
    device_id = str(options.get("device_id") or secrets.token_hex(16))
    refresh_token = str(options.get("refresh_token") or "")
    if refresh_token:  # connected through OAuth (the connect page's callback)
        user_name = str(options.get("user_name") or "")
        if not user_name or not options.get("access_token"):
            raise VenueError("login-failed", "Tradovate's sign-in gave no user.")
        return Credentials(
            environment, user_name, "", 0, "", device_id, "", refresh_token
        )
    user_name = str(options.get("user_name") or "").strip()
    password = str(options.get("password") or "")
    sec = str(options.get("sec") or "").strip()
    try:
        cid = int(options.get("cid") or 0)
    except (TypeError, ValueError):
        cid = -1
    if not user_name or not password or cid <= 0 or not sec:
        raise VenueError(
            "credentials-missing",
            "Tradovate needs your user name and password and an API key: its id "
            "(cid) and secret, made at trader.tradovate.com under Application "
            "Settings > API Access.",
        )
    return Credentials(environment, user_name, password, cid, sec, device_id, "")


def _status(value: object) -> str:
    """Tradovate's ordStatus as ours; one we do not know (Unknown) is pending:
    the next refresh asks again."""
    try:
        return STATUSES.get(OrdStatus(str(value)), Order.Status.PENDING)
    except ValueError:
        return Order.Status.PENDING


def _working(row: dict[str, Any]) -> bool:
    return str(row.get("ordStatus")) in OPEN_STATUSES


def _dec(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


def _jsonable(body: dict[str, Any]) -> dict[str, Any]:
    """Decimals as JSON numbers (httpx writes JSON with the standard encoder)."""
    return json.loads(json.dumps(body, default=float))


def _when(value: object) -> datetime:
    if isinstance(value, str) and value:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return timezone.now()
