"""The paper venue: believable fills, sessions, brackets, costs and accounting."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

import pytest

from brokers.adapters.base import OrderRequest
from brokers.instruments import resolve
from paperbroker.accounting import account_state
from paperbroker.models import PaperAccount, PaperOrder, PaperPosition, PaperTrade
from paperbroker.services import (
    paper_account_flatten,
    paper_account_reset,
    paper_order_cancel,
    paper_order_modify,
    paper_order_place,
    price_update,
    quote_record,
)

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

MONDAY_OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # CME and NYSE open
SATURDAY = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
_ids = count(1)


@pytest.fixture
def paper(world) -> PaperAccount:
    return PaperAccount.objects.get(broker_account=world.account)


def order(
    paper, side="buy", qty="1", symbol="BTCUSDT", kind="market", at=None, **extra
):
    request = OrderRequest(
        client_order_id=f"t-{next(_ids)}",
        symbol=symbol,
        side=side,
        order_type=kind,
        quantity=Decimal(qty),
        **{
            k: Decimal(str(v))
            if isinstance(v, int | float | str) and k != "time_in_force"
            else v
            for k, v in extra.items()
        },
    )
    placed = paper_order_place(account=paper, request=request, at=at)
    placed.refresh_from_db()
    return placed


def reason(placed: PaperOrder) -> str:
    return placed.reject_reason.partition(":")[0]


def test_a_limit_buy_below_the_market_waits_until_the_price_crosses_it(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    limit = order(paper, kind="limit", limit_price="95.00", time_in_force="GTC")
    assert limit.status == PaperOrder.Status.WORKING
    price_update(symbol="BTCUSDT", last=Decimal("96.00"), source="synthetic")
    limit.refresh_from_db()
    assert limit.status == PaperOrder.Status.WORKING  # 96 never traded at 95
    price_update(symbol="BTCUSDT", last=Decimal("94.50"), source="synthetic")
    limit.refresh_from_db()
    assert limit.status == PaperOrder.Status.FILLED
    assert limit.avg_fill_price <= Decimal(95)  # at the limit or better


def test_a_market_order_when_the_session_is_closed_is_rejected(paper):
    contract = resolve("MNQ1!").contract
    quote_record(symbol=contract, last=Decimal(21000), source="manual")
    placed = order(paper, symbol=contract, at=SATURDAY)
    assert (
        placed.status == PaperOrder.Status.REJECTED
        and reason(placed) == "market-closed"
    )
    assert "GTC" in placed.reject_reason


def test_a_gtc_limit_placed_while_closed_is_held_and_fills_when_the_session_opens(
    paper,
):
    contract = resolve("MNQ1!").contract
    quote_record(symbol=contract, last=Decimal(21000), source="manual")
    held = order(
        paper,
        symbol=contract,
        kind="limit",
        limit_price="21001.00",
        time_in_force="GTC",
        at=SATURDAY,
    )
    assert held.status == PaperOrder.Status.WORKING
    from paperbroker.services import orders_evaluate

    orders_evaluate(symbol=contract, at=SATURDAY)
    held.refresh_from_db()
    assert held.status == PaperOrder.Status.WORKING  # still closed
    orders_evaluate(symbol=contract, at=MONDAY_OPEN)
    held.refresh_from_db()
    assert held.status == PaperOrder.Status.FILLED


def test_futures_pnl_uses_the_point_value_and_costs_per_contract(paper):
    contract = resolve("MNQ1!").contract  # $2 a point, tick 0.25
    quote_record(symbol=contract, last=Decimal(21000), source="manual")
    order(paper, symbol=contract, qty="2", at=MONDAY_OPEN)  # buys at the ask 21000.25
    price_update(symbol=contract, last=Decimal(21010), source="manual")
    order(
        paper, side="sell", symbol=contract, qty="2", at=MONDAY_OPEN
    )  # sells at 21010
    trade = PaperTrade.objects.get()
    assert trade.gross_pnl == Decimal("39.00")  # 9.75 points x 2 contracts x $2
    assert trade.costs == Decimal("14.08")  # (2.25 + 1.27) x 2 contracts x 2 sides
    paper.refresh_from_db()
    assert paper.cash_balance == Decimal(50000) + trade.pnl


def test_a_bracket_attaches_oco_children_and_only_one_ever_fills(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    entry = order(paper, stop_loss="95.00", take_profit="110.00")
    assert entry.status == PaperOrder.Status.FILLED
    sl, tp = (
        entry.children.order_by("order_type")[1],
        entry.children.order_by("order_type")[0],
    )
    assert (sl.order_type, sl.stop_price, tp.order_type, tp.limit_price) == (
        "stop",
        95,
        "limit",
        110,
    )
    price_update(symbol="BTCUSDT", last=Decimal("111"), source="manual")
    price_update(symbol="BTCUSDT", last=Decimal("90"), source="manual")
    statuses = sorted(entry.children.values_list("status", flat=True))
    assert statuses == ["cancelled", "filled"]
    assert PaperPosition.objects.get(symbol="BTCUSDT").quantity == 0


def test_a_stop_triggers_on_touch_and_fills_at_the_market(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    stop = order(paper, kind="stop", stop_price="105.00", time_in_force="GTC")
    price_update(symbol="BTCUSDT", last=Decimal("104.99"), source="manual")
    stop.refresh_from_db()
    assert stop.status == PaperOrder.Status.WORKING
    price_update(symbol="BTCUSDT", last=Decimal("105.00"), source="manual")
    stop.refresh_from_db()
    assert stop.status == PaperOrder.Status.FILLED and stop.avg_fill_price == Decimal(
        "105.01"
    )


def test_a_trailing_stop_follows_the_high_and_triggers_on_the_pullback(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    order(paper, qty="1")
    trail = order(
        paper,
        side="sell",
        kind="trailing_stop",
        trail_distance="2.00",
        time_in_force="GTC",
    )
    for last in ("103", "106", "104.50"):
        price_update(symbol="BTCUSDT", last=Decimal(last), source="manual")
    trail.refresh_from_db()
    assert (trail.status, trail.stop_price) == (PaperOrder.Status.WORKING, Decimal(104))
    price_update(symbol="BTCUSDT", last=Decimal("103.90"), source="manual")
    trail.refresh_from_db()
    assert trail.status == PaperOrder.Status.FILLED


def test_an_ioc_limit_that_cannot_fill_at_once_is_cancelled(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    placed = order(paper, kind="limit", limit_price="90.00", time_in_force="IOC")
    assert placed.status == PaperOrder.Status.CANCELLED


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"qty": "0"}, "invalid-size"),
        ({"qty": "1.5", "symbol": "MNQ1!"}, "invalid-size"),
        ({"kind": "limit", "limit_price": "100.005"}, "invalid-price"),
        ({"kind": "limit"}, "invalid-price"),
        ({"qty": "10000"}, "insufficient-buying-power"),
        ({"symbol": "NOPE"}, "unknown-symbol"),
        ({"stop_loss": "120.00"}, "invalid-bracket"),
    ],
)
def test_bad_orders_are_rejected_with_a_clear_reason(paper, extra, code):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    symbol = extra.pop("symbol", "BTCUSDT")
    if symbol == "MNQ1!":
        symbol = resolve(symbol).contract
        quote_record(symbol=symbol, last=Decimal(21000), source="manual")
    placed = order(paper, symbol=symbol, at=MONDAY_OPEN, **extra)
    assert placed.status == PaperOrder.Status.REJECTED and reason(placed) == code
    assert placed.reject_reason.endswith(".")


def test_modify_cancel_flatten_and_reset(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    working = order(paper, kind="limit", limit_price="90.00", time_in_force="GTC")
    paper_order_modify(
        account=paper, order_id=working.pk, limit_price=Decimal("101.00")
    )
    working.refresh_from_db()
    assert working.status == PaperOrder.Status.FILLED  # the new price is marketable
    other = order(paper, kind="limit", limit_price="50.00", time_in_force="GTC")
    assert paper_order_cancel(account=paper, order_id=other.pk).status == "cancelled"
    paper_account_flatten(account=paper)
    assert PaperPosition.objects.get(symbol="BTCUSDT").quantity == 0
    paper_account_reset(account=paper)
    paper.refresh_from_db()
    assert (
        paper.cash_balance == paper.initial_balance
        and not PaperOrder.objects.filter(account=paper).exists()
    )


def test_equity_is_cash_plus_open_pnl_and_buying_power_subtracts_margin(paper):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    order(paper, qty="10")
    quote_record(symbol="BTCUSDT", last=Decimal(110), source="manual")
    paper.refresh_from_db()
    state = account_state(paper)
    assert state.unrealized_pnl == Decimal("99.90")  # (110 - 100.01) x 10
    assert state.equity == paper.cash_balance + state.unrealized_pnl
    assert state.buying_power == state.equity - Decimal(1100)  # crypto: fully paid


def test_forex_pnl_in_yen_is_converted_to_the_accounts_dollars(paper):
    quote_record(symbol="USDJPY", last=Decimal("150.000"), source="manual")
    order(paper, symbol="USDJPY", qty="1", at=MONDAY_OPEN)  # buys 1 lot at 150.001
    price_update(symbol="USDJPY", last=Decimal("151.000"), source="manual")
    order(paper, side="sell", symbol="USDJPY", qty="1", at=MONDAY_OPEN)  # at 151.000
    trade = PaperTrade.objects.get(symbol="USDJPY")
    # 0.999 yen x 100,000 = 99,900 yen, at 151 yen a dollar.
    assert trade.gross_pnl == Decimal("661.59")


def test_forex_pnl_in_dollars_needs_no_conversion(paper):
    quote_record(symbol="EURUSD", last=Decimal("1.08000"), source="manual")
    order(paper, symbol="EURUSD", qty="1", at=MONDAY_OPEN)  # 1.08001
    price_update(symbol="EURUSD", last=Decimal("1.08101"), source="manual")
    order(paper, side="sell", symbol="EURUSD", qty="1", at=MONDAY_OPEN)  # 1.08101
    assert PaperTrade.objects.get(symbol="EURUSD").gross_pnl == Decimal("100.00")


def test_an_alert_price_is_a_hint_where_the_market_has_a_price_of_its_own(world):
    """The stranger's alert claims BTC is $1: it neither fills there nor marks
    anyone there, the stranger included; the market's price rules."""
    from testkit.factories import PaperAccountFactory

    mine = PaperAccount.objects.get(broker_account=world.account)
    stranger_account = PaperAccountFactory.create(name="Stranger")
    stranger = PaperAccount.objects.get(broker_account=stranger_account)
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    assert order(stranger, qty="1", reference_price="1.00").avg_fill_price == Decimal(
        "100.01"
    )
    assert order(mine, qty="1").avg_fill_price == Decimal("100.01")
    for account in (stranger, mine):
        state = account_state(PaperAccount.objects.get(pk=account.pk))
        assert state.positions[0].market_price == Decimal(100)


def test_a_stale_alert_price_never_re_marks_a_position(paper):
    """An ES long held at the market's 6000 was marked down $62k by an alert
    that said `price 4750`."""
    quote_record(symbol="BTCUSDT", last=Decimal(6000), source="synthetic")
    order(paper, qty="1")
    before = account_state(PaperAccount.objects.get(pk=paper.pk)).equity
    order(
        paper,
        qty="1",
        side="sell",
        kind="limit",
        limit_price="9000.00",
        time_in_force="GTC",
        reference_price="4750",
    )
    after = account_state(PaperAccount.objects.get(pk=paper.pk))
    assert after.positions[0].market_price == Decimal(6000)
    assert after.equity == before


def test_without_a_market_price_the_alert_prices_its_order_and_its_account(paper):
    filled = order(paper, qty="1", reference_price="1.2500")  # no quote for it yet
    assert filled.status == PaperOrder.Status.FILLED
    state = account_state(PaperAccount.objects.get(pk=paper.pk))
    assert state.positions[0].market_price == Decimal("1.25")
    quote_record(symbol="BTCUSDT", last=Decimal("1.30"), source="synthetic")
    state = account_state(PaperAccount.objects.get(pk=paper.pk))
    assert state.positions[0].market_price == Decimal("1.30")  # the market, now


def test_a_modify_is_checked_like_a_new_order(paper):
    from brokers.adapters.base import VenueError

    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    working = order(paper, kind="limit", limit_price="50.00", time_in_force="GTC")
    with pytest.raises(VenueError) as zero:
        paper_order_modify(account=paper, order_id=working.pk, quantity=Decimal(0))
    with pytest.raises(VenueError) as huge:
        paper_order_modify(account=paper, order_id=working.pk, quantity=Decimal(5000))
    assert (zero.value.code, huge.value.code) == (
        "invalid-size",
        "insufficient-buying-power",
    )
    working.refresh_from_db()
    assert working.quantity == 1 and working.status == PaperOrder.Status.WORKING


def test_a_gtc_order_held_while_closed_is_margined_at_once(paper):
    contract = resolve("MES1!").contract  # $50 intraday margin a contract
    quote_record(symbol=contract, last=Decimal(6000), source="manual")
    held = order(
        paper,
        symbol=contract,
        qty="2000",
        kind="limit",
        limit_price="6000.00",
        time_in_force="GTC",
        at=SATURDAY,
    )
    assert reason(held) == "insufficient-buying-power"
