"""A Topstep 50K Combine's rules on a Tradovate account (the fake): the risk
monitor reads Tradovate's cash balance and net liquidation value, and flattens
at Tradovate before a limit."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

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


def held(connected) -> int:
    return sum(size for size, _ in connected.fake.positions.values())


def test_the_daily_loss_flattens_at_tradovate_before_the_limit(combine, clock):
    connected, key = combine
    body = {"action": "buy", "symbol": "MNQ1!", "qty": 5, "id": next(IDS)}
    assert alert(key, body).status == "filled"  # 5 MNQ: $10 a point
    connected.price(Decimal(20920))  # -$800 open, inside the $1,000 daily limit
    clock.set(MONDAY + timedelta(minutes=5))
    risk_monitor(account=connected.account)
    assert RiskState.objects.get(account=connected.account).locked_until is None
    assert held(connected) == 5
    connected.price(Decimal(20903))  # -$970: past the buffer before the limit
    clock.set(MONDAY + timedelta(minutes=6))
    risk_monitor(account=connected.account)
    assert held(connected) == 0  # liquidated at Tradovate
    state = RiskState.objects.get(account=connected.account)
    assert state.locked_until == datetime(2026, 11, 23, 17, 0, tzinfo=CT)
    (violation,) = Violation.objects.filter(account=connected.account)
    assert (violation.rule, violation.action) == ("daily-loss", "flatten_lock")
    assert connected.venue_account.balance < Decimal(50_000) - Decimal(900)
