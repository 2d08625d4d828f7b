"""A Topstep 50K Combine on a ProjectX account (the fake): the risk monitor reads
the venue's balance and open P&L, and flattens at the venue before a limit."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from brokers.models import BrokerAccount
from risk.models import RiskPreset, RiskState, Violation
from risk.monitor import risk_monitor
from risk.presets import presets_load
from risk.services import risk_config_apply_preset
from testkit import alert
from webhooks.intake.keys import api_key_issue

CT = ZoneInfo("America/Chicago")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=CT)
IDS = itertools.count()


@pytest.fixture
def combine(connected, clock, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    clock.set(MONDAY)
    presets_load(RiskPreset)
    preset = RiskPreset.objects.get(key="topstep-combine-50k")
    risk_config_apply_preset(account=connected.account, preset=preset)
    _, key = api_key_issue(account=connected.account, created_by=None, name="t")
    connected.price(Decimal(21000))
    risk_monitor(account=connected.account)  # the day's first measure
    return connected, key


def buy(key: str, qty: int) -> None:
    body = {"action": "buy", "symbol": "MNQ1!", "qty": qty, "id": next(IDS)}
    assert alert(key, body).status == "filled"


def held(connected) -> int:
    return sum(size for size, _ in connected.fake.positions.values())


def measure(connected, clock, minutes: int) -> RiskState:
    clock.set(MONDAY + timedelta(minutes=minutes))
    risk_monitor(account=connected.account)
    return RiskState.objects.get(account=connected.account)


def test_the_daily_loss_flattens_at_the_venue_before_the_limit(combine, clock):
    connected, key = combine
    buy(key, 5)  # 5 MNQ: $10 a point
    connected.price(Decimal(20920))  # -$800 open, inside the $1,000 daily limit
    assert measure(connected, clock, 5).locked_until is None
    assert held(connected) == 5
    connected.price(Decimal(20903))  # -$970 and fees: past the buffer before it
    state = measure(connected, clock, 6)
    assert held(connected) == 0  # flattened at ProjectX
    assert state.locked_until == datetime(2026, 11, 23, 17, 0, tzinfo=CT)
    (violation,) = Violation.objects.filter(account=connected.account)
    assert (violation.rule, violation.action) == ("daily-loss", "flatten_lock")
    assert connected.venue_account.balance < Decimal(50_000) - Decimal(900)


def test_the_maximum_loss_flattens_and_ends_the_account(combine, clock):
    from risk.models import RiskConfig

    connected, key = combine
    RiskConfig.objects.filter(account=connected.account).update(daily_loss_limit=None)
    buy(key, 10)  # $20 a point
    connected.price(Decimal(20905))  # -$1,900 and fees: within $100 of the floor
    measure(connected, clock, 1)
    assert held(connected) == 0
    connected.account.refresh_from_db()
    assert connected.account.status == BrokerAccount.Status.CLOSE_ONLY
    (violation,) = Violation.objects.filter(account=connected.account)
    assert violation.rule == "max-loss"
