"""MetaTrader 4 and 5 behind VenueAdapter: an order is a command queued for the
account's Expert Advisor, and read back from its acknowledgement.

Exactly once: a command is written once per (account, client order id) before
anyone is told of it, so a retried task finds it; the EA is given it until it
acknowledges it and executes a command id once (docs/ea-protocol.md). Positions,
balance and equity are the EA's last report. An order that reduces the account's
position closes it (MetaTrader hedges: an opposite order would open another);
every other order opens.

The EA offline: by the account's setting an entry is refused at once
(`ea-offline`), or waits `queue_seconds` for it; exits, cancels and flattens always
wait, and a flatten waits until it is done.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from brokers.adapters.base import (
    AccountSnapshot,
    FillReport,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAdapter,
    VenueError,
    order_tag,
)
from brokers.instruments.catalogue import aliases
from brokers.models import BrokerAccount, Order, OrderType
from brokers.positions import net, signed
from brokers.venues.metatrader import doorbell
from brokers.venues.metatrader.models import Command, Terminal
from brokers.venues.metatrader.services import offline_sentence, terminal_create

ZERO = Decimal(0)
COMMENT_LENGTH = 31
OPEN_TYPES: dict[str, str] = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop",
}


class MetaTraderAdapter(VenueAdapter):
    venue = "mt5"  # and "mt4": one protocol, one EA per platform

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        policy = str(options.get("offline_policy") or Terminal.OfflinePolicy.QUEUE)
        if policy not in Terminal.OfflinePolicy.values:
            raise VenueError(
                "invalid-offline-policy", "offline_policy is 'queue' or 'reject'."
            )
        seconds = options.get("queue_seconds")
        terminal_create(
            account=account,
            offline_policy=policy,
            queue_seconds=None if seconds is None else int(seconds),
        )

    @property
    def terminal(self) -> Terminal:
        """The EA's row as it stands now: read afresh each time, since a heartbeat
        may land between two reads of one execution."""
        terminal = Terminal.objects.filter(account_id=self.account.pk).first()
        if terminal is None:
            raise VenueError(
                "ea-not-set-up", f"{self.account.name} has no Expert Advisor."
            )
        return terminal

    # --- Reading ----------------------------------------------------------------------

    def _reported(self) -> Terminal:
        terminal = self.terminal
        if terminal.reported_at is None:
            raise VenueError(
                "ea-not-connected",
                f"The Expert Advisor of {self.account.name} has not reported yet: "
                "install it in the terminal and paste the account's EA token.",
                transient=True,
            )
        return terminal

    def account_error(self) -> VenueError | None:
        """While the EA is marked offline, its account says so (a sync from the
        stored report must not clear it; the EA's next heartbeat does)."""
        terminal = self.terminal
        if terminal.offline_at is None:
            return None
        return VenueError("ea-offline", offline_sentence(terminal))

    def account_snapshot(self) -> AccountSnapshot:
        terminal = self._reported()
        return AccountSnapshot(
            balance=terminal.balance or ZERO,
            equity=terminal.equity or ZERO,
            currency=terminal.currency or self.account.currency,
        )

    def positions(self) -> list[PositionReport]:
        """Net per symbol: the EA's last report (oldest ticket first, hedged
        tickets summed, signed), then the fills it acknowledged since, which the
        report cannot hold yet; none before its first report (a new account is
        flat)."""
        books: dict[str, tuple[Decimal, Decimal | None]] = {}

        def book(symbol: str, side: str, volume: Decimal, price: Decimal) -> None:
            quantity, avg = books.get(symbol, (ZERO, None))
            netted = net(quantity, avg, side, volume, price)
            books[symbol] = (netted.quantity, netted.avg_price)

        terminal = self.terminal
        rows = sorted(terminal.positions, key=lambda row: _number(row, "ticket"))
        for row in rows:
            symbol = self._ours(str(row["symbol"]))
            book(
                symbol, str(row["side"]), Decimal(row["volume"]), Decimal(row["price"])
            )
        since = self._moving(unreported=terminal.reports)
        for symbol, side, filled, price in since.values_list(
            "symbol", "side", "filled_volume", "fill_price"
        ):
            if filled > 0 and price is not None:
                book(symbol, side, filled, price)
        return [
            PositionReport(symbol, quantity, avg)
            for symbol, (quantity, avg) in sorted(books.items())
            if quantity != ZERO
        ]

    def _moving(
        self, *, unreported: int | None = None, outstanding: bool = False
    ) -> Any:
        """Market opens and closes not in the EA's report number `unreported`:
        filled after it; or (`outstanding`) not yet done."""
        which = Q(pk__in=[])
        if unreported is not None:
            which |= Q(
                status__in=(Command.Status.FILLED, Command.Status.PARTIALLY_FILLED)
            ) & (Q(reported_in__isnull=True) | Q(reported_in__gt=unreported))
        if outstanding:
            which |= Q(status__in=Command.OUTSTANDING)
        return Command.objects.filter(
            which,
            account_id=self.account.pk,
            order_type="market",
            action__in=(Command.Action.OPEN, Command.Action.CLOSE),
        ).order_by("pk")

    def working_orders(self) -> list[OrderReport]:
        return [
            OrderReport(
                client_order_id=str(row.get("comment", "")),
                venue_order_id=str(row["ticket"]),
                status=Order.Status.WORKING,
                symbol=self._ours(str(row["symbol"])),
            )
            for row in self._reported().orders
        ]

    def _ours(self, name: str) -> str:
        """The EA's name for a symbol (suffix off) -> ours."""
        reverse = {theirs: ours for ours, theirs in self.account.venue_symbols.items()}
        upper = name.upper()
        return reverse.get(name) or aliases().get(upper) or upper

    def venue_symbol(self, symbol: str) -> str:
        return str(self.account.venue_symbols.get(symbol, symbol))

    # --- Orders -----------------------------------------------------------------------

    def find_order(self, client_order_id: str) -> OrderReport | None:
        command = Command.objects.filter(
            account_id=self.account.pk, client_order_id=client_order_id
        ).first()
        return None if command is None else command_report(command)

    def place_order(self, request: OrderRequest) -> OrderReport:
        found = self.find_order(request.client_order_id)
        if found is not None:
            return found
        held = self._held(request.symbol)
        closing = (
            request.order_type == OrderType.MARKET
            and held != ZERO
            and (held > ZERO) != (request.side == "buy")
        )
        if not closing and request.order_type not in OPEN_TYPES:
            raise VenueError(
                "order-type-unsupported",
                f"The Expert Advisor places market, limit and stop orders, not "
                f"{request.order_type.replace('_', ' ')}.",
            )
        fields: dict[str, Any] = {
            "action": Command.Action.CLOSE if closing else Command.Action.OPEN,
            "symbol": request.symbol,
            "venue_symbol": self.venue_symbol(request.symbol),
            "side": request.side,
            "order_type": "market" if closing else OPEN_TYPES[request.order_type],
            "volume": request.quantity,
            "price": request.limit_price or request.stop_price,
            "stop_loss": None if closing else request.stop_loss,
            "take_profit": None if closing else request.take_profit,
            "after": None if closing else self._exit_before(request),
        }
        command = self._queue(request.client_order_id, fields, entry=not closing)
        return command_report(command)

    def _held(self, symbol: str) -> Decimal:
        """The position the next command meets at the EA: ours (`positions`), moved
        by the commands queued before it (a flip's exit before its entry)."""
        held = {p.symbol: p.quantity for p in self.positions()}.get(symbol, ZERO)
        for side, volume in (
            self._moving(outstanding=True)
            .filter(symbol=symbol)
            .values_list("side", "volume")
        ):
            held += signed(side, volume)
        return held

    def _exit_before(self, request: OrderRequest) -> Command | None:
        """A flip's entry runs only after its exit filled: the close of the same
        symbol queued by the same execution ("tf-<signal>-<account>-<leg>"),
        while still undone. Exits never wait on one another."""
        stem, _, _ = request.client_order_id.rpartition("-")
        if not request.client_order_id.startswith("tf-") or not stem:
            return None
        return (
            Command.objects.filter(
                account_id=self.account.pk,
                client_order_id__startswith=stem + "-",
                action=Command.Action.CLOSE,
                symbol=request.symbol,
                status__in=Command.OUTSTANDING,
            )
            .order_by("-pk")
            .first()
        )

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        """A cancel of a pending order (a repeat finds the one still undone; one
        that expired or failed is sent again)."""
        cancels = Command.objects.filter(
            account_id=self.account.pk,
            action=Command.Action.CANCEL,
            ticket=venue_order_id,
        )
        undone = cancels.filter(status__in=Command.OUTSTANDING).first()
        if undone is not None:
            return command_report(undone)
        command = self._queue(
            f"cancel-{venue_order_id}-{cancels.count() + 1}",
            {"action": Command.Action.CANCEL, "ticket": venue_order_id},
            entry=False,
        )
        return command_report(command)

    def flatten(self) -> list[OrderReport]:
        """One flatten command (a repeated flatten finds the one still undone),
        after dropping the entries the EA was not yet given; none when the EA's
        report holds nothing and nothing is on its way to it."""
        Command.objects.filter(
            account_id=self.account.pk,
            status=Command.Status.QUEUED,
            action=Command.Action.OPEN,
        ).update(
            status=Command.Status.CANCELLED,
            note="flattened: the account was flattened before the EA had it",
            acked_at=timezone.now(),
        )
        undone = (
            Command.objects.filter(
                account_id=self.account.pk,
                action=Command.Action.FLATTEN,
                status__in=Command.OUTSTANDING,
            )
            .order_by("pk")
            .first()
        )
        if undone is not None:
            return [command_report(undone)]
        # Anything given out, resting at the broker (accepted) or filled since
        # the report, and the report may not hold what a flatten must close.
        terminal = self.terminal
        busy = Command.objects.filter(
            Q(status__in=(Command.Status.DELIVERED, Command.Status.ACCEPTED))
            | Q(
                status__in=(Command.Status.FILLED, Command.Status.PARTIALLY_FILLED),
                reported_in__isnull=True,
            ),
            account_id=self.account.pk,
        ).exists()
        known_flat = (
            terminal.reported_at is not None
            and not self.positions()
            and not terminal.orders
        )
        if known_flat and not busy:
            return []  # nothing held, nothing resting, nothing on its way
        number = Command.objects.filter(
            account_id=self.account.pk, action=Command.Action.FLATTEN
        ).count()
        command = self._queue(
            f"flatten-{number + 1}", {"action": Command.Action.FLATTEN}, entry=False
        )
        return [command_report(command)]

    def _queue(
        self, client_order_id: str, fields: dict[str, Any], *, entry: bool
    ) -> Command:
        terminal = self.terminal
        now = timezone.now()
        online = terminal.online(now)
        note = ""
        if online:
            ttl = settings.EA_COMMAND_TTL_SECONDS
        else:
            sentence = offline_sentence(terminal)
            if entry and terminal.offline_policy == Terminal.OfflinePolicy.REJECT:
                raise VenueError(
                    "ea-offline", sentence + " This account refuses orders meanwhile."
                )
            ttl = terminal.queue_seconds
            note = f"ea-offline: {sentence} The order waits {ttl} s for it."
        if fields["action"] == Command.Action.FLATTEN:
            expires = None
        else:
            expires = now + timedelta(seconds=ttl)
        try:
            with transaction.atomic():
                command = Command.objects.create(
                    account_id=self.account.pk,
                    client_order_id=client_order_id,
                    comment=order_tag(client_order_id, COMMENT_LENGTH),
                    expires_at=expires,
                    note=note[:255],
                    **fields,
                )
        except IntegrityError:  # a racing retry wrote it first
            return Command.objects.get(
                account_id=self.account.pk, client_order_id=client_order_id
            )
        transaction.on_commit(lambda: doorbell.ring(self.account.pk))
        return command


def _number(row: dict[str, Any], key: str) -> int:
    try:
        return int(str(row.get(key, 0)))
    except ValueError:
        return 0


def command_report(command: Command) -> OrderReport:
    """A command as an order: its status, and its fill once the EA filled it."""
    status = command.status
    fills: tuple[FillReport, ...] = ()
    filled = ZERO
    reason = ""
    if status in (Command.Status.FILLED, Command.Status.PARTIALLY_FILLED):
        state = Order.Status.FILLED  # what did not fill of a market order is gone
        filled = command.filled_volume
        if filled > 0 and command.fill_price is not None:
            fills = (
                FillReport(
                    venue_fill_id=command.wire_id,
                    quantity=filled,
                    price=command.fill_price,
                    commission=ZERO,
                    filled_at=command.executed_at or command.acked_at or timezone.now(),
                ),
            )
    elif status == Command.Status.ACCEPTED:
        state = Order.Status.WORKING
    elif status == Command.Status.REJECTED:
        state = Order.Status.REJECTED
        word = command.retcode_text or "rejected"
        code = f" (MetaTrader {command.retcode})" if command.retcode else ""
        reason = f"{word}: The terminal refused it{code}."
    elif status == Command.Status.EXPIRED:
        state = Order.Status.REJECTED
        if command.delivered_at is None:
            waited = (command.expires_at or command.created_at) - command.created_at
            reason = (
                "ea-offline: The Expert Advisor did not collect the order within "
                f"{int(waited.total_seconds())} s; it expired unsent."
            )
        else:
            reason = f"expired: {command.note or 'The EA had it too late.'}"
    elif status == Command.Status.CANCELLED:
        state = Order.Status.CANCELLED
        reason = command.note
    else:
        state = Order.Status.PENDING
        reason = command.note
    return OrderReport(
        client_order_id=command.client_order_id,
        venue_order_id=command.result_ticket or command.wire_id,
        status=state,
        filled_quantity=filled,
        avg_fill_price=command.fill_price if filled else None,
        reject_reason=reason,
        fills=fills,
        symbol=command.symbol,
    )
