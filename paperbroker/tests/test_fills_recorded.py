"""Every close at the paper venue is a Fill row in our books, once: by an exit
alert, by a flatten (the kill switch, terminate), by a bracket's stop loss or
take profit. So the round trips replayed from Fill rows are the venue's own
ledger (PaperTrade) to the cent, whatever closed them."""

from __future__ import annotations

from decimal import Decimal

import pytest

import testkit
from brokers.adapters.base import OrderRequest
from brokers.models import Fill, Order
from brokers.performance import closed_trades
from brokers.services import account_flatten, order_record_venue
from paperbroker.models import PaperAccount, PaperFill, PaperOrder, PaperTrade
from paperbroker.reports import order_report
from paperbroker.services import paper_order_place, price_update, quote_record
from risk.services import account_emergency_close
from testkit.positions import held_in_books
from webhooks.strategies.services import accounts_terminate

pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")


@pytest.fixture(autouse=True)
def _price(db) -> None:
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


def assert_books_match_the_venue(world) -> None:
    """One Fill row per venue fill, and the replay is the venue's ledger."""
    assert Fill.objects.filter(account=world.account).count() == (
        PaperFill.objects.filter(account__broker_account=world.account).count()
    )
    trips = list(closed_trades(accounts=[world.account.pk]))
    booked = list(PaperTrade.objects.order_by("closed_at", "pk"))
    assert len(trips) == len(booked) > 0
    for trip, trade in zip(trips, booked, strict=True):
        assert (trip.side, trip.size) == (trade.direction, trade.quantity)
        assert (trip.entry_price, trip.exit_price) == (
            trade.entry_price,
            trade.exit_price,
        )
        assert (trip.gross_pnl, trip.fee, trip.pnl) == (
            trade.gross_pnl,
            trade.costs,
            trade.pnl,
        )
        assert (trip.opened_at, trip.closed_at) == (trade.opened_at, trade.closed_at)
    assert held_in_books(world) == 0


def test_a_close_by_an_exit_alert_is_a_fill_row(world, clock):
    testkit.alert(world.api_key, qty=2)
    clock.advance(minutes=5)
    quote_record(symbol="BTCUSDT", last=Decimal(110), source="manual")
    exit_all = {"action": "exit", "symbol": "BTCUSDT", "price": "110"}
    testkit.alert(world.api_key, exit_all)
    assert_books_match_the_venue(world)


@pytest.mark.parametrize(
    "flatten",
    [
        lambda account: account_flatten(account=account),
        lambda account: account_emergency_close(account=account),  # kill switch
        lambda account: accounts_terminate(accounts=[account]),
    ],
    ids=["flatten", "emergency-close", "terminate"],
)
def test_a_close_by_a_flatten_is_a_fill_row(world, clock, flatten):
    testkit.alert(world.api_key, qty=2)
    clock.advance(minutes=5)
    quote_record(symbol="BTCUSDT", last=Decimal(90), source="manual")
    flatten(world.account)
    closing = Order.objects.get(account=world.account, side="sell")
    assert closing.client_order_id.startswith("venue-po-")
    assert closing.status == Order.Status.FILLED
    assert_books_match_the_venue(world)
    assert next(closed_trades(accounts=[world.account.pk])).pnl < 0


def test_a_flatten_recorded_again_changes_nothing_twice(world):
    testkit.alert(world.api_key, qty=2)
    account_flatten(account=world.account)
    closing = PaperOrder.objects.get(client_order_id__startswith="flat-")
    for _ in range(2):  # a report read again (a retried flatten, a lost answer)
        order_record_venue(
            account=world.account, report=order_report(closing), side="sell"
        )
    assert Fill.objects.filter(account=world.account).count() == 2
    assert Order.objects.filter(account=world.account).count() == 2
    assert_books_match_the_venue(world)


@pytest.mark.parametrize(
    ("last", "leg"), [("94", "stop"), ("111", "limit")], ids=["stop-loss", "target"]
)
def test_a_close_by_a_bracket_is_a_fill_row(world, clock, last, leg):
    testkit.alert(world.api_key, qty=2, stop_loss="95", take_profit="110")
    clock.advance(minutes=5)
    price_update(symbol="BTCUSDT", last=Decimal(last), source="manual")
    price_update(symbol="BTCUSDT", last=Decimal(last), source="manual")  # again
    exit_order = Order.objects.get(account=world.account, side="sell")
    assert (exit_order.order_type, exit_order.status) == (leg, Order.Status.FILLED)
    assert_books_match_the_venue(world)


def test_a_flatten_of_a_position_opened_outside_our_books_adds_no_lone_close(world):
    paper = PaperAccount.objects.get(broker_account=world.account)
    manual = OrderRequest(
        client_order_id="placed-at-the-venue",
        symbol="BTCUSDT",
        side="buy",
        order_type="market",
        quantity=Decimal(1),
    )
    paper_order_place(account=paper, request=manual)  # no Order, no Fill of ours
    account_flatten(account=world.account)
    # Its opening is not in our books: a close alone would replay as a short.
    assert not Fill.objects.filter(account=world.account).exists()
    assert list(closed_trades(accounts=[world.account.pk])) == []
    assert held_in_books(world) == 0  # the sync mirrors the venue all the same
