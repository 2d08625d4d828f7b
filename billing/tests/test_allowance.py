"""The rule that protects traders: the trial's end, a failed payment and a plan's
limits refuse new entries, with a code and a sentence; exits, flatten, cancel,
the risk monitor and the kill switch always work. And without Stripe's keys,
nothing is limited."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

import testkit
from accounts.tokens import token_issue
from billing.models import BillingAccount, Plan, WhiteLabel
from billing.quotas import PlanLimit
from billing.selectors import billing_status
from brokers.models import BrokerAccount, Position
from paperbroker.services import quote_record
from risk.models import RiskConfig
from risk.monitor import risk_monitor
from testkit import api_client_for as api
from testkit.factories import PaperAccountFactory, WorkspaceFactory
from webhooks.intake.keys import account_register
from webhooks.models import Signal
from webhooks.strategies.services import strategy_create, subscription_save

pytestmark = pytest.mark.usefixtures("clock")
BUY = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": "100"}
EXIT = {"action": "exit", "symbol": "BTCUSDT"}


@pytest.fixture(autouse=True)
def _quotes(settings, db):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


def held(account) -> Decimal:
    row = Position.objects.filter(account=account, symbol="BTCUSDT").first()
    return row.quantity if row else Decimal(0)


def subscribe(world, plan_code: str, status: str = "active") -> BillingAccount:
    billing = BillingAccount.objects.get(workspace=world.workspace)
    billing.plan = Plan.objects.get(code=plan_code)
    billing.status = status
    billing.save()
    return billing


def copied_to(world, count: int) -> tuple[str, list]:
    """A strategy's key and the `count` paper accounts that follow it."""
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="c"
    )
    accounts = [
        PaperAccountFactory.create(workspace=world.workspace, name=f"copy {n}")
        for n in range(count)
    ]
    for account in accounts:
        subscription_save(strategy=strategy, account=account)
    return key, accounts


def test_without_stripe_keys_the_instance_is_unlimited(world, settings, clock):
    settings.TRIAL_TRADES = 0
    clock.advance(days=30)
    assert testkit.alert(world.api_key, BUY).status == "filled"
    body = api(world.owner).get("/api/billing/status").json()
    assert (body["billing_enabled"], body["plan"], body["can_trade"]) == (
        False,
        "unlimited",
        True,
    )
    assert BillingAccount.objects.get(workspace=world.workspace).trades_count == 1


def test_the_trial_counts_each_filled_trade_once_and_says_what_is_left(
    world, settings, billing_on
):
    settings.TRIAL_TRADES = 3
    assert testkit.alert(world.api_key, {**BUY, "id": "a"}).status == "filled"
    replay = testkit.post_alert(world.api_key, {**BUY, "id": "a"})  # TradingView again
    assert replay.json()["code"] == "duplicate"
    resting = {**BUY, "id": "r", "order_type": "limit", "price": "50"}
    assert testkit.alert(world.api_key, resting).status == "working"  # not a fill
    body = api(world.owner).get("/api/billing/usage").json()
    assert (body["trades_count"], body["trial_trades_remaining"]) == (1, 2)
    assert body["days_remaining"] == 3
    assert body["usage"]["accounts"] == {"used": 1, "limit": 10, "over": 0}


def test_when_the_trial_ends_entries_stop_and_exits_still_fill(
    world, settings, billing_on, clock
):
    assert testkit.alert(world.api_key, {**BUY, "qty": 2}).status == "filled"
    clock.advance(days=3, seconds=1)
    status = api(world.owner).get("/api/billing/status").json()
    assert (status["can_trade"], status["code"]) == (False, "trial-expired")
    # A position is open, so an alert may be its exit: it goes in, its entry does not.
    entry = testkit.alert(world.api_key, {**BUY, "id": "more"})
    assert (entry.status, entry.error_code) == ("rejected", "trial-expired")
    assert testkit.alert(world.api_key, {**EXIT, "id": "out"}).status == "filled"
    assert held(world.account) == 0
    # Flat now: an entry is refused at the door, with the sentence.
    response = testkit.post_alert(world.api_key, {**BUY, "id": "again"})
    assert (response.status_code, response.json()["code"]) == (402, "trial-expired")
    assert "closing them always works" in response.json()["detail"]


def test_after_the_trial_a_flip_closes_its_side_and_opens_nothing(
    world, billing_on, clock
):
    testkit.alert(world.api_key, {**BUY, "qty": 2})
    clock.advance(days=4)
    flip = {"action": "sell", "symbol": "BTCUSDT", "qty": 3, "id": "flip"}
    execution = testkit.alert(world.api_key, flip).executions.get()
    assert execution.error_code == "trial-expired"
    assert held(world.account) == 0  # the exit filled; the new short never went


def test_the_kill_switch_and_a_cancel_work_whatever_billing_says(
    world, billing_on, clock
):
    testkit.alert(world.api_key, {**BUY, "qty": 2})
    resting = {**BUY, "id": "rest", "order_type": "limit", "price": "50"}
    testkit.alert(world.api_key, resting)
    billing = subscribe(world, "pro", status=BillingAccount.Status.PAST_DUE)
    billing.past_due_since = clock.now() - timedelta(days=30)
    billing.save()
    cancel = {"action": "cancel", "symbol": "BTCUSDT", "id": "c"}
    assert testkit.alert(world.api_key, cancel).error_code == ""
    body = api(world.owner).post("/api/user/emergency_stop").json()
    assert body["success"] and body["positions_closed"] == 1
    assert held(world.account) == 0


def test_the_risk_monitor_flattens_an_account_whose_trial_ended(
    world, settings, billing_on, clock, tasks_inline
):
    RiskConfig.objects.create(account=world.account, flatten_at=time(15, 55))
    testkit.alert(world.api_key, {**BUY, "qty": 2})
    settings.TRIAL_TRADES = 1  # and it is used
    assert billing_status(world.workspace).code == "trial-expired"
    assert held(world.account) == 2
    now = clock.now()
    risk_monitor(account=world.account, now=now.replace(hour=21, minute=56))
    assert held(world.account) == 0


def test_a_fanout_takes_only_the_trials_last_trades(world, settings, billing_on):
    settings.TRIAL_TRADES = 2
    key, _ = copied_to(world, 3)
    signal = testkit.alert(key, BUY)
    outcomes = sorted(
        (e.status, e.error_code) for e in signal.executions.order_by("account_id")
    )
    assert outcomes == [("filled", ""), ("filled", ""), ("rejected", "trial-expired")]
    assert BillingAccount.objects.get(workspace=world.workspace).trades_count == 2


def test_a_plans_fanout_opens_its_accounts_and_closes_on_every_one(world, billing_on):
    subscribe(world, "starter")  # an alert opens positions on 2 accounts
    Plan.objects.filter(code="starter").update(max_accounts=None)
    key, accounts = copied_to(world, 3)
    signal = testkit.alert(key, BUY)
    codes = [e.error_code for e in signal.executions.order_by("account_id")]
    assert codes == ["", "", "plan-limit:fanout"]
    assert [held(a) for a in accounts] == [1, 1, 0]
    testkit.alert(key, {**EXIT, "id": "out"})
    assert [held(a) for a in accounts] == [0, 0, 0]


def test_past_due_warns_through_the_grace_then_stops_entries(
    world, settings, billing_on, clock
):
    billing = subscribe(world, "pro", status=BillingAccount.Status.PAST_DUE)
    billing.past_due_since = clock.now()
    billing.save()
    page = Client()
    page.force_login(world.owner)
    assert "update the card within 7 days" in page.get("/").content.decode()
    assert testkit.alert(world.api_key, BUY).status == "filled"
    clock.advance(days=7, seconds=1)
    entry = testkit.alert(world.api_key, {**BUY, "id": "late"})
    assert (entry.status, entry.error_code) == ("rejected", "payment-past-due")
    assert testkit.alert(world.api_key, {**EXIT, "id": "out"}).status == "filled"
    response = testkit.post_alert(world.api_key, {**BUY, "id": "flat"})
    assert (response.status_code, response.json()["code"]) == (402, "payment-past-due")


def test_an_ended_subscription_refuses_entries_with_its_own_code(world, billing_on):
    subscribe(world, "pro", status=BillingAccount.Status.CANCELED)
    response = testkit.post_alert(world.api_key, BUY)
    assert (response.status_code, response.json()["code"]) == (
        402,
        "subscription-ended",
    )
    assert Signal.objects.get().error_code == "subscription-ended"


def test_the_plan_limits_accounts_and_strategies_in_the_service(world, billing_on):
    subscribe(world, "starter")  # 2 accounts, 5 strategies
    account_register(
        workspace=world.workspace, user=world.owner, venue="paper", name="second"
    )
    with pytest.raises(PlanLimit) as refused:
        account_register(
            workspace=world.workspace, user=world.owner, venue="paper", name="third"
        )
    assert refused.value.code == "plan-limit:accounts"
    response = api(world.owner).post(
        "/register/paper", {"name": "third", "initial_balance": 1000}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (
        403,
        "plan-limit:accounts",
    )
    for n in range(5):
        strategy_create(workspace=world.workspace, user=world.owner, name=f"s{n}")
    with pytest.raises(PlanLimit, match="Starter plan holds 5 strategies"):
        strategy_create(workspace=world.workspace, user=world.owner, name="sixth")


def test_a_downgrade_below_the_accounts_held_stops_entries_until_some_go(
    world, billing_on
):
    for n in range(2):
        account_register(
            workspace=world.workspace, user=world.owner, venue="paper", name=f"x{n}"
        )
    subscribe(world, "starter")  # 2 accounts; the workspace has 3
    entry = testkit.alert(world.api_key, BUY)
    assert entry.error_code == "plan-limit:accounts"
    assert "remove 1" in entry.executions.get().error_message


def test_a_paper_only_plan_refuses_a_live_broker(world, billing_on):
    Plan.objects.filter(code="starter").update(live_brokers=False)
    subscribe(world, "starter")
    with pytest.raises(PlanLimit) as refused:
        account_register(
            workspace=world.workspace, user=world.owner, venue="tradovate", name="live"
        )
    assert refused.value.code == "plan-limit:venues"


def test_api_tokens_need_a_plan_with_the_api(world, billing_on):
    subscribe(world, "starter")
    page = Client()
    page.force_login(world.owner)
    form = {"name": "script", "scope": "read", "days": "30"}
    response = page.post("/api-tokens/", form)
    assert response.status_code == 400
    assert "The API is not part of the Starter plan" in response.content.decode()
    subscribe(world, "pro")
    assert page.post("/api-tokens/", form).status_code == 302


def test_a_viewer_reads_the_plan_but_cannot_buy_one(world, billing_on):
    assert api(world.viewer).get("/api/billing/status").status_code == 200
    response = api(world.viewer).post(
        "/api/billing/checkout", {"plan": "pro"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (
        403,
        "permission-denied",
    )


def test_an_admin_elsewhere_is_still_a_viewer_here(world, billing_on):
    """A viewer of this workspace who runs one of their own: with this one on
    screen, neither checkout nor the brand acts here, nor moves to their own."""
    WorkspaceFactory.create(owner=world.viewer, name="Viewer's own")
    page = Client()
    page.force_login(world.viewer)
    session = page.session
    session["workspace_id"] = world.workspace.pk
    session.save()
    assert page.post("/billing/checkout/", {"plan": "pro"}).status_code == 403
    assert page.post("/billing/portal/").status_code == 403
    brand = page.post("/billing/white-label/", {"custom_domain": "evil.example.com"})
    assert brand.status_code == 403
    assert not WhiteLabel.objects.exists()


def test_a_trade_token_cannot_spend_or_rebrand(world, billing_on):
    _, token = token_issue(user=world.owner, name="bot", scope="trade", days=30)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/billing/status").status_code == 200
    for url in ("/api/billing/checkout", "/api/billing/portal", "/api/user/whitelabel"):
        response = client.generic("PUT" if "white" in url else "POST", url, "{}")
        assert response.json()["code"] == "insufficient-scope", url


def test_an_unsynced_live_account_lets_an_alert_in_to_be_judged_by_the_venue(
    world, billing_on, clock
):
    """Our books may not hold a position opened by hand at the broker: the door
    lets the alert in, and the execution (which asks the venue) judges it."""
    BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradovate", name="Live", enabled=False
    )
    clock.advance(days=4)
    response = testkit.post_alert(world.api_key, BUY)
    assert response.status_code == 202
    signal = testkit.run_signal(response.json()["signal_id"])
    assert signal.executions.get().error_code == "trial-expired"


def test_checkout_without_stripe_keys_says_billing_is_off(world):
    response = api(world.owner).post(
        "/api/billing/checkout", {"plan": "pro"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "billing-disabled")
    page = Client()
    page.force_login(world.owner)
    assert "Billing is off on this instance" in page.get("/billing/").content.decode()
    assert "Billing is off on this instance" in page.get("/pricing/").content.decode()
