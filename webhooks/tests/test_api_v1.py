"""Seed 004's bots, groups and group trades at their paths, with its shapes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from brokers.models import Position
from paperbroker.services import quote_record
from webhooks.execution.submit import signal_submit
from webhooks.intake.keys import account_register
from webhooks.models import AccountGroup, Signal, Strategy

# Orders sent through the API are executed by a worker: inline here.
pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")

API = "/api/v1"


@pytest.fixture
def owner(world):
    client = APIClient()
    client.force_login(world.owner)
    return client


@pytest.fixture
def viewer(world):
    client = APIClient()
    client.force_login(world.viewer)
    return client


@pytest.fixture
def outsider(world):
    client = APIClient()
    client.force_login(world.outsider)
    return client


def bot(owner, name="momentum") -> str:
    response = owner.post(f"{API}/bots/create?name={name}&base_name=MNQ&timeframe=5m")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["success"] is True and body["api_key"].startswith("tfk_")
    return body["bot_id"]


def test_a_bot_is_created_listed_connected_and_described(world, owner):
    bot_id = bot(owner)
    account = str(world.account.pk)
    connect = owner.post(f"{API}/bots/{bot_id}/connect-account?account_id={account}")
    assert connect.json() == {"success": True, "message": "Account connected"}
    (listed,) = owner.get(f"{API}/bots/list").json()
    assert listed == {
        "id": bot_id,
        "name": "momentum",
        "base_name": "MNQ",
        "timeframe": "5m",
        "status": "ACTIVE",
        "connected_accounts": [account],
    }
    detail = owner.get(f"{API}/bots/{bot_id}").json()
    assert detail["performance"]["metrics"]["signals"] == 0
    accounts = owner.get(f"{API}/bots/{bot_id}/accounts").json()
    assert accounts[0]["id"] == account and accounts[0]["exchange"] == "paper"
    performance = owner.get(f"{API}/bots/{bot_id}/performance").json()
    assert set(performance) == {"daily", "weekly", "monthly", "accounts"}
    paused = owner.post(f"{API}/bots/{bot_id}/status?status=PAUSED").json()
    assert paused == {"success": True, "status": "PAUSED"}
    assert Strategy.objects.get(pk=bot_id).status == "paused"
    gone = owner.post(f"{API}/bots/{bot_id}/disconnect-account?account_id={account}")
    assert gone.json()["message"] == "Account disconnected"


def test_a_bad_timeframe_or_status_is_400_with_a_code(owner):
    response = owner.post(f"{API}/bots/create?name=x&timeframe=2m")
    assert (response.status_code, response.json()["code"]) == (
        400,
        "invalid-timeframe",
    )
    bot_id = bot(owner)
    response = owner.post(f"{API}/bots/{bot_id}/status?status=RUNNING")
    assert response.json()["code"] == "invalid-status"


def test_terminate_flattens_every_connected_account(world, owner):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    bot_id = bot(owner)
    owner.post(f"{API}/bots/{bot_id}/connect-account?account_id={world.account.pk}")
    signal_submit(
        user=world.owner,
        data={"action": "buy", "symbol": "BTCUSDT", "qty": 2},
        strategy=Strategy.objects.get(pk=bot_id),
    )
    assert Position.objects.get(account=world.account).quantity == 2
    body = owner.post(f"{API}/bots/{bot_id}/terminate").json()
    assert body == {"success": True, "terminated_accounts": 1, "errors": []}
    assert Position.objects.get(account=world.account).quantity == 0


def test_groups_are_managed_at_their_seed_paths(world, owner):
    other, _ = account_register(
        workspace=world.workspace,
        user=world.owner,
        venue="paper",
        name="second",
        options={"initial_balance": Decimal(1000)},
    )
    created = owner.post(
        f"{API}/groups/",
        {
            "name": "prop",
            "description": "funded",
            "accounts": [str(world.account.pk)],
            "max_drawdown": 25.0,
            "risk_limit": 5.0,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    group = created.json()["data"]["group"]
    assert group["accounts"] == [str(world.account.pk)]
    assert Decimal(str(group["max_drawdown"])) == 25
    group_id = group["id"]
    listed = owner.get(f"{API}/groups/").json()["data"]
    assert (listed["total"], listed["offset"], listed["limit"]) == (1, 0, 50)
    bulk = owner.post(
        f"{API}/groups/{group_id}/accounts",
        {"account_ids": [str(other.pk), "999999"]},
        format="json",
    ).json()["data"]
    assert bulk["results"]["success"] == [str(other.pk)]
    assert bulk["results"]["failed"][0]["account_id"] == "999999"
    removed = owner.delete(f"{API}/groups/{group_id}/accounts/{other.pk}").json()
    assert removed["message"] == "Account removed from group"
    added = owner.post(f"{API}/groups/{group_id}/accounts/{other.pk}").json()
    assert str(other.pk) in added["data"]["group"]["accounts"]
    patched = owner.patch(
        f"{API}/groups/{group_id}", {"description": "changed"}, format="json"
    ).json()
    assert patched["data"]["group"]["description"] == "changed"
    detail = owner.get(f"{API}/groups/{group_id}").json()["data"]["group"]
    assert detail["performance"]["accounts"] == 2
    metrics = owner.get(f"{API}/groups/{group_id}/metrics").json()["data"]
    assert set(metrics) == {"risk_metrics", "websocket_health", "balance_status"}
    history = owner.get(
        f"{API}/groups/{group_id}/history?interval=week&start_date=2026-01-01"
    ).json()["data"]
    assert history["interval"] == "week" and history["period"]["start"] == "2026-01-01"
    bad = owner.get(f"{API}/groups/{group_id}/performance?start_date=yesterday")
    assert bad.status_code == 400
    deleted = owner.delete(f"{API}/groups/{group_id}").json()
    assert deleted["data"] == {"group_id": group_id}
    assert not AccountGroup.objects.exists()


def test_a_group_trade_executes_on_every_account_through_the_signal_log(world, owner):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    group = owner.post(f"{API}/groups/", {"name": "g"}, format="json").json()
    group_id = group["data"]["group"]["id"]
    owner.post(
        f"{API}/accounts/{world.account.pk}/assign-group",
        {"group_id": group_id},
        format="json",
    )
    response = owner.post(
        f"{API}/trading/group/{group_id}/execute",
        {
            "symbol": "BTCUSDT",
            "side": "buy",
            "order_type": "market",
            "risk_percentage": 1,
            "leverage": 2,
            "price": 100,
        },
        format="json",
    )
    body = response.json()
    assert (body["success_count"], body["error_count"]) == (1, 0), body
    # 2 % of 50,000 at 100 a coin.
    assert Position.objects.get(account=world.account).quantity == 10
    signal = Signal.objects.get(pk=body["signal_id"])
    assert signal.group_id == int(group_id) and signal.status == "filled"


def test_a_group_trade_with_an_account_busy_answers_with_it_pending_not_a_500(
    world, owner, settings
):
    """The request never executes: a busy account is the worker's to retry."""
    from testkit.factories import AccountGroupFactory, PaperAccountFactory
    from testkit.locks import held_elsewhere

    settings.EXECUTION_ACCOUNT_WAIT_SECONDS = 0
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    busy = PaperAccountFactory.create(workspace=world.workspace, name="busy")
    group = AccountGroupFactory.create(
        workspace=world.workspace, name="both", accounts=[world.account, busy]
    )
    with held_elsewhere("account", busy.pk):
        response = owner.post(
            f"{API}/trading/group/{group.pk}/execute",
            {"symbol": "BTCUSDT", "side": "buy", "quantity": 1, "price": 100},
            format="json",
        )
    assert response.status_code == 200, response.content
    results = {r["account_id"]: r["status"] for r in response.json()["results"]}
    assert results == {str(world.account.pk): "filled", str(busy.pk): "pending"}
    assert Position.objects.get(account=world.account).quantity == 1


def test_viewers_read_outsiders_get_404_and_only_admins_change(
    world, owner, viewer, outsider
):
    bot_id = bot(owner)
    group_id = owner.post(f"{API}/groups/", {"name": "g"}, format="json").json()[
        "data"
    ]["group"]["id"]
    assert viewer.get(f"{API}/bots/{bot_id}").status_code == 200
    assert viewer.post(f"{API}/bots/{bot_id}/status?status=PAUSED").status_code == 403
    assert viewer.post(f"{API}/bots/create?name=v").status_code == 403
    assert viewer.delete(f"{API}/groups/{group_id}").status_code == 403
    for path in (
        f"/bots/{bot_id}",
        f"/bots/{bot_id}/accounts",
        f"/groups/{group_id}",
        f"/groups/{group_id}/metrics",
    ):
        assert outsider.get(API + path).status_code == 404
    assert outsider.post(f"{API}/bots/{bot_id}/terminate").status_code == 404
    assert outsider.get(f"{API}/bots/list").json() == []
    # An outsider's account cannot be connected to our bot.
    theirs, _ = account_register(
        workspace=world.other_workspace,
        user=world.outsider,
        venue="paper",
        name="theirs",
        options={"initial_balance": Decimal(1000)},
    )
    connect = owner.post(f"{API}/bots/{bot_id}/connect-account?account_id={theirs.pk}")
    assert connect.status_code == 404
    assert APIClient().get(f"{API}/bots/list").status_code in (401, 403)


def test_the_webhook_log_lists_each_signal_with_its_outcome_per_account(world, owner):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    signal = signal_submit(
        user=world.owner,
        data={"action": "buy", "symbol": "BTCUSDT", "qty": 1},
        account=world.account,
    )
    (row,) = owner.get("/api/logs/webhooks").json()["results"]
    assert row["id"] == signal.pk and row["status"] == "filled"
    (execution,) = row["executions"]
    assert execution["account_id"] == world.account.pk
    assert execution["status"] == "filled" and execution["filled_at"]
