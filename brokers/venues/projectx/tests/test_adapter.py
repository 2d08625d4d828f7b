"""ProjectX behind `VenueAdapter`, against the fake: the contract every venue keeps,
exactly once through a lost answer, brackets as ticks, the firm's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from brokers.adapters.base import OrderRequest, VenueError
from brokers.adapters.contract import AdapterContract, ContractVenue
from brokers.models import BrokerAccount, Order, OrderType, Position
from brokers.services import account_sync
from brokers.venues.projectx.adapter import ProjectXAdapter
from brokers.venues.projectx.mapping import Status, Type

from .conftest import API_KEY, USER


class TestProjectXVenue(AdapterContract):
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
    return OrderRequest(
        client_order_id=cid,
        symbol=connected.symbol,
        side="buy",
        order_type=OrderType.MARKET,
        quantity=Decimal(1),
        reference_price=Decimal(21000),
        **fields,
    )


def placed(fake, cid: str) -> int:
    return sum(1 for order in fake.orders.values() if order.custom_tag == cid)


def test_an_order_whose_answer_is_lost_is_found_by_its_tag_and_never_placed_twice(
    connected,
):
    fake, adapter = connected.fake, connected.adapter
    fake.knobs.drop_after_place = 1  # ProjectX books it, then the answer is lost
    with pytest.raises(VenueError) as lost:
        adapter.place_order(buy(connected, "sig-1-acct-1-0"))
    assert lost.value.transient
    found = adapter.find_order("sig-1-acct-1-0")  # what the executor does on resume
    assert found is not None and found.status == Order.Status.FILLED
    again = adapter.place_order(buy(connected, "sig-1-acct-1-0"))  # a blind retry
    assert again.venue_order_id == found.venue_order_id
    assert placed(fake, "sig-1-acct-1-0") == 1
    assert adapter.positions()[0].quantity == Decimal(1)


def test_a_fill_reports_its_trades_in_decimals_and_the_position_in_our_symbol(
    connected,
):
    report = connected.adapter.place_order(buy(connected, "fill-1"))
    assert report.status == Order.Status.FILLED
    [fill] = report.fills
    assert fill.price == Decimal(21000) and fill.commission == Decimal("0.37")
    assert fill.venue_fill_id.startswith("px-")
    [position] = connected.adapter.positions()
    assert (position.symbol, position.quantity) == (connected.symbol, Decimal(1))


def test_brackets_go_as_ticks_and_work_as_one_cancels_the_other(connected):
    fake = connected.fake
    request = buy(
        connected,
        "bracketed",
        stop_loss=Decimal("20990"),  # 40 ticks of 0.25 below
        take_profit=Decimal("21020"),  # 80 ticks above
    )
    report = connected.adapter.place_order(request)
    assert report.status == Order.Status.FILLED
    entry = fake.orders[int(report.venue_order_id)]
    assert (entry.stop_loss_ticks, entry.take_profit_ticks) == (40, 80)
    legs = {o.type: o for o in fake.orders.values() if o.parent_id == entry.id}
    assert legs[Type.STOP].stop_price == Decimal("20990")
    assert legs[Type.LIMIT].limit_price == Decimal("21020")
    connected.price(Decimal("21021"))
    assert legs[Type.LIMIT].status == Status.FILLED
    assert legs[Type.STOP].status == Status.CANCELLED
    assert connected.adapter.positions() == []


def test_brackets_without_auto_oco_are_refused_with_what_to_change(connected):
    connected.venue_account.auto_oco = False
    report = connected.adapter.place_order(
        buy(connected, "needs-oco", stop_loss=Decimal("20990"))
    )
    assert report.status == Order.Status.REJECTED
    assert report.reject_reason.startswith("brackets-need-auto-oco: ")
    assert "Auto OCO Brackets" in report.reject_reason


def test_a_hosted_tradeflow_records_a_topstep_account_but_sends_it_no_order(
    connected, settings
):
    settings.TRADEFLOW_HOSTED = True
    with pytest.raises(VenueError) as refused:
        connected.adapter.place_order(buy(connected, "hosted"))
    assert refused.value.code == "firm-policy" and not refused.value.transient
    assert "watch and record" in refused.value.message
    assert "Order/place" not in connected.fake.calls
    assert connected.adapter.account_snapshot().balance == Decimal(50_000)  # it reads


def test_a_hosted_tradeflow_trades_a_firm_that_allows_servers(connected, settings):
    settings.TRADEFLOW_HOSTED = True
    account = connected.account
    account.credentials = account.credentials.replace('"topstepx"', '"e8"')
    account.save()
    report = ProjectXAdapter(account).place_order(buy(connected, "e8-order"))
    assert report.status == Order.Status.FILLED


def test_connecting_checks_the_login_and_a_live_account_needs_a_yes(fake, world):
    live = fake.account(USER, "PA-1", balance=Decimal(50_000), simulated=False)
    account = BrokerAccount.objects.create(workspace=world.workspace, venue="projectx")
    options = {"user_name": USER, "api_key": API_KEY, "account_id": live.id}
    with pytest.raises(VenueError) as unconfirmed:
        ProjectXAdapter.provision(account, options)
    assert unconfirmed.value.code == "live-needs-confirmation"
    with pytest.raises(VenueError) as wrong:
        ProjectXAdapter.provision(account, {**options, "api_key": "wrong"})
    assert wrong.value.code == "login-failed"
    with pytest.raises(VenueError) as missing:
        ProjectXAdapter.provision(account, {**options, "account_id": 1})
    assert missing.value.code == "account-not-found" and "PA-1" in missing.value.message
    ProjectXAdapter.provision(account, {**options, "confirm_live": True})
    account.refresh_from_db()
    assert (account.mode, account.external_id, account.name) == (
        BrokerAccount.Mode.LIVE,
        str(live.id),
        "PA-1",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "select credentials from brokers_brokeraccount where id = %s", [account.pk]
        )
        [stored] = cursor.fetchone()
    assert API_KEY not in stored  # encrypted at rest


def test_a_follower_account_is_refused_with_the_reason(connected):
    connected.venue_account.follower = True
    report = connected.adapter.place_order(buy(connected, "copied"))
    assert report.status == Order.Status.REJECTED
    assert report.reject_reason.startswith("follower-account: ")


def test_equity_marks_open_positions_at_the_last_price(connected):
    adapter = connected.adapter
    two = OrderRequest(
        client_order_id="marked",
        symbol=connected.symbol,
        side="buy",
        order_type=OrderType.MARKET,
        quantity=Decimal(2),
    )
    adapter.place_order(two)
    connected.price(Decimal("21010"))  # MNQ: $0.50 a tick of 0.25, $2 a point
    snapshot = adapter.account_snapshot()
    assert snapshot.balance == Decimal(50_000) - Decimal("0.74")  # fees on the buy
    assert snapshot.equity == snapshot.balance + Decimal(40)
    before = connected.fake.calls.count("Position/searchOpen")
    measured = ProjectXAdapter.measure_many([connected.account])[connected.account.pk]
    assert (measured.equity, measured.flat) == (snapshot.equity, False)
    assert connected.fake.calls.count("Position/searchOpen") == before + 1

    before = connected.fake.calls.count("Position/searchOpen")
    account = account_sync(account=connected.account)  # equity and the mirror
    assert connected.fake.calls.count("Position/searchOpen") == before + 1
    assert account.equity == snapshot.equity
    assert Position.objects.get(account=account).quantity == 2


def test_a_429_storm_loses_no_order_and_places_none_twice(connected):
    fake, adapter = connected.fake, connected.adapter
    adapter.positions()  # signed in, contracts looked up
    fake.knobs.fail = [429] * 3  # waited out: the order goes
    assert adapter.place_order(buy(connected, "storm-1")).status == Order.Status.FILLED
    fake.knobs.fail = [429] * 4  # one more than the client waits out
    with pytest.raises(VenueError) as limited:
        adapter.place_order(buy(connected, "storm-2"))
    assert limited.value.transient
    assert adapter.find_order("storm-2") is None  # it never reached the venue
    assert adapter.place_order(buy(connected, "storm-2")).status == Order.Status.FILLED
    assert (placed(fake, "storm-1"), placed(fake, "storm-2")) == (1, 1)


def test_a_session_that_ends_mid_sweep_is_renewed_once_for_every_account(
    connected, world
):
    fake = connected.fake
    others = []
    for n in range(2):
        venue_account = fake.account(USER, f"50KTC-{n}", balance=Decimal(50_000))
        account = BrokerAccount.objects.create(
            workspace=world.workspace, venue="projectx"
        )
        options = {
            "user_name": USER,
            "api_key": API_KEY,
            "account_id": venue_account.id,
        }
        ProjectXAdapter.provision(account, options)
        others.append(account)
    accounts = [connected.account, *others]
    ProjectXAdapter.measure_many(accounts[:1])
    logins = fake.calls.count("Auth/loginKey")
    fake.expire_tokens()  # ProjectX ends the session between two measures
    measured = ProjectXAdapter.measure_many(accounts)
    assert sorted(measured) == sorted(a.pk for a in accounts)
    assert fake.calls.count("Auth/loginKey") == logins + 1
