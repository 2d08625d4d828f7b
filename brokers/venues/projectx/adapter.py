"""ProjectX accounts behind `VenueAdapter`: our orders and reports <-> its API.

An account's credentials (encrypted on the row) are its firm, the login's user
name and API key; `external_id` is ProjectX's account id. Our client order id
rides in `customTag`, which ProjectX keeps unique per account: a second placing
of the same order is refused by the venue and answered here with the first, and
a retry after a timeout or a crash finds the order by its tag before anything is
placed again (`find_order`, which the executor calls on resume).

Brackets: our levels become ProjectX's distances in ticks from the entry price
(the limit, else the alert's price), accepted only in the account's Auto OCO
Brackets mode; ProjectX says so when it is off, and so do we.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
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
from brokers.venues.names import (
    contract_code,
    contract_name,
    is_contract_code,
    names_match,
)

from .client import Login, ProjectXClient, ProjectXRefusedError
from .firms import Firm, api_url, firm_of, refuse_unless_transmitting
from .mapping import (
    OPEN_STATUSES,
    SIDES,
    STATUSES,
    TYPES,
    PositionType,
    Status,
)

log = logging.getLogger(__name__)
ZERO = Decimal(0)
CONTRACT_CACHE_SECONDS = 24 * 3600
QUOTE_SECONDS = 15  # a hub quote older than this is stale: REST marks instead


@dataclass(frozen=True)
class Credentials:
    firm: str
    user_name: str
    api_key: str = field(repr=False)

    @classmethod
    def of(cls, account: BrokerAccount) -> Credentials:
        try:
            raw = json.loads(account.credentials or "{}")
            return cls(raw["firm"], raw["user_name"], raw["api_key"])
        except (ValueError, KeyError, TypeError):
            raise VenueError(
                "credentials-missing",
                "This ProjectX account has no credentials: connect it again.",
            ) from None

    def dumps(self) -> str:
        return json.dumps(
            {"firm": self.firm, "user_name": self.user_name, "api_key": self.api_key}
        )


def client_for(firm: Firm, user_name: str, api_key: str) -> ProjectXClient:
    return ProjectXClient(Login(api_url(firm), user_name, api_key))


class ProjectXAdapter(VenueAdapter):
    venue = "projectx"

    def __init__(self, account: BrokerAccount) -> None:
        super().__init__(account)
        credentials = Credentials.of(account)
        self.firm = firm_of(credentials.firm)
        self.client = client_for(self.firm, credentials.user_name, credentials.api_key)
        try:
            self.account_id = int(account.external_id)
        except ValueError:
            raise VenueError(
                "credentials-missing", "This ProjectX account has no account id."
            ) from None

    # --- Connecting -------------------------------------------------------------------

    @classmethod
    def venue_accounts(cls, options: dict[str, Any]) -> list[VenueAccount]:
        firm, user_name, api_key = _login_options(options)
        client = client_for(firm, user_name, api_key)
        try:
            client.sign_in()
            rows = client.accounts(only_active=True)
        finally:
            client.close()
        return [
            VenueAccount(
                id=str(row["id"]),
                name=str(row["name"]),
                balance=Decimal(str(row.get("balance") or 0)),
                live=not row.get("simulated", True),
                can_trade=bool(row.get("canTrade", True)),
            )
            for row in rows
        ]

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        """Sign in with the trader's user name and API key, find the chosen
        account among theirs, and keep the credentials (encrypted) on the row."""
        firm, user_name, api_key = _login_options(options)
        chosen = account_chosen("ProjectX", cls.venue_accounts(options), options)
        credentials = Credentials(firm.code, user_name, api_key).dumps()
        account_keep(account, chosen, credentials)

    # --- Contracts --------------------------------------------------------------------

    def _cache_key(self, kind: str, value: str) -> str:
        return f"projectx:{kind}:{self.client.login.key}:{value}"

    def contract_id(self, symbol: str) -> str:
        """Our "MNQZ26" (or "MNQ1!", "MNQZ2026") -> ProjectX's contract id, found
        by search."""
        code = symbol
        if not is_contract_code(symbol):
            try:
                code = resolve(symbol).contract or ""
            except SymbolError as exc:
                raise VenueError("unknown-symbol", str(exc)) from None
        if not code:
            raise VenueError(
                "not-a-future", f"ProjectX trades futures; {symbol} is not one."
            )
        key = self._cache_key("id", code)
        found = cache.get(key)
        if found:
            return str(found)
        root, name = contract_name(code)
        for contract in self.client.contracts(root, live=False):
            if names_match(str(contract["name"]), code):
                cache.set(key, contract["id"], CONTRACT_CACHE_SECONDS)
                values = f"{code}|{contract['tickSize']}|{contract['tickValue']}"
                cache.set(
                    self._cache_key("contract", contract["id"]),
                    values,
                    CONTRACT_CACHE_SECONDS,
                )
                return str(contract["id"])
        raise VenueError(
            "contract-not-found", f"ProjectX lists no contract {name} ({code})."
        )

    def venue_symbol(self, symbol: str) -> str:
        """ProjectX's contract id for our contract ("CON.F.US.MNQ.Z26")."""
        return self.contract_id(symbol)

    def _contract(self, contract_id: str) -> tuple[str, Decimal]:
        """ProjectX's contract id -> (our code, its tick size)."""
        code, tick, _ = self._contract_values(contract_id)
        return code, tick

    def _contract_values(self, contract_id: str) -> tuple[str, Decimal, Decimal]:
        """ProjectX's contract id -> (our code, tick size, tick value), cached."""
        key = self._cache_key("contract", contract_id)
        cached = cache.get(key)
        if cached:
            code, tick, value = cached.split("|")
            return code, Decimal(tick), Decimal(value)
        contract = self.client.contract(contract_id)
        code = contract_code(str(contract["name"]), timezone.now().date())
        tick = Decimal(str(contract["tickSize"]))
        value = Decimal(str(contract["tickValue"]))
        cache.set(key, f"{code}|{tick}|{value}", CONTRACT_CACHE_SECONDS)
        return code, tick, value

    # --- Reading ----------------------------------------------------------------------

    def account_snapshot(
        self, rows: list[dict[str, Any]] | None = None
    ) -> AccountSnapshot:
        """The balance ProjectX reports (closed trades) and equity: the balance and
        the open positions (`rows`, read here when not given) marked at the last
        price (REST gives no open P&L)."""
        balance = None
        for found in self.client.accounts(only_active=False):
            if int(found["id"]) == self.account_id:
                balance = Decimal(str(found["balance"]))
        if balance is None:
            raise VenueError(
                "account-not-found",
                "ProjectX does not list this account any more: reconnect it.",
            )
        if rows is None:
            rows = self.client.positions(self.account_id)
        return AccountSnapshot(
            balance=balance, equity=balance + self.open_pnl(rows), currency="USD"
        )

    def open_pnl(self, rows: list[dict[str, Any]]) -> Decimal:
        """Open positions marked at the last price: the market hub's quote while
        it is fresh, else the last one-minute bar's close over REST; one without a
        price counts 0 (and says so in the log)."""
        total = ZERO
        for row in rows:
            size = Decimal(str(row["size"]))
            if not size:
                continue
            contract_id = str(row["contractId"])
            last = quote_of(contract_id) or self.client.last_price(contract_id)
            if last is None:
                log.warning(
                    "projectx %s: no price for %s", self.account.pk, contract_id
                )
                continue
            _, tick, tick_value = self._contract_values(contract_id)
            direction = -1 if int(row["type"]) == PositionType.SHORT else 1
            move = (last - Decimal(str(row["averagePrice"]))) * direction
            total += move / tick * tick_value * size
        return total

    def account_state(self) -> tuple[AccountSnapshot, list[PositionReport]]:
        """One read of the positions serves the equity and the positions (an
        account sync, the risk sweep's measure)."""
        rows = self.client.positions(self.account_id)
        return self.account_snapshot(rows), self._position_reports(rows)

    def positions(self) -> list[PositionReport]:
        return self._position_reports(self.client.positions(self.account_id))

    def _position_reports(self, rows: list[dict[str, Any]]) -> list[PositionReport]:
        reports = []
        for row in rows:
            size = Decimal(str(row["size"]))
            if not size:
                continue  # a closed position (size 0) as the stream reports it
            if int(row["type"]) == PositionType.SHORT:
                size = -size
            code, _ = self._contract(str(row["contractId"]))
            reports.append(
                PositionReport(code, size, Decimal(str(row["averagePrice"])))
            )
        return reports

    def working_orders(self) -> list[OrderReport]:
        return [
            self._report(row, fills=())
            for row in self.client.open_orders(self.account_id)
            if int(row["status"]) in OPEN_STATUSES
        ]

    def _since(self) -> datetime:
        return timezone.now() - timedelta(days=settings.PROJECTX_LOOKBACK_DAYS)

    def find_order(self, client_order_id: str) -> OrderReport | None:
        for row in self.client.orders(self.account_id, self._since()):
            if row.get("customTag") == client_order_id:
                return self._report(row)
        return None

    def _order(self, order_id: int) -> dict[str, Any] | None:
        for row in self.client.orders(self.account_id, self._since()):
            if int(row["id"]) == order_id:
                return row
        return None

    def _fills(
        self, order_id: int, since: datetime | None = None
    ) -> tuple[FillReport, ...]:
        return tuple(
            FillReport(
                venue_fill_id=f"px-{trade['id']}",
                quantity=Decimal(str(trade["size"])),
                price=Decimal(str(trade["price"])),
                commission=Decimal(str(trade.get("fees") or 0))
                + Decimal(str(trade.get("commissions") or 0)),
                filled_at=_when(trade["creationTimestamp"]),
            )
            for trade in self.client.trades(self.account_id, since or self._since())
            if int(trade["orderId"]) == order_id and not trade.get("voided")
        )

    def _report(
        self,
        row: dict[str, Any],
        *,
        fills: tuple[FillReport, ...] | None = None,
        reason: str = "",
    ) -> OrderReport:
        status = STATUSES.get(Status(int(row["status"])), Order.Status.PENDING)
        order_id = int(row["id"])
        if fills is None:
            fills = self._fills(order_id) if row.get("fillVolume") else ()
        filled = Decimal(str(row.get("fillVolume") or 0))
        if status == Order.Status.WORKING and filled:
            status = Order.Status.PARTIALLY_FILLED
        avg = row.get("filledPrice")
        code, _ = self._contract(str(row["contractId"]))
        return OrderReport(
            client_order_id=str(row.get("customTag") or ""),
            venue_order_id=str(order_id),
            status=status,
            filled_quantity=filled,
            avg_fill_price=None if avg is None else Decimal(str(avg)),
            reject_reason=reason,
            fills=fills,
            symbol=code,
        )

    # --- Trading ----------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        refuse_unless_transmitting(self.firm)
        contract_id = self.contract_id(request.symbol)
        body = self._order_body(request, contract_id)
        try:
            order_id = self.client.place(body)
        except ProjectXRefusedError as exc:
            rejected = exc.payload.get("orderId")
            if not rejected:
                # Refused with no order made: maybe because this tag was placed
                # before (ProjectX keeps customTag unique per account).
                found = self.find_order(request.client_order_id)
                if found is not None:
                    return found  # the first one
            if exc.transient:
                raise
            return OrderReport(
                client_order_id=request.client_order_id,
                venue_order_id=str(rejected or ""),
                status=Order.Status.REJECTED,
                reject_reason=f"{exc.code}: {exc.message}",
                symbol=request.symbol,
            )
        # A market order has filled by now, as a rule: its trades say so in one
        # call (the order's own row is read only when they do not add up).
        just_now = timezone.now() - timedelta(minutes=5)
        fills = self._fills(order_id, since=just_now)
        filled = sum((fill.quantity for fill in fills), ZERO)
        if fills and filled == request.quantity:
            cost = sum((fill.price * fill.quantity for fill in fills), ZERO)
            return OrderReport(
                client_order_id=request.client_order_id,
                venue_order_id=str(order_id),
                status=Order.Status.FILLED,
                filled_quantity=filled,
                avg_fill_price=cost / filled,
                fills=fills,
                symbol=request.symbol,
            )
        row = self._order(order_id)
        if row is None:  # accepted, not yet listed: the refresh will find it
            return OrderReport(
                client_order_id=request.client_order_id,
                venue_order_id=str(order_id),
                status=Order.Status.PENDING,
                symbol=request.symbol,
            )
        return self._report(row, fills=fills if row.get("fillVolume") else ())

    def _order_body(self, request: OrderRequest, contract_id: str) -> dict[str, Any]:
        size = request.quantity
        if size <= 0 or size != size.to_integral_value():
            raise VenueError(
                "invalid-quantity",
                f"ProjectX trades whole contracts; {size} is not a whole number.",
            )
        kind = TYPES.get(OrderType(request.order_type))
        if kind is None:
            raise VenueError(
                "order-type-unsupported",
                f"ProjectX has no {request.order_type} orders.",
            )
        body: dict[str, Any] = {
            "accountId": self.account_id,
            "contractId": contract_id,
            "type": int(kind),
            "side": int(SIDES[request.side]),
            "size": int(size),
            "limitPrice": _num(request.limit_price),
            "stopPrice": _num(request.stop_price),
            "trailPrice": None,
            "customTag": request.client_order_id,
        }
        if request.stop_loss is not None or request.take_profit is not None:
            _, tick = self._contract(contract_id)
            entry = request.limit_price or request.stop_price or request.reference_price
            if entry is None:
                raise VenueError(
                    "bracket-needs-price",
                    "ProjectX takes brackets as distances from the entry: send the "
                    "alert's price with it.",
                )
            if request.stop_loss is not None:
                body["stopLossBracket"] = {
                    "ticks": _ticks(entry, request.stop_loss, tick),
                    "type": int(TYPES[OrderType.STOP]),
                }
            if request.take_profit is not None:
                body["takeProfitBracket"] = {
                    "ticks": _ticks(entry, request.take_profit, tick),
                    "type": int(TYPES[OrderType.LIMIT]),
                }
        return body

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        refuse_unless_transmitting(self.firm)
        order_id = int(venue_order_id)
        try:
            self.client.cancel(self.account_id, order_id)
        except ProjectXRefusedError as exc:
            if exc.code != "order-not-found":
                raise
        row = self._order(order_id)
        if row is None:
            raise VenueError("order-not-found", "ProjectX has no such order.")
        return self._report(row)

    def flatten(self) -> list[OrderReport]:
        """Cancel every working order, then close every position at market."""
        refuse_unless_transmitting(self.firm)
        for row in self.client.open_orders(self.account_id):
            try:
                self.client.cancel(self.account_id, int(row["id"]))
            except ProjectXRefusedError as exc:
                # A live or follower account cannot cancel through the API; the
                # positions still close (what a flatten is for).
                log.warning(
                    "flatten %s: order %s not cancelled: %s",
                    self.account.pk,
                    row["id"],
                    exc,
                )
        held = [row for row in self.client.positions(self.account_id) if row["size"]]
        if not held:
            return []
        # The closing orders are the ones that were not there before the closes.
        just_now = timezone.now() - timedelta(minutes=5)
        before = {
            int(row["id"]) for row in self.client.orders(self.account_id, just_now)
        }
        for row in held:
            self.client.close_position(self.account_id, str(row["contractId"]))
        closing = [
            row
            for row in self.client.orders(self.account_id, just_now)
            if int(row["id"]) not in before
        ]
        return [self._report(row) for row in closing]


def quote_store(contract_id: str, last: Decimal) -> None:
    """A quote from the market hub, good for QUOTE_SECONDS (then REST again)."""
    cache.set(f"projectx:quote:{contract_id}", str(last), QUOTE_SECONDS)


def quote_of(contract_id: str) -> Decimal | None:
    raw = cache.get(f"projectx:quote:{contract_id}")
    return Decimal(raw) if raw else None


def _login_options(options: dict[str, Any]) -> tuple[Firm, str, str]:
    firm = firm_of(str(options.get("firm") or "topstepx"))
    user_name = str(options.get("user_name") or "").strip()
    api_key = str(options.get("api_key") or "").strip()
    if not user_name or not api_key:
        raise VenueError(
            "credentials-missing",
            "ProjectX needs your user name and an API key (in the platform: "
            "Settings > API).",
        )
    return firm, user_name, api_key


def _ticks(entry: Decimal, level: Decimal, tick: Decimal) -> int:
    ticks = (abs(entry - level) / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if ticks < 1:
        raise VenueError(
            "bracket-too-close",
            f"A bracket at {level} is less than a tick from the entry {entry}.",
        )
    return int(ticks)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
