"""The paper venue behind the common adapter interface, calling its services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import prefetch_related_objects

from brokers.adapters.base import (
    AccountSnapshot,
    Measure,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAdapter,
    VenueError,
)
from brokers.models import BrokerAccount
from paperbroker.accounting import account_state, accounts_measure
from paperbroker.models import PaperAccount, PaperOrder, PaperPosition
from paperbroker.realtime import flatten_and_notify, notify
from paperbroker.reports import order_report
from paperbroker.services import (
    paper_account_open,
    paper_order_cancel,
    paper_order_place,
)


class PaperAdapter(VenueAdapter):
    venue = "paper"
    _paper: PaperAccount | None = None

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        try:
            balance = Decimal(str(options.get("initial_balance", "100000")))
        except InvalidOperation:
            raise VenueError(
                "invalid-balance", "The initial balance must be a number."
            ) from None
        paper_account_open(
            broker_account=account, initial_balance=balance, currency=account.currency
        )

    @classmethod
    def measure_many(cls, accounts: list[BrokerAccount]) -> dict[int, Measure]:
        return accounts_measure([account.pk for account in accounts])

    @property
    def paper(self) -> PaperAccount:
        """The venue's record, read once per adapter (one piece of work): the
        services lock and re-read it before they change or judge anything."""
        if self._paper is None:
            self._paper = self._read()
        return self._paper

    def _read(self) -> PaperAccount:
        try:
            paper = PaperAccount.objects.get(broker_account=self.account)
        except PaperAccount.DoesNotExist:
            raise VenueError(
                "account-not-found", "This paper account has no venue record."
            ) from None
        paper.broker_account = self.account
        return paper

    def account_snapshot(self) -> AccountSnapshot:
        paper = self._paper = self._read()  # balances move: always the latest
        state = account_state(paper)
        return AccountSnapshot(
            balance=paper.cash_balance, equity=state.equity, currency=paper.currency
        )

    def positions(self) -> list[PositionReport]:
        rows = PaperPosition.objects.filter(account=self.paper).exclude(quantity=0)
        return [PositionReport(row.symbol, row.quantity, row.avg_price) for row in rows]

    def working_orders(self) -> list[OrderReport]:
        orders = PaperOrder.objects.filter(
            account=self.paper, status=PaperOrder.Status.WORKING
        )
        return [order_report(order) for order in orders]

    def place_order(self, request: OrderRequest) -> OrderReport:
        paper = self.paper
        order = paper_order_place(account=paper, request=request)
        # A new order carries the account the service locked and changed: as fresh
        # as a re-read. A repeated client order id returns the first order without.
        fresh = PaperOrder.account.is_cached(order)
        if fresh:
            order.account.broker_account = self.account
        prefetch_related_objects([order], "fills")  # for the news and the report
        notify(
            order.account if fresh else paper,
            [order],
            account_changed=True,
            fresh=fresh,
        )
        return order_report(order)

    def find_order(self, client_order_id: str) -> OrderReport | None:
        order = PaperOrder.objects.filter(
            account=self.paper, client_order_id=client_order_id
        ).first()
        return None if order is None else order_report(order)

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        try:
            order_id = int(venue_order_id.removeprefix("po-"))
        except ValueError:
            raise VenueError(
                "order-not-found", f"No order {venue_order_id!r}."
            ) from None
        return order_report(paper_order_cancel(account=self.paper, order_id=order_id))

    def flatten(self) -> list[OrderReport]:
        """The closing orders; the cancelled and closing orders are announced."""
        return [order_report(order) for order in flatten_and_notify(account=self.paper)]
