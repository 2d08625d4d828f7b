"""A prop firm's daily loss on a TradeLocker account (the fake): the risk monitor
reads TradeLocker's balance and projected balance, which marks open positions, and
closes the positions at TradeLocker, by id, before the limit."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from brokers.models import BrokerAccount
from brokers.venues.tradelocker.adapter import TradeLockerAdapter
from risk.models import RiskPreset, RiskState, Violation
from risk.monitor import risk_monitor
from risk.presets import presets_load
from risk.services import risk_config_apply_preset
from testkit import alert
from webhooks.intake.keys import api_key_issue

from .conftest import EMAIL, login_options

CT = ZoneInfo("America/Chicago")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=CT)
IDS = itertools.count()


@pytest.fixture
def funded(fake, world, clock, settings):
    """A 50K account with a $1,000 daily loss limit (Topstep's 50K rules, as a
    forex firm's would be set), gold at 2000.00 / 2000.30."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    clock.set(MONDAY)
    fake.account(EMAIL, "OSP#50K", balance=Decimal(50_000))
    account = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradelocker"
    )
    TradeLockerAdapter.provision(account, login_options())
    account.refresh_from_db()
    presets_load(RiskPreset)
    preset = RiskPreset.objects.get(key="topstep-combine-50k")
    risk_config_apply_preset(account=account, preset=preset)
    _, key = api_key_issue(account=account, created_by=None, name="t")
    fake.price("XAUUSD", Decimal(2000), Decimal("2000.30"))
    risk_monitor(account=account)  # the day's first measure
    return account, key


def gold(fake, bid: str) -> None:
    fake.price("XAUUSD", Decimal(bid), Decimal(bid) + Decimal("0.30"))


def test_the_daily_loss_closes_the_positions_at_tradelocker_before_the_limit(
    fake, funded, clock
):
    account, key = funded
    body = {"action": "buy", "symbol": "OANDA:XAUUSD", "qty": 1, "id": next(IDS)}
    assert alert(key, body).status == "filled"  # 1 lot, 100 oz: $100 a dollar
    gold(fake, "1992.30")  # -$800 open, inside the $1,000 daily limit
    clock.set(MONDAY + timedelta(minutes=5))
    risk_monitor(account=account)
    assert RiskState.objects.get(account=account).locked_until is None
    assert len(fake.positions) == 1
    gold(fake, "1990.60")  # -$970: past the buffer before the limit
    clock.set(MONDAY + timedelta(minutes=6))
    risk_monitor(account=account)
    assert fake.positions == {}  # closed at TradeLocker
    assert any(call.startswith("DELETE /trade/positions/") for call in fake.calls)
    state = RiskState.objects.get(account=account)
    assert state.locked_until == datetime(2026, 11, 23, 17, 0, tzinfo=CT)
    (violation,) = Violation.objects.filter(account=account)
    assert (violation.rule, violation.action) == ("daily-loss", "flatten_lock")
    [venue_account] = fake.accounts.values()
    assert Decimal(49_000) < venue_account.balance < Decimal(50_000) - Decimal(900)
