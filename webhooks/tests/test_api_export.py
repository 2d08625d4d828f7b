"""`GET /api/export/trades` (seed 002's trade export): the workspace's round trips
at every venue (replayed from our Fill rows) streamed as CSV (a header row) or a
JSON array, N trades in N rows, a date range (the last 30 days by default),
exporters and admins only, never refused by billing; under ASGI the body is
streamed too, not read whole first."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from rest_framework.test import APIClient

import testkit
from accounts.models import Role
from billing.models import BillingAccount
from brokers import performance
from brokers.models import BrokerAccount, Fill, Order
from brokers.performance import closed_trades
from common.numbers import plain
from paperbroker.models import PaperTrade
from paperbroker.services import quote_record
from testkit import api_client_for as api
from testkit.factories import MembershipFactory, PaperAccountFactory, StrategyFactory
from webhooks.api import export

URL = "/api/export/trades"
# The frozen clock: Tuesday 2026-11-24, 18:00 UTC.
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def exporter(world):
    return MembershipFactory.create(
        workspace=world.workspace,
        user__email="exporter@example.com",
        role=Role.EXPORTER,
    ).user


_ids = count(1)


def trade(
    account: BrokerAccount,
    closed_at: datetime,
    exit_price: Decimal = Decimal(110),
    symbol: str = "BTCUSDT",
    entry_price: Decimal = Decimal(100),
) -> Fill:
    """A round trip in our books, at any venue: a buy of 1 five minutes before
    `closed_at`, the sell at `exit_price` then (11 cents a side). The closing
    Fill: its pk is the trade's id."""
    order = Order.objects.create(
        workspace_id=account.workspace_id,
        account=account,
        client_order_id=f"t-{next(_ids)}",
        symbol=symbol,
        side="buy",
        order_type="market",
        quantity=Decimal(1),
    )
    fills = [("buy", entry_price, closed_at - timedelta(minutes=5))]
    fills.append(("sell", exit_price, closed_at))
    made = [
        Fill.objects.create(
            workspace_id=account.workspace_id,
            order=order,
            account=account,
            venue_fill_id=f"f-{next(_ids)}",
            symbol=symbol,
            side=side,
            quantity=Decimal(1),
            price=price,
            commission=Decimal("0.11"),
            filled_at=at,
        )
        for side, price, at in fills
    ]
    return made[-1]


def body_of(response) -> str:
    assert response.streaming, "the export is streamed"
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(body_of(response))))


def json_rows(response) -> list[dict]:
    assert response["Content-Type"] == "application/json"
    return json.loads(body_of(response), parse_float=Decimal)


def test_a_real_round_trip_exports_with_its_strategy(world, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    strategy = StrategyFactory.create(
        workspace=world.workspace, name="trend", followers=[world.account]
    )
    testkit.alert(strategy.plain_key, qty=2)
    testkit.alert(world.api_key, {"action": "exit", "symbol": "BTCUSDT"})
    booked = PaperTrade.objects.get()  # the paper venue's own ledger
    close = Fill.objects.get(side="sell")
    [row] = csv_rows(api(world.owner).get(URL))
    assert row == {
        "id": str(close.pk),
        "account_id": str(world.account.pk),
        "account": world.account.name,
        "broker": "paper",
        "symbol": "BTCUSDT",
        "side": "long",
        "quantity": "2",
        "entry_price": plain(booked.entry_price),
        "exit_price": plain(booked.exit_price),
        "gross_pnl": plain(booked.gross_pnl),
        "fees": plain(booked.costs),
        "pnl": plain(booked.pnl),
        "currency": "USDT",  # the instrument's: the P&L is in it
        "opened_at": booked.opened_at.isoformat(),
        "closed_at": booked.closed_at.isoformat(),
        "strategy": "trend",
    }
    [item] = json_rows(api(world.owner).get(URL, {"format": "json"}))
    assert (item["id"], item["strategy"], item["quantity"]) == (close.pk, "trend", 2)
    assert item["pnl"] == booked.pnl and item["fees"] == booked.costs


def test_n_trades_stream_as_n_rows_in_pieces(world, monkeypatch):
    monkeypatch.setattr(export, "ROWS_PER_PART", 10)
    monkeypatch.setattr(performance, "CHUNK_SIZE", 7)  # the cursor fetches often
    made = [
        trade(world.account, NOW - timedelta(hours=n), Decimal(100 + n))
        for n in range(25)
    ]
    response = api(world.owner).get(URL)
    parts = list(response.streaming_content)
    assert len(parts) == 3  # header and 25 rows, ten lines a piece
    rows = list(csv.DictReader(io.StringIO(b"".join(parts).decode())))
    assert [int(r["id"]) for r in rows] == [
        t.pk for t in reversed(made)
    ]  # oldest first
    items = json_rows(api(world.owner).get(URL, {"format": "json"}))
    assert len(items) == 25 and items[0]["gross_pnl"] == 24
    assert items[-1]["gross_pnl"] == 0 and items[-1]["pnl"] == Decimal("-0.22")


def test_an_empty_export_is_a_header_or_an_empty_array(world):
    assert body_of(api(world.owner).get(URL)).splitlines() == [",".join(export.COLUMNS)]
    assert json_rows(api(world.owner).get(URL, {"format": "json"})) == []


def test_the_last_30_days_by_default_and_the_range_asked_for(world):
    old = trade(world.account, NOW - timedelta(days=31))
    recent = trade(world.account, NOW - timedelta(days=29))
    today = trade(world.account, NOW)
    response = api(world.owner).get(URL)
    assert [int(r["id"]) for r in csv_rows(response)] == [recent.pk, today.pk]
    name = "tradeflow-trades-2026-10-25-to-2026-11-24.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    ranged = api(world.owner).get(URL, {"start": "2026-10-01", "end": "2026-10-24"})
    assert [int(r["id"]) for r in csv_rows(ranged)] == [old.pk]
    # `end` is a whole day: a trade at 18:00 on it is in.
    one_day = api(world.owner).get(URL, {"start": "2026-11-24", "end": "2026-11-24"})
    assert [int(r["id"]) for r in csv_rows(one_day)] == [today.pk]


def test_one_account_and_never_another_workspaces(world):
    second = PaperAccountFactory.create(workspace=world.workspace, name="Second")
    theirs = PaperAccountFactory.create(workspace=world.other_workspace, name="Theirs")
    ours = trade(world.account, NOW)
    mine = trade(second, NOW)
    trade(theirs, NOW)
    everything = csv_rows(api(world.owner).get(URL))
    assert [int(r["id"]) for r in everything] == [ours.pk, mine.pk]
    only = csv_rows(api(world.owner).get(URL, {"account": second.pk}))
    assert [int(r["id"]) for r in only] == [mine.pk]
    refused = api(world.owner).get(URL, {"account": theirs.pk})
    assert (refused.status_code, refused.json()["code"]) == (404, "not-found")
    assert [r["account"] for r in csv_rows(api(world.outsider).get(URL))] == ["Theirs"]


def test_every_venues_round_trips_export_in_the_same_columns(world):
    live = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradovate", name="Live"
    )
    contract = trade(live, NOW, Decimal("21010.25"), "MNQZ26", Decimal(21000))
    paper = trade(world.account, NOW)
    rows = csv_rows(api(world.owner).get(URL))
    assert [(r["id"], r["broker"]) for r in rows] == [
        (str(paper.pk), "paper"),
        (str(contract.pk), "tradovate"),
    ]  # account by account
    [row] = csv_rows(api(world.owner).get(URL, {"account": live.pk}))
    assert (row["account"], row["symbol"], row["currency"]) == ("Live", "MNQZ26", "USD")
    # MNQ: $2 a point. 10.25 points up on 1 contract, 22 cents of fees.
    assert (row["gross_pnl"], row["fees"], row["pnl"]) == ("20.5", "0.22", "20.28")
    assert row["strategy"] == ""


def test_an_exporter_may_export_and_a_viewer_may_not(world, exporter):
    trade(world.account, NOW)
    assert len(csv_rows(api(exporter).get(URL))) == 1
    assert api(world.trader).get(URL).status_code == 200
    for query in ({}, {"account": world.account.pk}):
        response = api(world.viewer).get(URL, query)
        assert response.status_code == 403
        assert response.json()["code"] == "permission-denied"


def test_an_anonymous_request_is_a_401(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not-authenticated"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"start": "2026-02-30"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2026-11-24", "end": "2026-11-01"}, "end"),
        ({"end": "9999-12-31"}, "end"),
        ({"end": "0001-01-02"}, "end"),
        ({"account": "mine"}, "account"),
    ],
)
def test_bad_parameters_are_a_400_in_json_naming_the_parameter(world, query, field):
    response = api(world.owner).get(URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "validation-error"
    assert field in response.json()["errors"]


def test_billing_never_refuses_an_export(world, billing_on, clock):
    trade(world.account, NOW)
    BillingAccount.objects.filter(workspace=world.workspace).update(
        status=BillingAccount.Status.CANCELED
    )
    clock.advance(days=5)
    status = api(world.owner).get("/api/billing/status").json()
    assert status["can_trade"] is False
    assert len(csv_rows(api(world.owner).get(URL))) == 1


def test_under_asgi_the_body_is_an_async_stream(world, monkeypatch):
    monkeypatch.setattr(export, "ROWS_PER_PART", 2)
    for n in range(5):
        trade(world.account, NOW - timedelta(minutes=n))
    client = AsyncClient()
    async_to_sync(client.aforce_login)(world.owner)

    async def fetch() -> tuple[bool, list[bytes]]:
        response = await client.get(URL, {"format": "json"})
        assert response.status_code == 200
        return response.is_async, [part async for part in response.streaming_content]

    is_async, parts = async_to_sync(fetch)()
    assert is_async and len(parts) == 4  # "[" and five objects, two pieces a part
    assert len(json.loads(b"".join(parts))) == 5


def test_the_selector_reads_nothing_until_iterated(world, django_assert_num_queries):
    made = trade(world.account, NOW)
    accounts = BrokerAccount.objects.filter(pk=world.account.pk)
    with django_assert_num_queries(0):
        trips = closed_trades(
            accounts=accounts, start=NOW - timedelta(days=1), end=NOW + timedelta(1)
        )
    assert [trip.id for trip in trips] == [made.pk]
