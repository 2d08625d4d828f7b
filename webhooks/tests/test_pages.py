"""The trader's pages: strategies, subscriptions, the alert builder, the signal log
and approvals. Owner manages, viewer looks, outsider gets 404."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

import testkit
from brokers.models import BrokerAccount
from testkit import client_for, post_alert
from webhooks.execution.run import execution_run
from webhooks.intake.keys import account_register, key_hash
from webhooks.models import ApiKey, Execution, Signal, Strategy, Subscription
from webhooks.strategies.services import strategy_create, subscription_save

BUY = {"action": "buy", "symbol": "BTCUSDT", "quantity": 1, "price": 100}


@pytest.fixture
def strategy(world) -> Strategy:
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="Trend BTC"
    )
    strategy.plain_key = key  # type: ignore[attr-defined]
    return strategy


@pytest.fixture
def outsider_account(world) -> BrokerAccount:
    account, _ = account_register(
        workspace=world.other_workspace,
        user=world.outsider,
        venue="paper",
        name="Outsider paper",
        options={"initial_balance": Decimal(10000)},
    )
    return account


def alert(key: str, body: dict | str) -> Signal:
    """Received, not executed (the page shows it queued or refused)."""
    response = post_alert(key, body)
    return Signal.objects.get(pk=response.json()["signal_id"])


def executed(strategy: Strategy, body: dict | None = None) -> Signal:
    return testkit.alert(strategy.plain_key, body or BUY)  # type: ignore[attr-defined]


def test_each_page_renders_for_its_owner(world, strategy):
    subscription_save(strategy=strategy, account=world.account)
    signal = executed(strategy)
    owner = client_for(world.owner)
    pages = {
        "/strategies/": "Trend BTC",
        "/strategies/new/": "New strategy",
        f"/strategies/{strategy.pk}/": "Paper 50K",
        f"/strategies/{strategy.pk}/alert-builder/": "{{ticker}}",
        f"/accounts/{world.account.pk}/alert-builder/": "Paper 50K",
        "/signals/": "Trend BTC",
        f"/signals/{signal.pk}/": "Filled",
        "/": "Strategies",
    }
    for url, text in pages.items():
        response = owner.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_an_outsider_gets_404_on_another_workspaces_strategy_and_signal(
    world, strategy
):
    subscription = subscription_save(strategy=strategy, account=world.account)
    signal = executed(strategy)
    execution = signal.executions.get()
    key = strategy.api_keys.get()
    outsider, pk = client_for(world.outsider), strategy.pk
    for url in (
        f"/strategies/{pk}/",
        f"/strategies/{pk}/alert-builder/",
        f"/accounts/{world.account.pk}/alert-builder/",
        f"/signals/{signal.pk}/",
    ):
        assert outsider.get(url).status_code == 404, url
    for url in (
        f"/strategies/{pk}/settings/",
        f"/strategies/{pk}/keys/new/",
        f"/strategies/{pk}/keys/{key.pk}/revoke/",
        f"/strategies/{pk}/subscriptions/",
        f"/strategies/{pk}/subscriptions/{subscription.pk}/",
        f"/strategies/{pk}/subscriptions/{subscription.pk}/remove/",
        f"/executions/{execution.pk}/decision/",
    ):
        assert outsider.post(url, {"decision": "reject"}).status_code == 404, url
    for url in ("/strategies/", "/signals/", "/"):
        assert "Trend BTC" not in outsider.get(url).content.decode(), url
    assert ApiKey.objects.filter(strategy=strategy, revoked_at=None).count() == 1
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_a_viewer_sees_strategies_and_signals_but_cannot_change_them(world, strategy):
    subscription = subscription_save(strategy=strategy, account=world.account)
    key = strategy.api_keys.get()
    viewer, pk = client_for(world.viewer), strategy.pk
    html = viewer.get(f"/strategies/{pk}/").content.decode()
    assert "Paper 50K" in html
    assert "/settings/" not in html and "/keys/" not in html
    assert strategy.signing_secret not in html
    assert "New strategy" not in viewer.get("/strategies/").content.decode()
    assert viewer.post("/strategies/new/", {"name": "Mine"}).status_code == 404
    for url, data in (
        (f"/strategies/{pk}/settings/", {"status": "stopped"}),
        (f"/strategies/{pk}/keys/new/", {}),
        (f"/strategies/{pk}/keys/{key.pk}/revoke/", {}),
        (f"/strategies/{pk}/subscriptions/{subscription.pk}/", {"multiplier": "9"}),
        (f"/strategies/{pk}/subscriptions/{subscription.pk}/remove/", {}),
    ):
        assert viewer.post(url, data).status_code == 403, url
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.ACTIVE
    assert Strategy.objects.count() == 1 and ApiKey.objects.filter(strategy=strategy)
    assert Subscription.objects.get().multiplier == 1


def test_creating_a_strategy_shows_its_key_once_with_the_tradingview_url(world):
    owner = client_for(world.owner)
    response = owner.post(
        "/strategies/new/",
        {"name": "Scalper", "manual_approval": "on", "heartbeat_minutes": "30"},
        follow=True,
    )
    html = response.content.decode()
    key = re.search(r"tfk_[\w-]+", html)
    assert response.status_code == 200 and key is not None
    # Post/redirect/get: the page with the key is not cached, and a refresh (or
    # the browser's back button) shows it no more and creates nothing.
    ((page, _),) = response.redirect_chain
    assert "no-store" in response["Cache-Control"]
    again = owner.get(page).content.decode()
    assert key.group() not in again and "shown once, when it was made" in again
    assert Strategy.objects.filter(name="Scalper").count() == 1
    assert f"/webhook/tradingview/{key.group()}</pre>" in html
    assert 'data-copy="#tradingview-url"' in html
    strategy = Strategy.objects.get(name="Scalper")
    assert strategy.manual_approval and strategy.heartbeat_minutes == 30
    assert ApiKey.objects.get(strategy=strategy).key_hash == key_hash(key.group())
    detail = owner.get(f"/strategies/{strategy.pk}/").content.decode()
    assert key.group() not in detail and key.group()[:12] in detail


def test_a_second_strategy_with_the_same_name_is_refused_with_a_reason(world, strategy):
    response = client_for(world.owner).post("/strategies/new/", {"name": "Trend BTC"})
    assert response.status_code == 400
    assert "exists already" in response.content.decode()


def test_subscribing_an_account_saves_its_overrides_and_the_row_form_updates_them(
    world, strategy
):
    owner, pk = client_for(world.owner), strategy.pk
    response = owner.post(
        f"/strategies/{pk}/subscriptions/",
        {
            "account": world.account.pk,
            "enabled": "on",
            "multiplier": "2",
            "max_quantity": "3",
            "allowed_sides": "long",
            "symbol_map": "nq=mnq, ES = MES",
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(strategy=strategy)
    assert subscription.account == world.account and subscription.enabled
    assert (subscription.multiplier, subscription.max_quantity) == (2, 3)
    assert subscription.allowed_sides == "long"
    assert subscription.symbol_map == {"NQ": "MNQ", "ES": "MES"}
    assert "NQ=MNQ, ES=MES" in owner.get(f"/strategies/{pk}/").content.decode()

    owner.post(
        f"/strategies/{pk}/subscriptions/{subscription.pk}/",
        {"multiplier": "0.5", "allowed_sides": "both", "symbol_map": ""},
    )
    subscription.refresh_from_db()
    assert not subscription.enabled and subscription.multiplier == Decimal("0.5")
    assert subscription.max_quantity is None and subscription.symbol_map == {}


def test_only_the_workspaces_own_accounts_can_be_subscribed(
    world, strategy, outsider_account
):
    owner, pk = client_for(world.owner), strategy.pk
    html = owner.get(f"/strategies/{pk}/").content.decode()
    assert "Outsider paper" not in html and "Paper 50K" in html
    response = owner.post(
        f"/strategies/{pk}/subscriptions/",
        {"account": outsider_account.pk, "multiplier": "1", "allowed_sides": "both"},
    )
    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_a_symbol_map_to_an_unknown_instrument_is_refused_with_a_reason(
    world, strategy
):
    subscription = subscription_save(strategy=strategy, account=world.account)
    response = client_for(world.owner).post(
        f"/strategies/{strategy.pk}/subscriptions/{subscription.pk}/",
        {"multiplier": "1", "allowed_sides": "both", "symbol_map": "NQ=NOPE"},
    )
    assert response.status_code == 400
    assert "does not know" in response.content.decode()
    assert Subscription.objects.get().symbol_map == {}


def test_removing_a_subscription_stops_the_account_following(world, strategy):
    subscription = subscription_save(strategy=strategy, account=world.account)
    client_for(world.owner).post(
        f"/strategies/{strategy.pk}/subscriptions/{subscription.pk}/remove/"
    )
    assert not Subscription.objects.exists()


def test_a_paused_strategy_refuses_its_alerts(world, strategy):
    response = client_for(world.owner).post(
        f"/strategies/{strategy.pk}/settings/",
        {"status": "paused", "description": "Night only", "heartbeat_minutes": ""},
    )
    assert response.status_code == 302
    strategy.refresh_from_db()
    assert (strategy.status, strategy.description) == ("paused", "Night only")
    signal = alert(strategy.plain_key, BUY)
    assert (signal.status, signal.error_code) == ("rejected", "strategy-inactive")


def test_a_missed_heartbeat_shows_a_warning_on_the_list(world, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(
        heartbeat_minutes=15, heartbeat_missed_at=timezone.now()
    )
    html = client_for(world.owner).get("/strategies/").content.decode()
    assert "no alert for 15 min" in html


def test_a_new_key_is_shown_once_and_the_old_one_can_be_revoked(world, strategy):
    owner, pk = client_for(world.owner), strategy.pk
    old = strategy.api_keys.get()
    html = owner.post(f"/strategies/{pk}/keys/new/", follow=True).content.decode()
    key = re.search(r"tfk_[\w-]+", html)
    assert key is not None
    owner.post(f"/strategies/{pk}/keys/{old.pk}/revoke/")
    assert alert(strategy.plain_key, BUY).error_code == "invalid-key"
    assert alert(key.group(), BUY).status == Signal.Status.QUEUED


def test_an_approved_signal_executes_and_fills(world, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(manual_approval=True)
    subscription_save(strategy=strategy, account=world.account)
    signal = executed(strategy)
    execution = signal.executions.get()
    assert execution.status == Execution.Status.AWAITING
    owner = client_for(world.owner)
    assert f"/executions/{execution.pk}/decision/" in owner.get("/").content.decode()
    page = owner.get(f"/signals/{signal.pk}/").content.decode()
    assert 'value="approve"' in page and 'value="reject"' in page

    response = owner.post(
        f"/executions/{execution.pk}/decision/", {"decision": "approve"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/signals/{signal.pk}/"
    execution_run(execution_id=execution.pk)  # what the enqueued task does
    execution.refresh_from_db()
    signal.refresh_from_db()
    assert execution.status == Execution.Status.FILLED
    assert execution.decided_by == world.owner
    assert signal.status == Signal.Status.FILLED
    page = owner.get(f"/signals/{signal.pk}/").content.decode()
    assert "Filled" in page and 'value="approve"' not in page
    assert f"@ {execution.orders.get().avg_fill_price.normalize()}" in page
    assert f"/executions/{execution.pk}/" not in owner.get("/").content.decode()


def test_a_rejected_signal_is_skipped_and_the_dashboard_fragment_updates(
    world, strategy
):
    Strategy.objects.filter(pk=strategy.pk).update(manual_approval=True)
    subscription_save(strategy=strategy, account=world.account)
    execution = executed(strategy).executions.get()
    response = client_for(world.owner).post(
        f"/executions/{execution.pk}/decision/",
        {"decision": "reject"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="approvals"' in html and "Approve" not in html
    execution.refresh_from_db()
    assert (execution.status, execution.error_code) == (
        "skipped",
        "rejected-by-trader",
    )
    assert execution.signal.status == Signal.Status.FAILED
    viewer = client_for(world.viewer)
    assert viewer.post(
        f"/executions/{execution.pk}/decision/", {"decision": "approve"}
    ).status_code in (403, 302)


def test_a_viewer_cannot_approve(world, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(manual_approval=True)
    subscription_save(strategy=strategy, account=world.account)
    execution = executed(strategy).executions.get()
    viewer = client_for(world.viewer)
    assert "Approve" not in viewer.get("/").content.decode()
    response = viewer.post(
        f"/executions/{execution.pk}/decision/", {"decision": "approve"}
    )
    assert response.status_code == 403
    execution.refresh_from_db()
    assert execution.status == Execution.Status.AWAITING


def test_the_signal_log_filters_by_status_code_strategy_account_and_date(
    world, strategy
):
    subscription_save(strategy=strategy, account=world.account)
    filled = executed(strategy)
    refused = alert(strategy.plain_key, {"symbol": "BTCUSDT"})  # no action
    direct = alert(world.api_key, BUY)
    owner = client_for(world.owner)

    def listed(**params) -> list[int]:
        html = owner.get("/signals/", params).content.decode()
        return [int(pk) for pk in re.findall(r'data-signal="(\d+)"', html)]

    assert listed() == [direct.pk, refused.pk, filled.pk]  # newest first
    assert listed(status="rejected") == [refused.pk]
    assert listed(error_code="missing-act") == [refused.pk]
    assert listed(strategy=strategy.pk) == [refused.pk, filled.pk]
    assert listed(account=world.account.pk) == [direct.pk, filled.pk]
    today = timezone.now().date()
    assert len(listed(since=today.isoformat(), until=today.isoformat())) == 3
    assert listed(until=(today - timedelta(days=1)).isoformat()) == []


def test_the_signal_log_is_paginated_and_keeps_its_filters(world):
    for _ in range(55):
        Signal.objects.create(
            workspace=world.workspace, status="rejected", http_status=400
        )
    owner = client_for(world.owner)
    first = owner.get("/signals/", {"status": "rejected"}).content.decode()
    assert first.count("data-signal=") == 50
    assert "?status=rejected&amp;page=2" in first
    second = owner.get("/signals/", {"status": "rejected", "page": 2})
    assert second.content.decode().count("data-signal=") == 5


def test_a_signal_shows_its_raw_body_escaped_its_payload_and_phase_times(
    world, strategy
):
    subscription_save(strategy=strategy, account=world.account)
    signal = executed(strategy, {**BUY, "comment": "<script>alert(1)</script>"})
    response = client_for(world.owner).get(f"/signals/{signal.pk}/")
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;action&quot;: &quot;buy&quot;" in html  # the pretty payload
    row = re.search(r'<tr data-execution="\d+">.*?</tr>', html, re.S)
    assert row is not None
    timings = re.findall(r'<td class="num">(\d+)</td>', row.group())
    assert len(timings) == 7  # queued, started, risk, sent, ack, filled, total


def test_the_alert_builder_writes_the_message_for_the_options_chosen(world, strategy):
    url = f"/strategies/{strategy.pk}/alert-builder/"
    params = {
        **{"symbol_mode": "fixed", "symbol": "mnq1!", "quantity_mode": "fixed"},
        **{"quantity": "2", "quantity_type": "fixed", "order_type": "limit"},
        **{"action": "sell", "stop_loss": "20", "offset_unit": "ticks"},
    }
    response = client_for(world.owner).get(url, params, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and 'id="alert-output"' in html
    message = re.search(r'<pre id="alert-message">(.*?)</pre>', html, re.S)
    assert message is not None
    assert json.loads(message.group(1).replace("&quot;", '"')) == {
        "action": "sell",
        "symbol": "MNQ1!",
        "quantity": 2,
        "order_type": "limit",
        "price": "{{close}}",
        "stop_loss": "20t",
    }
    assert "sell MNQ1! 2 type=limit price={{close}} sl=20t" in html
    assert "sell 2 MNQ1! limit at 100, stop loss 20 ticks" in html


def test_the_alert_builder_says_why_options_cannot_work(world, strategy):
    response = client_for(world.owner).get(
        f"/strategies/{strategy.pk}/alert-builder/",
        {**{"action": "buy", "symbol_mode": "ticker", "quantity_mode": "none"}},
    )
    assert "An entry needs a quantity" in response.content.decode()
    assert 'id="alert-message"' not in response.content.decode()
