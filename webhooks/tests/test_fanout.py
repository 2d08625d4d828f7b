"""One alert, many accounts: strategies with per-account overrides, groups,
approval mode and heartbeats."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

import testkit
from brokers.models import Position
from paperbroker.services import quote_record
from testkit.factories import PaperAccountFactory
from webhooks.execution.run import execution_run
from webhooks.execution.supervision import execution_decide, signals_sweep
from webhooks.intake.keys import account_register
from webhooks.models import Execution, Signal, Strategy
from webhooks.strategies.services import (
    account_group_create,
    strategies_heartbeat_check,
    strategy_create,
    subscription_save,
)


@pytest.fixture(autouse=True)
def _setup(settings, db):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal("100"), source="manual")


def paper(world, name: str):
    return PaperAccountFactory.create(
        workspace=world.workspace, name=name, balance=Decimal(10000)
    )


def alert(key: str, **fields) -> Signal:
    return testkit.alert(key, **{"qty": 3, **fields})


def held(account) -> Decimal:
    row = Position.objects.filter(account=account, symbol="BTCUSDT").first()
    return row.quantity if row else Decimal(0)


def test_one_alert_fills_every_subscriber_with_its_own_overrides(world):
    double, capped, off = (
        paper(world, "double"),
        paper(world, "capped"),
        paper(world, "off"),
    )
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="copy"
    )
    subscription_save(strategy=strategy, account=double, multiplier=Decimal(2))
    subscription_save(strategy=strategy, account=capped, max_quantity=Decimal(1))
    subscription_save(strategy=strategy, account=off, enabled=False)
    signal = alert(key)
    assert (held(double), held(capped), held(off)) == (6, 1, 0)
    outcomes = {e.account_id: e.status for e in signal.executions.all()}
    assert outcomes == {
        double.pk: Execution.Status.FILLED,
        capped.pk: Execution.Status.FILLED,
        off.pk: Execution.Status.SKIPPED,
    }
    # A switched-off subscription is not a failure of the signal.
    assert signal.status == Signal.Status.FILLED


def test_a_long_only_subscriber_closes_on_a_sell_but_never_goes_short(world):
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="longs"
    )
    subscription_save(strategy=strategy, account=world.account, allowed_sides="long")
    alert(key, qty=2)
    alert(key, action="sell", qty=5)
    assert held(world.account) == 0
    skipped = alert(key, action="sell", qty=1, id="short again")
    execution = skipped.executions.get()
    assert (execution.status, execution.error_code) == (
        Execution.Status.SKIPPED,
        "side-not-allowed",
    )


def test_a_subscription_maps_the_alerts_symbol_to_another_root(world):
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="eth follower"
    )
    quote_record(symbol="ETHUSDT", last=Decimal("10"), source="manual")
    subscription_save(
        strategy=strategy, account=world.account, symbol_map={"BTCUSDT": "ETHUSDT"}
    )
    alert(key, qty=1, price="10")
    assert Position.objects.get(account=world.account).symbol == "ETHUSDT"


def test_a_group_key_trades_every_member(world):
    other = paper(world, "second")
    group, key = account_group_create(
        workspace=world.workspace,
        user=world.owner,
        name="both",
        accounts=[world.account, other],
    )
    signal = alert(key, qty=1)
    assert (held(world.account), held(other)) == (1, 1)
    assert signal.group == group and signal.status == Signal.Status.FILLED


def test_a_group_never_includes_another_workspaces_account(world):
    from accounts.models import Workspace

    foreign, _ = account_register(
        workspace=Workspace.objects.get(pk=world.other_workspace.pk),
        user=world.outsider,
        venue="paper",
        name="theirs",
        options={"initial_balance": Decimal(1000)},
    )
    group, key = account_group_create(
        workspace=world.workspace,
        user=world.owner,
        name="mixed",
        accounts=[world.account, foreign],
    )
    assert list(group.accounts.all()) == [world.account]
    alert(key, qty=1)
    assert held(foreign) == 0


def test_approval_mode_waits_for_the_trader(world):
    strategy, key = strategy_create(
        workspace=world.workspace,
        user=world.owner,
        name="careful",
        manual_approval=True,
    )
    subscription_save(strategy=strategy, account=world.account)
    signal = alert(key, qty=1)
    assert signal.status == Signal.Status.AWAITING and held(world.account) == 0
    execution = signal.executions.get()
    assert execution_decide(execution=execution, user=world.owner, approve=True)
    execution_run(execution_id=execution.pk)
    assert held(world.account) == 1
    signal.refresh_from_db()
    assert signal.status == Signal.Status.FILLED
    # Deciding twice does nothing.
    assert not execution_decide(execution=execution, user=world.owner, approve=False)


def test_a_rejected_or_expired_approval_trades_nothing(world, settings):
    strategy, key = strategy_create(
        workspace=world.workspace,
        user=world.owner,
        name="careful",
        manual_approval=True,
    )
    subscription_save(strategy=strategy, account=world.account)
    rejected = alert(key, qty=1).executions.get()
    execution_decide(execution=rejected, user=world.owner, approve=False)
    rejected.refresh_from_db()
    assert rejected.error_code == "rejected-by-trader"
    late = alert(key, qty=2).executions.get()
    Execution.objects.filter(pk=late.pk).update(
        created_at=timezone.now() - timedelta(minutes=60)
    )
    signals_sweep()
    late.refresh_from_db()
    assert (late.status, late.error_code) == (
        Execution.Status.SKIPPED,
        "approval-expired",
    )
    assert held(world.account) == 0


def test_a_strategy_that_stops_sending_alerts_is_reported_once(world):
    strategy, key = strategy_create(
        workspace=world.workspace,
        user=world.owner,
        name="hourly",
        heartbeat_minutes=60,
    )
    Strategy.objects.filter(pk=strategy.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    assert strategies_heartbeat_check() == [strategy]
    assert strategies_heartbeat_check() == []
    assert "no alerts from hourly" in mail.outbox[0].subject
    # The next alert clears the warning.
    subscription_save(strategy=strategy, account=world.account)
    alert(key, qty=1)
    strategy.refresh_from_db()
    assert strategy.heartbeat_missed_at is None and strategy.last_signal_at


def test_a_strategy_without_subscribers_fails_with_a_reason(world):
    _, key = strategy_create(workspace=world.workspace, user=world.owner, name="alone")
    signal = alert(key, qty=1)
    assert (signal.status, signal.error_code) == (Signal.Status.FAILED, "no-accounts")
