"""`GET /api/strategies` and `POST /api/strategies/activate` (seed 002's
"Fluxeo strategies management"): the workspace's strategies with status,
followers and webhook URL, secrets to key managers only; activating and pausing
through the strategy status service, refused past the plan's strategies."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tokens import token_issue
from billing.models import BillingAccount, Plan
from testkit import api_client_for as api
from testkit import post_alert
from testkit.factories import MembershipFactory, PaperAccountFactory, StrategyFactory
from webhooks.intake.keys import api_key_revoke
from webhooks.models import ApiKey, Strategy, Subscription

LIST, ACTIVATE = "/api/strategies", "/api/strategies/activate"
BUY = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": "100"}

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def strategy(world) -> Strategy:
    return StrategyFactory.create(
        workspace=world.workspace, name="trend", followers=[world.account]
    )


@pytest.fixture
def exporter(world):
    return MembershipFactory.create(
        workspace=world.workspace,
        user__email="exporter@example.com",
        role=Role.EXPORTER,
    ).user


def listed(user) -> list[dict]:
    response = api(user).get(LIST)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_list_says_status_followers_and_the_webhook(world, strategy, settings):
    second = PaperAccountFactory.create(workspace=world.workspace, name="Second")
    Subscription.objects.create(strategy=strategy, account=second, enabled=False)
    [body] = listed(world.owner)
    assert (body["id"], body["name"], body["status"], body["active"]) == (
        strategy.pk,
        "trend",
        "active",
        True,
    )
    assert body["followers"] == 1  # the switched-off subscription follows nothing
    assert sorted(body["accounts"]) == sorted([world.account.pk, second.pk])
    assert body["webhook_url"] == settings.SITE_URL + "/webhook/tradingview"
    assert strategy.plain_key.startswith(body["key_prefix"])
    assert body["signing_secret"] == strategy.signing_secret


def test_readers_see_no_secret_and_an_outsider_no_strategy(world, strategy, exporter):
    for reader in (world.viewer, exporter):
        [body] = listed(reader)
        assert body["id"] == strategy.pk and body["signing_secret"] is None
        assert body["key_prefix"]  # a prefix is no secret: the page shows it
    assert listed(world.outsider) == []
    StrategyFactory.create(workspace=world.other_workspace, name="theirs")
    assert [s["name"] for s in listed(world.owner)] == ["trend"]


def test_only_an_admin_token_reads_the_secret(world, strategy):
    for scope, secret in (("read", None), ("admin", strategy.signing_secret)):
        _, plain = token_issue(user=world.owner, name=scope, scope=scope, days=30)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        [body] = client.get(LIST).json()
        assert body["signing_secret"] == secret


def test_the_prefix_is_the_newest_live_keys(world, strategy):
    key = ApiKey.objects.get(strategy=strategy)
    api_key_revoke(api_key=key)
    assert listed(world.owner)[0]["key_prefix"] is None


def test_pausing_refuses_the_strategys_alerts_and_activating_takes_them_again(
    world, strategy
):
    client = api(world.owner)
    paused = client.post(
        ACTIVATE, {"strategy_id": strategy.pk, "active": False}, format="json"
    )
    assert paused.status_code == 200, paused.content
    assert paused.json()["success"] is True
    body = paused.json()["strategy"]
    assert (body["status"], body["active"]) == ("paused", False)
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.PAUSED
    refused = post_alert(strategy.plain_key, BUY)
    assert (refused.status_code, refused.json()["code"]) == (409, "strategy-inactive")

    active = client.post(ACTIVATE, {"strategy_id": strategy.pk}, format="json")
    assert active.json()["strategy"]["status"] == "active"
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.ACTIVE
    accepted = post_alert(strategy.plain_key, BUY)
    assert accepted.status_code == 202, accepted.content


def test_a_stopped_strategy_is_activated_again(world, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.STOPPED)
    body = (
        api(world.trader)
        .post(ACTIVATE, {"strategy_id": strategy.pk, "active": True}, format="json")
        .json()
    )
    assert body["strategy"]["status"] == "active"


def test_past_the_plans_strategies_activating_is_refused_and_pausing_is_not(
    world, billing_on
):
    billing = BillingAccount.objects.get(workspace=world.workspace)
    billing.plan = Plan.objects.get(code="starter")
    billing.status = BillingAccount.Status.ACTIVE
    billing.save()
    running = StrategyFactory.create(workspace=world.workspace, name="a")
    waiting = StrategyFactory.create(workspace=world.workspace, name="b")
    Strategy.objects.filter(pk=waiting.pk).update(status=Strategy.Status.PAUSED)
    Plan.objects.filter(code="starter").update(max_strategies=1)  # a downgrade
    client = api(world.owner)
    refused = client.post(ACTIVATE, {"strategy_id": waiting.pk}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "plan-limit:strategies"
    assert "pause one or upgrade" in refused.json()["detail"]
    waiting.refresh_from_db()
    assert waiting.status == Strategy.Status.PAUSED
    stop = {"strategy_id": running.pk, "active": False}
    assert client.post(ACTIVATE, stop, format="json").status_code == 200
    again = client.post(ACTIVATE, {"strategy_id": waiting.pk}, format="json")
    assert again.status_code == 200
    assert again.json()["strategy"]["status"] == "active"


def test_readers_may_not_activate_and_an_outsider_is_a_404(world, strategy, exporter):
    body = {"strategy_id": strategy.pk, "active": False}
    for reader in (world.viewer, exporter):
        response = api(reader).post(ACTIVATE, body, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission-denied"
    response = api(world.outsider).post(ACTIVATE, body, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not-found")
    missing = {"strategy_id": 999_999}
    assert api(world.owner).post(ACTIVATE, missing, format="json").status_code == 404
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.ACTIVE


def test_an_anonymous_request_is_a_401(db):
    for response in (APIClient().get(LIST), APIClient().post(ACTIVATE, {})):
        assert response.status_code == 401
        assert response.json()["code"] == "not-authenticated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "strategy_id"),
        ({"strategy_id": "trend"}, "strategy_id"),
        ({"strategy_id": 0}, "strategy_id"),
        ({"strategy_id": 1, "active": "sometimes"}, "active"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(world, strategy, body, field):
    response = api(world.owner).post(ACTIVATE, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation-error"
    assert field in response.json()["errors"]
