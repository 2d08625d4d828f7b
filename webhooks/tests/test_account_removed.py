"""A removed account (seed 004's DELETE, once it has traded) is gone for the
trader: in no list or page, not counted against the plan, never synced or
measured, a 404 at every route that names it. Its history stays: the signal
log and the trade export still hold what it did; staff still see it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import timezone

import testkit
from accounts.models import User
from billing.selectors import billing_usage
from brokers.models import BrokerAccount, Fill
from brokers.tasks import accounts_sync_task
from paperbroker.services import quote_record
from risk.models import RiskConfig
from risk.monitor import accounts_due
from testkit import api_client_for as api
from testkit import client_for
from testkit.factories import AccountGroupFactory, StrategyFactory
from tradeflow.access import ROUTES, Row
from tradeflow.tests.doors import (
    BY_NAME,
    NOUNS,
    ROUTE_PARAM,
    Route,
    address,
    call,
    doors_make,
    url_routes,
)
from tradeflow.tests.doors import client_for as door_client

pytestmark = pytest.mark.usefixtures("clock")

V1 = "/api/v1/accounts"


def round_trip(world, clock) -> None:
    """A long opened and closed on the paper account: history to keep (the
    caller runs tasks inline)."""
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    testkit.alert(world.api_key, qty=2, price="100")
    clock.advance(minutes=5)
    quote_record(symbol="BTCUSDT", last=Decimal(110), source="manual")
    testkit.alert(world.api_key, action="sell", qty=2, price="110")


@pytest.fixture
def removed(world, clock, tasks_inline) -> BrokerAccount:
    round_trip(world, clock)
    response = api(world.owner).delete(f"{V1}/{world.account.pk}")
    assert response.json() == {"success": True, "removed": "disabled"}
    return BrokerAccount.all_objects.get(pk=world.account.pk)


def test_removal_marks_the_account_removed_and_keeps_its_row(world, removed):
    assert removed.removed_at == timezone.now()
    assert not removed.enabled and not removed.credentials
    assert not BrokerAccount.objects.filter(pk=removed.pk).exists()
    assert Fill.objects.filter(account=removed).count() == 2
    # Asked again, it is not there to remove.
    assert api(world.owner).delete(f"{V1}/{removed.pk}").status_code == 404


def test_a_removed_account_is_in_no_list_of_the_api(world, clock, tasks_inline):
    strategy = StrategyFactory.create(
        workspace=world.workspace, followers=[world.account]
    )
    group = AccountGroupFactory.create(
        workspace=world.workspace, accounts=[world.account]
    )
    round_trip(world, clock)
    owner = api(world.owner)
    assert owner.delete(f"{V1}/{world.account.pk}").json()["removed"] == "disabled"

    listed = owner.get(f"{V1}/list").json()
    assert (listed["accounts"], listed["pagination"]["total"]) == ([], 0)
    assert owner.get("/api/user/brokers").json() == []
    assert owner.get("/api/positions").json() == []
    assert owner.get("/api/paper-trading/accounts").json() == []
    bot = owner.get(f"/api/v1/bots/{strategy.pk}/accounts").json()
    assert bot == [], bot
    held = owner.get(f"/api/v1/groups/{group.pk}").json()
    assert held["data"]["group"]["accounts"] == [], held


def test_the_pages_that_list_accounts_do_not_show_it(world, removed):
    page = client_for(world.owner).get("/").content.decode()
    assert f'data-account="{removed.pk}"' not in page
    assert "No accounts yet." in page
    paper = client_for(world.owner).get("/paper/").content.decode()
    assert f"/paper/{removed.pk}/" not in paper


def test_it_no_longer_counts_against_the_workspaces_accounts(
    world, clock, settings, tasks_inline
):
    assert billing_usage(world.workspace.pk)["accounts"]["used"] == 1
    settings.WORKSPACE_MAX_ACCOUNTS = 1
    body = {"exchange": "paper", "initial_balance": 25000}
    refused = api(world.owner).post(f"{V1}/create", body, format="json")
    assert refused.json()["code"] == "quota-exceeded"
    round_trip(world, clock)
    api(world.owner).delete(f"{V1}/{world.account.pk}")
    assert billing_usage(world.workspace.pk)["accounts"]["used"] == 0
    made = api(world.owner).post(f"{V1}/create", body, format="json")
    assert made.status_code == 201, made.content


def test_the_sync_beat_and_the_risk_monitor_pass_it_by(world, removed):
    RiskConfig.objects.create(account=removed, starting_balance=Decimal(50_000))
    # Even were it enabled again by hand, removed is removed.
    BrokerAccount.all_objects.filter(pk=removed.pk).update(enabled=True)
    assert accounts_due() == []
    assert accounts_sync_task() == 0


def test_its_history_stays_readable(world, removed, clock):
    start = (timezone.now() - timedelta(days=1)).date()
    export = api(world.owner).get(f"/api/export/trades?format=json&start={start}")
    rows = json.loads(b"".join(export.streaming_content))
    assert [str(row["account_id"]) for row in rows] == [str(removed.pk)]
    signals = api(world.owner).get("/api/logs/webhooks").json()
    signals = signals["results"] if isinstance(signals, dict) else signals
    assert {signal["account_id"] for signal in signals} == {removed.pk}
    assert len(signals) == 2
    log = client_for(world.owner).get("/signals/")
    assert log.status_code == 200 and removed.name in log.content.decode()


def test_staff_still_see_it_in_the_admin(world, removed):
    staff = User.objects.create_superuser("staff@example.com", "a-long-password-1")
    request = RequestFactory().get("/admin/brokers/brokeraccount/")
    request.user = staff
    shown = admin.site._registry[BrokerAccount].get_queryset(request)
    assert list(shown.values_list("pk", flat=True)) == [removed.pk]


# --- Every route that names it -------------------------------------------------------

ACCOUNT_OBJECTS = {"account", "paper_account"}


def _matches(table_row: Row, route: Route) -> bool:
    text = re.escape(table_row.pattern).replace(r"\*", "[^/]+")
    return bool(re.fullmatch(text, route.pattern))


def _names_the_account(table_row: Row, route: Route) -> bool:
    """Whether a blank, the query or the body of the row is the paper account."""
    named = set(table_row.body.values()) | {
        value for _, _, value in (p.partition("=") for p in table_row.query.split("&"))
    }
    for match in ROUTE_PARAM.finditer(route.pattern):
        name = match["name"]
        value = table_row.fill.get(name) or BY_NAME.get(name)
        if value is None and name == "pk":
            noun = re.search(rf"([\w.-]+)/<(?:\w+:)?{name}>", route.pattern)
            value = NOUNS.get(noun[1] if noun else "")
        named.add(value or "")
    return bool(named & ACCOUNT_OBJECTS)


def _account_routes() -> list[tuple[Row, Route, str]]:
    routes = url_routes()
    return [
        (table_row, route, method)
        for table_row in ROUTES
        for route in routes
        if _matches(table_row, route) and _names_the_account(table_row, route)
        for method, door in table_row.doors.items()
        if door.kind == "object"
    ]


def test_every_route_that_names_a_removed_account_answers_404(db, settings):
    settings.API_ORDER_WAIT_SECONDS = 0
    doors = doors_make()
    account = doors.world.account
    BrokerAccount.objects.filter(pk=account.pk).update(
        enabled=False, removed_at=timezone.now()
    )
    client, wrong = door_client(doors, "owner"), []
    cases = _account_routes()
    assert len(cases) > 40  # the account's many doors, not a handful
    for table_row, route, method in cases:
        body = {k: doors.ids.get(v, v) for k, v in table_row.body.items()}
        url = address(doors, table_row, route)
        response = call(client, method, url, body, route.api)
        if response.status_code != 404:
            wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
