"""The adapter contract: what every venue does behind `VenueAdapter`, whatever the
venue. Each venue's tests subclass `AdapterContract` and provide the `venue`
fixture (a funded, flat account at a venue that is up, or its faithful fake);
the paper venue and the scripted venue pass it, and every real venue must.

    class TestPaperVenue(AdapterContract):
        @pytest.fixture
        def venue(self, db) -> ContractVenue: ...

Test-only (it needs pytest): production code never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from brokers.adapters.base import OrderReport, OrderRequest, VenueAdapter, VenueError
from brokers.models import Order, OrderType

ZERO = Decimal(0)


@dataclass
class ContractVenue:
    """One funded, flat account at the venue, and the knobs the contract needs."""

    adapter: VenueAdapter
    symbol: str  # a symbol the venue trades now, in the form orders carry it
    quantity: Decimal  # an order size the account can afford many times over
    price: Decimal  # about where the market is
    set_price: Callable[[Decimal], object]  # move the market of `symbol`


def _request(
    venue: ContractVenue, cid: str, side: str = "buy", **kw: object
) -> OrderRequest:
    fields: dict[str, object] = {
        "client_order_id": cid,
        "symbol": venue.symbol,
        "side": side,
        "order_type": OrderType.MARKET,
        "quantity": venue.quantity,
        "reference_price": venue.price,
        **kw,
    }
    return OrderRequest(**fields)  # type: ignore[arg-type]


def _held(venue: ContractVenue) -> Decimal:
    return sum(
        (p.quantity for p in venue.adapter.positions() if p.symbol == venue.symbol),
        ZERO,
    )


def _assert_plain(report: OrderReport) -> None:
    """Decimals for numbers, timezone-aware UTC for times: nothing else crosses."""
    assert isinstance(report.filled_quantity, Decimal)
    assert report.avg_fill_price is None or isinstance(report.avg_fill_price, Decimal)
    for fill in report.fills:
        assert isinstance(fill.quantity, Decimal) and isinstance(fill.price, Decimal)
        assert fill.filled_at.utcoffset() == timedelta(0), fill.filled_at
        assert fill.filled_at.tzinfo is not None


class AdapterContract:
    """Subclass and provide `venue`; every test here must pass."""

    @pytest.fixture
    def venue(self) -> ContractVenue:
        raise NotImplementedError("a venue's contract test provides `venue`")

    def test_a_fresh_account_reports_its_money_in_decimals_and_holds_nothing(
        self, venue: ContractVenue
    ) -> None:
        snapshot = venue.adapter.account_snapshot()
        assert isinstance(snapshot.balance, Decimal) and snapshot.balance > 0
        assert isinstance(snapshot.equity, Decimal)
        assert snapshot.currency
        assert venue.adapter.positions() == []
        assert venue.adapter.working_orders() == []

    def test_a_market_order_fills_and_shows_as_a_signed_position(
        self, venue: ContractVenue
    ) -> None:
        bought = venue.adapter.place_order(_request(venue, "contract-buy"))
        assert bought.status == Order.Status.FILLED, bought.reject_reason
        assert bought.filled_quantity == venue.quantity
        assert bought.venue_order_id and bought.fills
        _assert_plain(bought)
        assert _held(venue) == venue.quantity
        sold = venue.adapter.place_order(_request(venue, "contract-sell", "sell"))
        assert sold.status == Order.Status.FILLED
        assert _held(venue) == 0

    def test_the_same_client_order_id_twice_is_one_order(
        self, venue: ContractVenue
    ) -> None:
        first = venue.adapter.place_order(_request(venue, "contract-once"))
        again = venue.adapter.place_order(_request(venue, "contract-once"))
        assert again.venue_order_id == first.venue_order_id
        assert again.filled_quantity == first.filled_quantity == venue.quantity
        assert _held(venue) == venue.quantity

    def test_an_order_is_found_by_its_client_order_id(
        self, venue: ContractVenue
    ) -> None:
        placed = venue.adapter.place_order(_request(venue, "contract-find"))
        found = venue.adapter.find_order("contract-find")
        assert found is not None
        assert (found.venue_order_id, found.status) == (
            placed.venue_order_id,
            placed.status,
        )
        assert venue.adapter.find_order("contract-never-sent") is None

    def test_a_limit_away_from_the_market_rests_until_cancelled(
        self, venue: ContractVenue
    ) -> None:
        far = (venue.price / 2).quantize(Decimal(1))
        request = _request(
            venue,
            "contract-rest",
            order_type=OrderType.LIMIT,
            limit_price=far,
            time_in_force="GTC",
            reference_price=None,
        )
        resting = venue.adapter.place_order(request)
        assert resting.status == Order.Status.WORKING, resting.reject_reason
        working = venue.adapter.working_orders()
        assert [r.client_order_id for r in working] == ["contract-rest"]
        cancelled = venue.adapter.cancel_order(resting.venue_order_id)
        assert cancelled.status == Order.Status.CANCELLED
        assert venue.adapter.working_orders() == []

    def test_a_resting_limit_fills_when_the_market_crosses_it(
        self, venue: ContractVenue
    ) -> None:
        below = (venue.price * Decimal("0.9")).quantize(Decimal(1))
        request = _request(
            venue,
            "contract-cross",
            order_type=OrderType.LIMIT,
            limit_price=below,
            time_in_force="GTC",
            reference_price=None,
        )
        venue.adapter.place_order(request)
        venue.set_price(below - 1)
        found = venue.adapter.find_order("contract-cross")
        assert found is not None and found.status == Order.Status.FILLED
        assert _held(venue) == venue.quantity

    def test_flatten_cancels_working_orders_and_closes_every_position(
        self, venue: ContractVenue
    ) -> None:
        venue.adapter.place_order(_request(venue, "contract-open"))
        far = (venue.price / 2).quantize(Decimal(1))
        venue.adapter.place_order(
            _request(
                venue,
                "contract-working",
                order_type=OrderType.LIMIT,
                limit_price=far,
                time_in_force="GTC",
                reference_price=None,
            )
        )
        closing = venue.adapter.flatten()
        assert [r.status for r in closing] == [Order.Status.FILLED]
        assert venue.adapter.positions() == []
        assert venue.adapter.working_orders() == []
        assert venue.adapter.flatten() == []  # idempotent: nothing left to do

    def test_a_refused_order_is_a_rejected_report_or_a_lasting_error(
        self, venue: ContractVenue
    ) -> None:
        try:
            report = venue.adapter.place_order(
                _request(venue, "contract-absurd", quantity=venue.quantity * 10**9)
            )
        except VenueError as exc:
            assert not exc.transient and exc.code and exc.message
            return
        assert report.status == Order.Status.REJECTED
        code, _, sentence = report.reject_reason.partition(": ")
        assert code and sentence, report.reject_reason

    def test_several_accounts_are_measured_at_once(self, venue: ContractVenue) -> None:
        account = venue.adapter.account
        measured = type(venue.adapter).measure_many([account])
        snapshot = venue.adapter.account_snapshot()
        assert measured[account.pk].balance == snapshot.balance
        assert measured[account.pk].flat is True
        assert isinstance(measured[account.pk].equity, Decimal)


def as_the_executor_would(
    adapter: VenueAdapter, request: OrderRequest, *, attempts: int = 6
) -> tuple[OrderReport, int]:
    """Send `request` the way the executor does through venue faults: a
    transient error is retried, and every retry looks the order up first
    (`find_order`) before it places anything. The report, and how many
    transient errors it took."""
    failures = 0
    for attempt in range(attempts):
        try:
            found = adapter.find_order(request.client_order_id) if attempt else None
            if found is not None and found.status in Order.FINAL:
                return found, failures
            return adapter.place_order(request), failures
        except VenueError as exc:
            if not exc.transient:
                raise
            failures += 1
    raise AssertionError(f"{request.client_order_id}: still failing after {attempts}")
