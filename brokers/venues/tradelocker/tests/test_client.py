"""The TradeLocker client against the fake: sessions, accNum, lists read by the
columns /trade/config names, orders, closes, rate limits, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.base import VenueError
from brokers.venues.tradelocker.client import Login, TradeLockerClient

from .conftest import EMAIL, SERVER


def market(fake, trader, name: str = "EURUSD", **fields):
    instrument = fake.instrument(name)
    return {
        "tradableInstrumentId": instrument.tradable_instrument_id,
        "routeId": instrument.trade_route,
        "qty": "0.10",
        "side": "buy",
        "type": "market",
        "validity": "IOC",
        **fields,
    }


def test_a_session_serves_every_client_of_the_login_and_is_kept_encrypted(fake, trader):
    accounts = trader.client.accounts()
    assert [a["name"] for a in accounts] == ["OSP#1"]
    other = TradeLockerClient(trader.client.login, acc_num=trader.account.acc_num)
    other.accounts()
    assert fake.calls.count("POST /auth/jwt/token") == 1
    from django.core.cache import cache

    stored = cache.get(trader.client.tokens.cache_key)
    assert stored and next(iter(fake.tokens)) not in stored


def test_a_wrong_password_is_a_login_failure_in_tradelockers_words(fake):
    client = TradeLockerClient(Login(fake.url, EMAIL, "not-it", SERVER), acc_num=1)
    with pytest.raises(VenueError) as refused:
        client.accounts()
    assert refused.value.code == "login-failed"
    assert not refused.value.transient


@pytest.mark.parametrize("shuffled", [False, True], ids=["as-listed", "reordered"])
def test_positions_are_read_by_the_columns_the_config_names(fake, trader, shuffled):
    fake.knobs.shuffle_columns = shuffled  # another order: read by name, still right
    fake.price("EURUSD", Decimal("1.08000"), Decimal("1.08010"))
    order_id = trader.client.place(trader.account.id, market(fake, trader))
    [position] = trader.client.positions(trader.account.id)
    assert position["side"] == "buy"
    assert Decimal(str(position["qty"])) == Decimal("0.10")
    assert Decimal(str(position["avgPrice"])) == Decimal("1.08010")  # at the ask
    assert str(position["id"]) != order_id  # a new position, not the order's id
    [filled] = [
        o
        for o in trader.client.orders_history(trader.account.id)
        if str(o["id"]) == order_id
    ]
    assert str(filled["positionId"]) == str(position["id"])
    state = trader.client.state(trader.account.id)
    assert Decimal(str(state["balance"])) == Decimal(100_000)


def test_a_refusal_carries_tradelockers_reason(fake, trader):
    fake.price("EURUSD", Decimal("1.08"))
    with pytest.raises(VenueError) as refused:
        trader.client.place(
            trader.account.id,
            market(fake, trader, validity="GTC"),  # market: IOC
        )
    assert refused.value.code == "venue-refused"
    assert not refused.value.transient


def test_an_expired_session_is_renewed_once(fake, trader):
    trader.client.accounts()
    fake.expire_tokens()
    assert trader.client.accounts()
    assert fake.calls.count("POST /auth/jwt/token") == 2


def test_placing_waits_for_the_routes_window_instead_of_being_refused(fake, trader):
    fake.price("EURUSD", Decimal("1.08"))
    for _ in range(4):  # PLACE_ORDER: 2 a second, as /trade/config says
        trader.client.place(trader.account.id, market(fake, trader))
    assert len(trader.client.positions(trader.account.id)) == 4
    placing = f"POST /trade/accounts/{trader.account.id}/orders"
    assert fake.calls.count(placing) == 4  # none refused (429) and sent again


def test_a_position_closes_in_part_and_then_whole(fake, trader):
    fake.price("EURUSD", Decimal("1.08"))
    trader.client.place(trader.account.id, market(fake, trader, qty="0.30"))
    [position] = trader.client.positions(trader.account.id)
    trader.client.close_position(str(position["id"]), Decimal("0.10"))
    [left] = trader.client.positions(trader.account.id)
    assert Decimal(str(left["qty"])) == Decimal("0.20")
    trader.client.close_position(str(position["id"]))
    assert trader.client.positions(trader.account.id) == []


def test_a_working_order_and_a_positions_protection_are_moved(fake, trader):
    fake.price("EURUSD", Decimal("1.08000"), Decimal("1.08010"))
    resting = market(
        fake, trader, type="limit", validity="GTC", price="1.07000", qty="0.10"
    )
    order_id = trader.client.place(trader.account.id, resting)
    trader.client.modify_order(order_id, price=Decimal("1.07500"), qty=Decimal("0.20"))
    [row] = trader.client.orders(trader.account.id)
    assert (Decimal(str(row["price"])), Decimal(str(row["qty"]))) == (
        Decimal("1.07500"),
        Decimal("0.20"),
    )
    trader.client.place(trader.account.id, market(fake, trader))
    [position] = trader.client.positions(trader.account.id)
    trader.client.modify_position(
        str(position["id"]), stop_loss=Decimal("1.07000"), take_profit=Decimal("1.09")
    )
    held = fake.positions[int(position["id"])]
    assert (held.stop_loss, held.take_profit) == (Decimal("1.07000"), Decimal("1.09"))
    fake.price("EURUSD", Decimal("1.09000"), Decimal("1.09010"))  # the target
    assert trader.client.positions(trader.account.id) == []
    trader.client.cancel(order_id)
    with pytest.raises(VenueError) as refused:
        trader.client.modify_order(order_id, price=Decimal("1.0"))  # it is gone
    assert "not active" in refused.value.message
