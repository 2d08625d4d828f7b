"""TradeLocker behind `VenueAdapter`, against the fake: the contract every venue
keeps; exits that close hedged positions by id, exactly once through a lost
answer or a crash; a placement whose answer is lost found by its strategyId;
brackets on the position; instruments by the broker's own names; connecting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.base import OrderRequest, VenueError
from brokers.adapters.contract import AdapterContract, ContractVenue
from brokers.models import BrokerAccount, Order, OrderType, PositionClose
from brokers.venues.tradelocker.adapter import TradeLockerAdapter, strategy_id

from .conftest import EMAIL, login_options

LOT = Decimal("0.10")


class TestTradeLockerVenue(AdapterContract):
    @pytest.fixture
    def venue(self, connected) -> ContractVenue:
        return ContractVenue(
            adapter=connected.adapter,
            symbol=connected.symbol,
            quantity=LOT,
            price=Decimal(2000),
            set_price=connected.price,
        )


def order(connected, cid: str, side: str = "buy", **fields) -> OrderRequest:
    values = {
        "order_type": OrderType.MARKET,
        "quantity": LOT,
        "reference_price": Decimal(2000),
        **fields,
    }
    return OrderRequest(
        client_order_id=cid, symbol=connected.symbol, side=side, **values
    )


def open_positions(fake) -> list[tuple[str, Decimal]]:
    return [(str(p.side), p.qty) for p in fake.positions.values()]


def closes_sent(fake) -> int:
    return sum(1 for call in fake.calls if call.startswith("DELETE /trade/positions/"))


def placements(fake, cid: str) -> int:
    tag = strategy_id(cid)
    return sum(
        1 for o in fake.orders.values() if o.strategy_id == tag and not o.closing
    )


def test_an_exit_closes_the_long_by_id_instead_of_opening_a_short(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.place_order(order(connected, "tf-1-1-2"))
    [held] = fake.positions.values()
    report = adapter.place_order(order(connected, "tf-2-1-1", "sell"))
    assert report.status == Order.Status.FILLED
    assert report.filled_quantity == LOT and report.avg_fill_price == Decimal(2000)
    assert open_positions(fake) == []  # closed, not hedged
    assert f"DELETE /trade/positions/{held.id}" in fake.calls
    assert placements(fake, "tf-2-1-1") == 0
    assert adapter.positions() == []


def test_an_exit_for_part_of_a_position_closes_that_many_lots(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.place_order(order(connected, "tf-1-1-2", quantity=Decimal("0.30")))
    adapter.place_order(order(connected, "tf-2-1-1", "sell"))
    assert open_positions(fake) == [("buy", Decimal("0.20"))]
    [position] = adapter.positions()
    assert (position.symbol, position.quantity) == ("XAUUSD", Decimal("0.20"))


def test_a_sell_past_the_long_closes_it_and_opens_a_short_with_the_rest(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.place_order(order(connected, "tf-1-1-2"))
    report = adapter.place_order(
        order(connected, "tf-2-1-2", "sell", quantity=Decimal("0.30"))
    )
    assert report.status == Order.Status.FILLED
    assert report.filled_quantity == Decimal("0.30")
    assert open_positions(fake) == [("sell", Decimal("0.20"))]
    assert adapter.positions()[0].quantity == Decimal("-0.20")


def test_a_close_whose_answer_is_lost_is_found_and_never_sent_twice(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.place_order(order(connected, "tf-1-1-2"))
    balance = fake.accounts[connected.venue_account.id].balance
    connected.price(Decimal(2010))
    fake.knobs.drop_after_close = 1  # TradeLocker closes it, the answer is lost
    with pytest.raises(VenueError) as lost:
        adapter.place_order(order(connected, "tf-2-1-1", "sell"))
    assert lost.value.transient
    found = adapter.find_order("tf-2-1-1")  # what the executor does on resume
    assert found is not None and found.status == Order.Status.FILLED
    assert found.avg_fill_price == Decimal(2010)
    again = adapter.place_order(order(connected, "tf-2-1-1", "sell"))  # blind retry
    assert again.status == Order.Status.FILLED
    assert closes_sent(fake) == 1
    assert open_positions(fake) == []
    # Bought at the ask, 2000.30, sold at 2010.00: $9.70 on 10 oz, booked once.
    assert fake.accounts[connected.venue_account.id].balance == balance + 97


def test_a_close_written_down_but_never_sent_is_sent_on_the_retry(connected):
    """A crash between writing the close down and sending it."""
    fake, adapter = connected.fake, connected.adapter
    adapter.place_order(order(connected, "tf-1-1-2"))
    [held] = fake.positions.values()
    PositionClose.objects.create(
        account=connected.account,
        client_order_id="tf-2-1-1",
        position_id=str(held.id),
        side="sell",
        quantity=LOT,
        held=LOT,
    )
    assert adapter.find_order("tf-2-1-1").status == Order.Status.WORKING
    report = adapter.place_order(order(connected, "tf-2-1-1", "sell"))
    assert report.status == Order.Status.FILLED
    assert closes_sent(fake) == 1 and open_positions(fake) == []


def test_a_placement_whose_answer_is_lost_is_found_by_its_strategy_id(connected):
    fake, adapter = connected.fake, connected.adapter
    fake.knobs.drop_after_place = 1
    with pytest.raises(VenueError) as lost:
        adapter.place_order(order(connected, "tf-9-1-2"))
    assert lost.value.transient
    found = adapter.find_order("tf-9-1-2")
    assert found is not None and found.status == Order.Status.FILLED
    again = adapter.place_order(order(connected, "tf-9-1-2"))
    assert again.venue_order_id == found.venue_order_id
    assert placements(fake, "tf-9-1-2") == 1


def test_a_client_order_id_too_long_for_a_strategy_id_rides_as_its_digest(connected):
    fake, adapter = connected.fake, connected.adapter
    cid = "tf-123456789012-987654321098-12"  # 32 characters, one too many
    first = adapter.place_order(order(connected, cid))
    assert adapter.place_order(order(connected, cid)).venue_order_id == (
        first.venue_order_id
    )
    [placed] = fake.orders.values()
    assert len(placed.strategy_id) == 31 and placed.strategy_id == strategy_id(cid)
    assert adapter.find_order(cid).client_order_id == cid


def test_brackets_ride_on_the_position_and_the_target_closes_it(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.place_order(
        order(
            connected,
            "tf-3-1-2",
            stop_loss=Decimal(1990),
            take_profit=Decimal(2020),
        )
    )
    [position] = fake.positions.values()
    assert (position.stop_loss, position.take_profit) == (Decimal(1990), Decimal(2020))
    connected.price(Decimal(2020))
    assert open_positions(fake) == [] and adapter.positions() == []


def test_an_unsupported_time_in_force_is_refused_before_anything_is_sent(connected):
    calls = len(connected.fake.calls)
    with pytest.raises(VenueError) as refused:
        connected.adapter.place_order(
            order(
                connected,
                "tf-4-1-2",
                order_type=OrderType.LIMIT,
                limit_price=Decimal(1900),
                time_in_force="DAY",
            )
        )
    assert refused.value.code == "time-in-force-unsupported"
    assert not any("POST" in call for call in connected.fake.calls[calls:])


def test_instruments_are_found_by_the_brokers_own_names(connected):
    fake, account = connected.fake, connected.account
    fake.instrument("GOLD", lot_size=Decimal(100), tick_size=Decimal("0.01"))
    spx = fake.instrument("SPX500", lot_size=Decimal(1), tick_size=Decimal("0.1"))
    fake.instrument("USDCHF.r")
    adapter = TradeLockerAdapter(account)
    assert adapter.venue_symbol("XAUUSD") == "XAUUSD"  # its own name first
    assert adapter.venue_symbol("US500") == "SPX500"  # an alias
    assert adapter.venue_symbol("USDCHF") == "USDCHF.r"  # with the broker's tag
    account.venue_symbols = {"XAUUSD": "GOLD"}  # the trader says which
    adapter = TradeLockerAdapter(account)
    assert adapter.venue_symbol("XAUUSD") == "GOLD"
    fake.price("SPX500", Decimal("5000.0"), Decimal("5000.5"))
    adapter.place_order(
        OrderRequest("tf-5-1-2", "US500", "buy", OrderType.MARKET, Decimal(1))
    )
    [position] = adapter.positions()
    assert (position.symbol, position.quantity) == ("US500", Decimal(1))
    assert [p.tradable_instrument_id for p in fake.positions.values()] == [
        spx.tradable_instrument_id
    ]
    with pytest.raises(VenueError) as unknown:
        adapter.venue_symbol("BTCUSD")
    assert unknown.value.code == "unknown-symbol"
    with pytest.raises(VenueError) as future:
        adapter.venue_symbol("MNQ")
    assert future.value.code == "not-tradable-here"


def test_a_session_that_ends_is_renewed_and_the_order_placed_once(connected):
    fake, adapter = connected.fake, connected.adapter
    fake.expire_tokens(refresh=True)
    report = adapter.place_order(order(connected, "tf-6-1-2"))
    assert report.status == Order.Status.FILLED
    assert placements(fake, "tf-6-1-2") == 1


def test_connecting_picks_the_only_account_and_a_live_one_needs_a_yes(
    fake, world, settings
):
    venue_account = fake.account(EMAIL, "OSP#1", balance=Decimal(25_000))
    account = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradelocker"
    )
    with pytest.raises(VenueError) as wrong:
        TradeLockerAdapter.provision(account, login_options(password="not-it"))
    assert wrong.value.code == "login-failed"
    with pytest.raises(VenueError) as live:
        TradeLockerAdapter.provision(account, login_options(mode="live"))
    assert live.value.code == "live-needs-confirmation"
    TradeLockerAdapter.provision(account, login_options())
    account.refresh_from_db()
    assert (account.external_id, account.name, account.balance) == (
        str(venue_account.id),
        "OSP#1",
        Decimal(25_000),
    )
    assert "correct-horse" not in repr(TradeLockerAdapter(account).credentials)
    second = fake.account(EMAIL, "OSP#2")
    other = BrokerAccount.objects.create(workspace=world.workspace, venue="tradelocker")
    with pytest.raises(VenueError) as which:
        TradeLockerAdapter.provision(other, login_options())
    assert which.value.code == "account-not-found" and "OSP#2" in which.value.message
    TradeLockerAdapter.provision(other, login_options(account_id=str(second.id)))
    other.refresh_from_db()
    assert TradeLockerAdapter(other).credentials.acc_num == second.acc_num == 2


def test_a_venue_failure_on_a_read_is_transient(connected):
    connected.fake.knobs.fail = [503]
    with pytest.raises(VenueError) as failed:
        connected.adapter.positions()
    assert failed.value.transient
