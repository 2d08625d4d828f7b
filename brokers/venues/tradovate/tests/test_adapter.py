"""Tradovate behind `VenueAdapter`, against the fake: the contract every venue
keeps, exactly once through a lost answer, brackets as an OSO, penalty tickets,
a lockout, a session that ends, connecting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.base import OrderRequest, VenueError
from brokers.adapters.contract import AdapterContract, ContractVenue
from brokers.models import BrokerAccount, Order, OrderType
from brokers.venues.tradovate.adapter import TradovateAdapter

from .conftest import USER, login_options


class TestTradovateVenue(AdapterContract):
    @pytest.fixture
    def venue(self, connected) -> ContractVenue:
        return ContractVenue(
            adapter=connected.adapter,
            symbol=connected.symbol,
            quantity=Decimal(1),
            price=Decimal(21000),
            set_price=connected.price,
        )


def buy(connected, cid: str, **fields) -> OrderRequest:
    order = {"quantity": Decimal(1), "reference_price": Decimal(21000), **fields}
    return OrderRequest(
        client_order_id=cid,
        symbol=connected.symbol,
        side="buy",
        order_type=OrderType.MARKET,
        **order,
    )


def placed(fake, cid: str) -> int:
    return sum(1 for order in fake.orders.values() if order.cl_ord_id == cid)


def test_an_order_whose_answer_is_lost_is_found_by_its_clordid_and_placed_once(
    connected,
):
    fake, adapter = connected.fake, connected.adapter
    fake.knobs.drop_after_place = 1  # Tradovate books it, then the answer is lost
    with pytest.raises(VenueError) as lost:
        adapter.place_order(buy(connected, "sig-1-acct-1-0"))
    assert lost.value.transient
    found = adapter.find_order("sig-1-acct-1-0")  # what the executor does on resume
    assert found is not None and found.status == Order.Status.FILLED
    assert found.client_order_id == "sig-1-acct-1-0"
    again = adapter.place_order(buy(connected, "sig-1-acct-1-0"))  # a blind retry
    assert again.venue_order_id == found.venue_order_id
    assert placed(fake, "sig-1-acct-1-0") == 1
    assert adapter.positions()[0].quantity == Decimal(1)


def test_a_market_fill_reports_its_fills_in_decimals_and_the_position_in_our_code(
    connected,
):
    connected.price(Decimal("21000.25"))
    report = connected.adapter.place_order(
        buy(connected, "fill-1", quantity=Decimal(2))
    )
    assert report.status == Order.Status.FILLED
    assert report.filled_quantity == Decimal(2)
    assert report.avg_fill_price == Decimal("21000.25")
    assert report.symbol == connected.symbol
    [position] = connected.adapter.positions()
    assert (position.symbol, position.quantity) == (connected.symbol, Decimal(2))
    assert position.avg_price == Decimal("21000.25")


def test_brackets_go_as_an_oso_and_the_target_filling_cancels_the_stop(connected):
    fake, adapter = connected.fake, connected.adapter
    request = buy(
        connected,
        "oso-1",
        stop_loss=Decimal("20990"),
        take_profit=Decimal("21010"),
    )
    assert adapter.place_order(request).status == Order.Status.FILLED
    assert fake.calls.count("order/placeoso") == 1
    working = adapter.working_orders()
    assert len(working) == 2  # the OCO pair rests
    connected.price(Decimal("21010.5"))  # through the target
    assert adapter.working_orders() == []  # the stop went with it
    assert adapter.positions() == []


def test_a_penalty_ticket_is_waited_out_and_the_request_sent_again_with_it(
    connected,
):
    fake, adapter = connected.fake, connected.adapter
    adapter.contract(connected.symbol)  # signed in, contract known
    fake.knobs.penalty, fake.knobs.penalty_seconds = 1, 1
    before = len(fake.calls)
    report = adapter.place_order(buy(connected, "ticket-1"))
    assert report.status == Order.Status.FILLED
    assert placed(fake, "ticket-1") == 1
    # The first call (the look for an earlier placement, a GET) got the ticket
    # and was sent again with it in its query; then the order went once.
    assert fake.calls[before : before + 3] == [
        "command/list",
        "command/list",
        "order/placeorder",
    ]


def test_a_captcha_demand_is_the_traders_to_clear_and_nothing_is_placed(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.contract(connected.symbol)
    fake.knobs.penalty, fake.knobs.captcha = 1, True
    with pytest.raises(VenueError) as demanded:
        adapter.place_order(buy(connected, "captcha-1"))
    assert demanded.value.code == "captcha-required"
    assert not demanded.value.transient
    assert "trader.tradovate.com" in demanded.value.message
    assert placed(fake, "captcha-1") == 0


def test_a_429_locks_the_login_out_and_no_call_is_sent_into_the_lockout(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.contract(connected.symbol)
    fake.knobs.fail = [429]
    with pytest.raises(VenueError) as limited:
        adapter.place_order(buy(connected, "locked-1"))
    assert limited.value.transient and limited.value.code == "rate-limited"
    calls = len(fake.calls)
    with pytest.raises(VenueError):
        adapter.positions()  # the hour is not over: Tradovate is not asked
    assert len(fake.calls) == calls
    assert placed(fake, "locked-1") == 0


def test_a_session_that_ends_is_renewed_by_signing_in_once(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.positions()
    logins = fake.calls.count("auth/accesstokenrequest")
    fake.expire_tokens()
    assert adapter.place_order(buy(connected, "renew-1")).status == Order.Status.FILLED
    assert fake.calls.count("auth/accesstokenrequest") == logins + 1


def test_a_token_near_its_end_is_renewed_without_a_new_session(connected, clock):
    fake, adapter = connected.fake, connected.adapter
    adapter.positions()
    logins = fake.calls.count("auth/accesstokenrequest")
    clock.advance(minutes=75)  # 80-minute tokens, renewed 10 minutes before
    adapter.positions()
    assert fake.calls.count("auth/renewaccesstoken") == 1
    assert fake.calls.count("auth/accesstokenrequest") == logins


def test_connecting_checks_the_login_and_keeps_the_secret_encrypted(fake, world):
    venue_account = fake.account(USER, "DEMO1", balance=Decimal(25_000))
    account = BrokerAccount.objects.create(workspace=world.workspace, venue="tradovate")
    with pytest.raises(VenueError) as refused:
        TradovateAdapter.provision(
            account, login_options(password="wrong", account_id=venue_account.id)
        )
    assert refused.value.code == "login-failed"
    assert "Incorrect username or password" in refused.value.message
    TradovateAdapter.provision(account, login_options(account_id=venue_account.id))
    account.refresh_from_db()
    assert (account.name, account.external_id) == ("DEMO1", str(venue_account.id))
    assert account.balance == Decimal(25_000)
    assert account.mode == BrokerAccount.Mode.DEMO
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM brokers_brokeraccount WHERE id = %s", [account.pk]
        )
        stored = cursor.fetchone()[0]
    assert "correct-horse-42" not in stored and "tv-api-secret" not in stored


def test_a_login_missing_its_api_key_is_told_where_to_find_it(fake, world):
    account = BrokerAccount.objects.create(workspace=world.workspace, venue="tradovate")
    with pytest.raises(VenueError) as missing:
        TradovateAdapter.provision(account, login_options(sec="", account_id=1))
    assert missing.value.code == "credentials-missing"
    assert "API Access" in missing.value.message


def test_an_order_not_listed_yet_is_none_not_a_refusal(connected):
    # order/item answers 404 for an id it does not know (yet): right after a
    # placement that is "look again later", never "rejected".
    assert connected.adapter.client.order(424242) is None
    assert connected.adapter.client.contract_named("MNQZ9") is None


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        ({"orderId": 5}, False),
        ({"orderId": 5, "failureReason": "Success"}, False),
        ({"failureReason": "SessionClosed", "failureText": "closed"}, True),
        ({"errorText": "Incorrect username or password."}, True),
        ({"violations": [{"constraint": "min", "description": "orderQty"}]}, True),
        ({"ok": False}, True),
    ],
)
def test_what_counts_as_a_refusal_in_an_http_200_answer(answer, refused):
    from brokers.venues.tradovate.client import _refused

    assert _refused(answer) is refused


def test_several_positions_are_liquidated_in_one_command(connected):
    adapter, client = connected.adapter, connected.adapter.client
    adapter.place_order(buy(connected, "bulk-1", quantity=Decimal(2)))
    [row] = [p for p in client.positions() if p["netPos"]]
    client.liquidate_positions([int(row["id"])])
    assert adapter.positions() == []
    with pytest.raises(VenueError) as refused:
        client.liquidate_positions([999_999])  # not the login's
    assert refused.value.code == "venue-refused"
