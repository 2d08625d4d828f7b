"""A Topstep 50K Trading Combine replayed through the paper broker: the
end-of-day trailing floor, the floor stopping at the starting balance, the daily
loss limit's flatten-and-lock, and the maximum loss ending the account.

Every test runs on the frozen clock: alerts, fills and measures all happen at
the time the test sets, whatever the date the suite runs on."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from brokers.instruments.sessions import ACCOUNT_DAY, trading_day
from brokers.models import BrokerAccount, Position
from paperbroker.services import price_update, quote_record
from risk.models import RiskPreset, RiskState, Violation
from risk.monitor import risk_monitor
from risk.presets import presets_load
from risk.services import risk_config_apply_preset
from testkit import alert
from webhooks.execution.fanout import signal_execute
from webhooks.models import Signal

CT = ZoneInfo("America/Chicago")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=CT)


@pytest.fixture
def combine(world, settings, clock):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    clock.set(MONDAY)
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    presets_load(RiskPreset)  # a transactional test before may have flushed them
    preset = RiskPreset.objects.get(key="topstep-combine-50k")
    config = risk_config_apply_preset(account=world.account, preset=preset)
    assert (config.max_loss_limit, config.daily_loss_limit) == (2000, 1000)
    return world.account


ALERTS = itertools.count()


def trade(account, key: str, action: str, qty: int = 5) -> Signal:
    body = {"action": action, "symbol": "BTCUSDT", "qty": qty, "id": next(ALERTS)}
    return alert(key, body)


def price(last: int) -> None:
    price_update(symbol="BTCUSDT", last=Decimal(last), source="manual")


@pytest.fixture
def measure(clock):
    """Move the clock to a time and measure the account there, as the beat would."""

    def at(account, when: datetime) -> RiskState:
        clock.set(when)
        risk_monitor(account=account)
        return RiskState.objects.get(account=account)

    return at


def test_the_session_boundary_is_17_00_chicago_and_a_weekend_is_mondays():
    assert trading_day(ACCOUNT_DAY, datetime(2026, 11, 23, 16, 59, tzinfo=CT)).day == 23
    assert trading_day(ACCOUNT_DAY, datetime(2026, 11, 23, 17, 0, tzinfo=CT)).day == 24
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=CT)
    assert trading_day(ACCOUNT_DAY, friday_evening) == date(2026, 11, 30)


def test_the_floor_trails_the_end_of_day_balance_and_stops_at_the_start(
    world, combine, measure
):
    state = measure(combine, MONDAY)
    assert (state.floor, state.day_start_balance) == (48000, 50000)
    trade(combine, world.api_key, "buy")
    price(200)  # +500 open profit: an end-of-day floor does not move intraday
    assert measure(combine, MONDAY + timedelta(hours=1)).floor == 48000
    trade(combine, world.api_key, "sell")
    balance = measure(combine, MONDAY + timedelta(hours=2)).equity
    assert 50490 < balance < 50500  # +500 less commissions
    tuesday = measure(combine, MONDAY + timedelta(days=1))
    assert tuesday.floor == balance - 2000 and tuesday.day_start_balance == balance
    trade(combine, world.api_key, "buy")
    price(800)  # +3,000 more
    trade(combine, world.api_key, "sell")
    wednesday = measure(combine, MONDAY + timedelta(days=2))
    assert wednesday.day_start_balance > 53400
    assert wednesday.floor == 50000  # stopped trailing at the starting balance
    assert not Violation.objects.exists()


def test_the_daily_loss_flattens_and_locks_until_the_session_ends(
    world, combine, measure
):
    quote_record(symbol="BTCUSDT", last=Decimal(1000), source="manual")
    measure(combine, MONDAY)
    trade(combine, world.api_key, "buy")
    price(850)  # -750 open: inside the $1,000 limit
    assert measure(combine, MONDAY + timedelta(minutes=5)).locked_until is None
    assert Position.objects.get(account=combine).quantity == 5
    price(805)  # -975: past the 5 % buffer before the limit
    state = measure(combine, MONDAY + timedelta(minutes=6))
    assert Position.objects.get(account=combine).quantity == 0
    assert state.locked_until == datetime(2026, 11, 23, 17, 0, tzinfo=CT)
    (violation,) = Violation.objects.filter(account=combine)
    assert (violation.rule, violation.action) == ("daily-loss", "flatten_lock")
    refused = trade(combine, world.api_key, "buy", qty=1)
    assert refused.error_code == "risk:daily-loss-lock"
    combine.refresh_from_db()
    assert combine.status == BrokerAccount.Status.ACTIVE  # not the account's end
    measure(combine, MONDAY + timedelta(minutes=7))
    assert Violation.objects.count() == 1  # once a session
    measure(combine, MONDAY + timedelta(days=1))  # a new session unlocks
    assert trade(combine, world.api_key, "buy", qty=1).status == "filled"


def test_the_maximum_loss_flattens_and_ends_the_account(
    world, combine, settings, measure
):
    from risk.models import RiskConfig

    settings.CELERY_TASK_ALWAYS_EAGER = True  # the e-mail task runs here

    RiskConfig.objects.filter(account=combine).update(daily_loss_limit=None)
    quote_record(symbol="BTCUSDT", last=Decimal(1000), source="manual")
    measure(combine, MONDAY)
    trade(combine, world.api_key, "buy")
    price(615)  # -1,925: inside the $100 buffer before the $48,000 floor
    measure(combine, MONDAY + timedelta(minutes=1))
    assert Position.objects.get(account=combine).quantity == 0
    combine.refresh_from_db()
    assert combine.status == BrokerAccount.Status.CLOSE_ONLY
    (violation,) = Violation.objects.filter(account=combine)
    assert violation.rule == "max-loss" and violation.numbers["floor"] == "48000.000000"
    from django.core import mail

    assert "max-loss on Paper 50K" in mail.outbox[-1].subject
    assert trade(combine, world.api_key, "buy", qty=1).error_code == "risk:close-only"


def test_an_order_whose_stop_would_cross_the_remaining_budget_is_refused(
    world, combine, measure
):
    quote_record(symbol="BTCUSDT", last=Decimal(1000), source="manual")
    measure(combine, MONDAY)
    body = {
        "action": "buy",
        "symbol": "BTCUSDT",
        "qty": 5,
        "price": "1000",
        "stop_loss": "790",  # 5 x 210 = $1,050 at risk > $1,000 left today
    }
    response = Client().post(
        f"/webhook/tradingview/{world.api_key}",
        json.dumps(body),
        content_type="text/plain",
    )
    signal_execute(signal_id=response.json()["signal_id"])
    signal = Signal.objects.get(pk=response.json()["signal_id"])
    assert signal.error_code == "risk:risk-to-breach"
    assert "1050.00" in signal.executions.get().error_message
    body["stop_loss"] = "850"  # $750: allowed
    body["id"] = "tighter"
    response = Client().post(
        f"/webhook/tradingview/{world.api_key}",
        json.dumps(body),
        content_type="text/plain",
    )
    signal_execute(signal_id=response.json()["signal_id"])
    assert Signal.objects.get(pk=response.json()["signal_id"]).status == "filled"


def test_micro_contracts_count_by_the_presets_ratio(world, combine):
    from risk.services import risk_check

    at_open = Position.objects.create(
        workspace=world.workspace, account=combine, symbol="MNQZ26", quantity=40
    )
    # 40 micros = 4 contracts on a 10:1 ratio; 10 more micros = 5: allowed.
    assert risk_check(account=combine, symbol="MNQZ26", side="buy", quantity=10).allowed
    refused = risk_check(account=combine, symbol="MNQZ26", side="buy", quantity=11)
    assert refused.rule == "max-contracts"
    at_open.delete()


def test_rules_metrics_and_violations_are_served_and_scoped(world, combine):
    from rest_framework.test import APIClient

    quote_record(symbol="BTCUSDT", last=Decimal(1000), source="manual")
    owner, outsider = APIClient(), APIClient()
    owner.force_login(world.owner)
    outsider.force_login(world.outsider)
    base = f"/api/accounts/{combine.pk}"
    rules = owner.get(f"{base}/rules").json()
    assert rules["preset"]["key"] == "topstep-combine-50k"
    assert Decimal(str(rules["rules"]["max_loss_limit"])) == 2000
    metrics = owner.get(f"{base}/realtime-metrics").json()
    assert Decimal(str(metrics["floor"])) == 48000
    assert Decimal(str(metrics["daily_loss_remaining"])) == 1000
    assert owner.get(f"{base}/violations").json() == []
    for path in ("rules", "metrics", "realtime-metrics", "violations"):
        assert outsider.get(f"{base}/{path}").status_code == 404
