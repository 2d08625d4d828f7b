"""The kill switch and emergency close: everything flat, nothing working, nothing
new opened, strategies stopped; idempotent; scoped to the user."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

import testkit
from brokers.models import BrokerAccount, Position
from paperbroker.models import PaperOrder, PaperPosition
from paperbroker.services import quote_record
from testkit import api_client_for as api
from webhooks.intake.keys import account_register
from webhooks.models import Signal, Strategy
from webhooks.strategies.services import strategy_create


@pytest.fixture(autouse=True)
def _setup(settings, db):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


def alert(key: str, **fields) -> Signal:
    return testkit.alert(key, **{"qty": 2, **fields})


def test_the_kill_switch_flattens_cancels_stops_and_blocks_new_entries(world):
    alert(world.api_key)
    alert(world.api_key, order_type="limit", price="50", id="resting")
    strategy, _ = strategy_create(workspace=world.workspace, user=world.owner, name="s")
    theirs, their_key = account_register(
        workspace=world.other_workspace,
        user=world.outsider,
        venue="paper",
        name="theirs",
        options={"initial_balance": Decimal(1000)},
    )
    alert(their_key)
    body = api(world.owner).post("/api/user/emergency_stop").json()
    assert body == {
        "success": True,
        "accounts": 1,
        "orders_cancelled": 1,
        "positions_closed": 1,
        "strategies_stopped": 1,
        "errors": [],
    }
    assert not PaperOrder.objects.filter(
        account__broker_account=world.account, status=PaperOrder.Status.WORKING
    ).exists()
    assert Position.objects.get(account=world.account).quantity == 0
    assert PaperPosition.objects.get(account__broker_account=theirs).quantity == 2
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.STOPPED
    world.account.refresh_from_db()
    assert world.account.status == BrokerAccount.Status.CLOSE_ONLY
    blocked = alert(world.api_key, id="after")
    assert (blocked.status, blocked.error_code) == ("rejected", "risk:close-only")
    again = api(world.owner).post("/api/user/emergency_stop").json()
    assert (again["positions_closed"], again["strategies_stopped"]) == (0, 0)


def test_emergency_close_is_per_account_and_scoped(world):
    alert(world.api_key)
    url = f"/api/accounts/{world.account.pk}/emergency-close"
    assert api(world.outsider).post(url).status_code == 404
    assert api(world.viewer).post(url).status_code == 403
    assert api(world.viewer).post("/api/user/emergency_stop").status_code == 403
    body = api(world.owner).post(url).json()
    assert (body["positions_closed"], body["success"]) == (1, True)
    assert Position.objects.get(account=world.account).quantity == 0


def test_the_page_asks_first_then_stops_and_an_account_can_resume(world):
    alert(world.api_key)
    client = Client()
    client.force_login(world.owner)
    confirm = client.get("/emergency-stop/").content.decode()
    assert "Close everything and stop" in confirm and world.account.name in confirm
    assert Position.objects.get(account=world.account).quantity == 2  # not yet
    page = client.post("/emergency-stop/", follow=True).content.decode()
    assert "1 position closed" in page and "Resume" in page
    client.post(f"/accounts/{world.account.pk}/resume/")
    world.account.refresh_from_db()
    assert world.account.status == BrokerAccount.Status.ACTIVE
    assert alert(world.api_key, id="again").status == "filled"
    outsider = Client()
    outsider.force_login(world.outsider)
    assert outsider.post(f"/accounts/{world.account.pk}/resume/").status_code == 404
