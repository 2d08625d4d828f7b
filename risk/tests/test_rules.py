"""The rules beyond money: trading windows, news blackouts, cooldowns, resizing
down to the risk allowed, the daily flatten time, and the calendar import."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from brokers.models import Order, Position
from paperbroker.services import price_update, quote_record
from risk.calendar import CalendarError, calendar_parse
from risk.models import EconomicEvent, RiskConfig, RiskState, Violation
from risk.monitor import risk_monitor
from risk.services import economic_calendar_import, risk_check
from webhooks.execution.submit import signal_submit

# Orders sent through the API are executed by a worker: inline here.
pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")

CT = ZoneInfo("America/Chicago")
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=CT)


@pytest.fixture
def rules(world):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    return RiskConfig.objects.create(account=world.account)


def check(world, at=TUESDAY_NOON, side="buy", **kw):
    kw.setdefault("quantity", Decimal(1))
    return risk_check(account=world.account, symbol="BTCUSDT", side=side, at=at, **kw)


def test_entries_only_inside_the_weekday_windows_in_the_traders_zone(world, rules):
    rules.trading_windows = {"tue": [["08:30", "15:00"]]}
    rules.save()
    assert check(world).allowed
    late = check(world, at=TUESDAY_NOON.replace(hour=15, minute=30))
    assert (late.rule, late.numbers["local_time"]) == ("outside-window", "15:30")
    assert check(world, at=TUESDAY_NOON + timedelta(days=1)).rule == "outside-window"


def test_exits_outside_the_window_follow_the_setting(world, rules):
    rules.trading_windows = {"tue": [["08:30", "09:00"]]}
    rules.save()
    Position.objects.create(
        workspace=world.workspace, account=world.account, symbol="BTCUSDT", quantity=2
    )
    assert check(world, side="sell").allowed
    rules.exits_outside_window = False
    rules.save()
    assert check(world, side="sell").rule == "outside-window"


def test_no_entries_around_high_impact_news(world, rules):
    rules.news_blackout_minutes = 10
    rules.save()
    at = TUESDAY_NOON.astimezone(UTC)
    EconomicEvent.objects.create(
        uid="cpi", name="USD CPI", impact="high", at=at + timedelta(minutes=8)
    )
    EconomicEvent.objects.create(
        uid="small", name="USD Redbook", impact="low", at=at + timedelta(minutes=2)
    )
    refused = check(world, at=TUESDAY_NOON)
    assert (refused.rule, refused.numbers["event"]) == ("news-blackout", "USD CPI")
    assert check(world, at=TUESDAY_NOON + timedelta(minutes=19)).allowed


def test_an_order_risking_too_much_is_resized_down_when_asked(world, rules):
    rules.max_risk_per_trade = Decimal(250)
    rules.save()
    RiskState.objects.create(account=world.account, equity=Decimal(50000))
    kw = {"price": Decimal(100), "stop_loss": Decimal(40), "quantity": Decimal(10)}
    assert check(world, **kw).rule == "max-risk-per-trade"  # $600 at risk
    rules.risk_action = "resize"
    rules.save()
    resized = check(world, **kw)
    assert resized.allowed and resized.quantity == Decimal("4.16666")
    signal = signal_submit(
        user=world.owner,
        data={
            "action": "buy",
            "symbol": "BTCUSDT",
            "qty": 10,
            "price": "100",
            "stop_loss": "40",
        },
        account=world.account,
    )
    assert signal.status == "filled"
    assert Position.objects.get(account=world.account).quantity == Decimal("4.16666")


def test_losing_trades_in_a_row_start_a_cooldown(world, rules):
    rules.cooldown_losses, rules.cooldown_minutes = 2, 30
    rules.save()
    at = TUESDAY_NOON
    risk_monitor(account=world.account, now=at)
    for n in range(2):
        signal_submit(
            user=world.owner,
            data={"action": "buy", "symbol": "BTCUSDT", "qty": 1, "id": f"b{n}"},
            account=world.account,
        )
        price_update(symbol="BTCUSDT", last=Decimal(90 - n), source="manual")
        signal_submit(
            user=world.owner,
            data={"action": "sell", "symbol": "BTCUSDT", "qty": 1, "id": f"s{n}"},
            account=world.account,
        )
        risk_monitor(account=world.account, now=at + timedelta(minutes=n + 1))
        quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    # The monitor also runs after every fill (on the real clock): the second
    # loss starts the 30 minutes wherever it was measured.
    until = RiskState.objects.get(account=world.account).cooldown_until
    assert until is not None
    assert check(world, at=until - timedelta(minutes=1)).rule == "cooldown"
    assert check(world, at=until + timedelta(minutes=1)).rule != "cooldown"


def test_the_daily_flatten_time_flattens_once_a_day(world, rules):
    rules.flatten_at = time(15, 55)
    rules.save()
    signal_submit(
        user=world.owner,
        data={"action": "buy", "symbol": "BTCUSDT", "qty": 2},
        account=world.account,
    )
    risk_monitor(account=world.account, now=TUESDAY_NOON)
    assert Position.objects.get(account=world.account).quantity == 2
    risk_monitor(account=world.account, now=TUESDAY_NOON.replace(hour=15, minute=56))
    assert Position.objects.get(account=world.account).quantity == 0
    assert Violation.objects.get().rule == "flatten-time"


ICS = """BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:fomc-2026-12@fed
SUMMARY:FOMC rate decision\\, USD
CATEGORIES:High
DTSTART:20261209T190000Z
END:VEVENT
BEGIN:VEVENT
UID:cpi-2026-12
SUMMARY:CPI m/m
DTSTART;TZID=America/New_York:20261210T
 083000
PRIORITY:5
X-CURRENCY:USD
END:VEVENT
END:VCALENDAR
"""


def test_an_icalendar_file_imports_once_with_impact_and_currency(db):
    assert economic_calendar_import(text=ICS) == (2, 0)
    assert economic_calendar_import(text=ICS) == (0, 2)
    fomc, cpi = EconomicEvent.objects.order_by("at")
    assert (fomc.name, fomc.impact, fomc.currency) == (
        "FOMC rate decision, USD",
        "high",
        "USD",
    )
    assert cpi.at == datetime(2026, 12, 10, 13, 30, tzinfo=UTC)
    assert cpi.impact == "medium"
    with pytest.raises(CalendarError):
        calendar_parse("BEGIN:VEVENT\nSUMMARY:x\nDTSTART:yesterday\nEND:VEVENT")


def test_the_seed_002_risk_config_route_reads_and_changes_rules(world):
    from rest_framework.test import APIClient

    owner, viewer, outsider = APIClient(), APIClient(), APIClient()
    owner.force_login(world.owner)
    viewer.force_login(world.viewer)
    outsider.force_login(world.outsider)
    url = "/api/user/risk_config"
    body = owner.get(url).json()
    assert body["account_id"] == world.account.pk and body["max_daily_loss"] is None
    changed = owner.put(
        url,
        {
            "max_daily_loss": 800,
            "trading_hours_enabled": True,
            "trading_windows": {"mon": [["08:30", "15:00"]]},
            "timezone": "America/New_York",
        },
        format="json",
    ).json()
    assert Decimal(str(changed["max_daily_loss"])) == 800
    assert changed["trading_hours_enabled"] is True
    config = RiskConfig.objects.get(account=world.account)
    assert (config.daily_loss_limit, config.timezone) == (800, "America/New_York")
    bad = owner.put(url, {"max_daily_loss": -5, "timezone": "Mars/Base"}, format="json")
    assert bad.status_code == 400 and "errors" in bad.json()
    windows = owner.put(
        url, {"trading_windows": {"mon": [["15:00", "08:30"]]}}, format="json"
    )
    assert windows.status_code == 400
    assert viewer.put(url, {"max_daily_loss": 1}, format="json").status_code == 403
    # Rules whose floor sits above what a never-measured account holds would end
    # it at the first measurement: refused, nothing saved.
    world.account.balance = world.account.equity = Decimal(25000)
    world.account.save(update_fields=["balance", "equity"])
    too_big = {"starting_balance": 50000, "max_loss_limit": 2000}
    ended = owner.put(url, too_big, format="json")
    assert ended.status_code == 400 and ended.json()["code"] == "opening-breach"
    assert RiskConfig.objects.get(account=world.account).max_loss_limit is None
    other = f"{url}?account_id={world.account.pk}"
    assert outsider.get(other).status_code == 404


def test_open_positions_risk_to_their_stops_and_open_profit_count_against_the_budget(
    world, rules
):
    rules.daily_loss_limit = Decimal(1000)
    rules.save()
    world.account.balance = Decimal(50000)
    world.account.save(update_fields=["balance"])
    RiskState.objects.create(
        account=world.account,
        equity=Decimal(50400),  # 400 open profit
        day_start_balance=Decimal(50000),
    )
    now = TUESDAY_NOON.astimezone(UTC)
    for n, (qty, stop) in enumerate([(1, None), (2, Decimal(80))]):
        Order.objects.create(
            workspace=world.workspace,
            account=world.account,
            client_order_id=f"entry-{n}",
            symbol="BTCUSDT",
            side="buy",
            order_type="market",
            quantity=qty,
            filled_quantity=qty,
            avg_fill_price=Decimal(100),
            stop_loss=stop,
            status=Order.Status.FILLED,
            filled_at=now + timedelta(seconds=n),
        )
    held = {"BTCUSDT": Decimal(3)}
    entry = {"price": Decimal(100), "current": Decimal(3), "positions": held}
    # Left: 1,000 + 400 today, less 2 x 20 to the stop and the 400 open profit.
    fits = check(world, stop_loss=Decimal(5), quantity=Decimal(10), **entry)
    assert fits.allowed  # 950 at risk, 960 left
    refused = check(world, stop_loss=Decimal(3), quantity=Decimal(10), **entry)
    assert refused.rule == "risk-to-breach"
    assert Decimal(refused.numbers["open_positions_at_stops"]) == 440
    # The part opened without a stop is not measurable: only the bracketed part counts.
    Order.objects.filter(stop_loss__isnull=False).update(stop_loss=None)
    assert check(world, stop_loss=Decimal(3), quantity=Decimal(10), **entry).allowed


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ({"mon": [["18:00", "24:00"]]}, {"mon": [["18:00", "24:00"]]}),
        ({"tue": [["08:30:00", "15:00"]]}, {"tue": [["08:30", "15:00"]]}),
        ({"fri": [["13:00", "15:00"], ["8:30", "12:00"]]}, None),
    ],
)
def test_windows_are_kept_the_same_way_from_the_page_and_the_api(world, sent, kept):
    """One validation (risk.config) for the page's text and the API's JSON."""
    from risk.config import trading_windows_clean
    from risk.forms import TradingWindowsField
    from testkit import api_client_for

    expected = kept or {"fri": [["08:30", "12:00"], ["13:00", "15:00"]]}
    response = api_client_for(world.owner).put(
        "/api/user/risk_config", {"trading_windows": sent}, format="json"
    )
    assert response.json()["trading_windows"] == expected
    typed = "\n".join(
        f"{day} " + ", ".join(f"{a}-{b}" for a, b in spans)
        for day, spans in sent.items()
    )
    assert TradingWindowsField(required=False).clean(typed) == expected
    assert trading_windows_clean(expected) == expected


@pytest.mark.parametrize(
    ("windows", "says"),
    [
        ({"mon": [["25:00", "26:00"]]}, "is not a time"),
        ({"mon": [["15:00", "08:30"]]}, "ends before it starts"),
        ({"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}, "overlap"),
        ({"monday": [["08:00", "12:00"]]}, "not a weekday"),
        ({"mon": [["08:00"]]}, "write each window"),
    ],
)
def test_windows_that_are_not_windows_are_refused_with_a_reason(world, windows, says):
    from testkit import api_client_for

    response = api_client_for(world.owner).put(
        "/api/user/risk_config", {"trading_windows": windows}, format="json"
    )
    assert response.status_code == 400
    assert says in response.json()["errors"]["trading_windows"][0]


def test_a_window_to_midnight_admits_entries_until_the_last_minute(world, rules):
    rules.trading_windows = {"tue": [["18:00", "24:00"]]}
    rules.save()
    assert check(world, at=TUESDAY_NOON.replace(hour=23, minute=59)).allowed
    assert check(world, at=TUESDAY_NOON.replace(hour=17, minute=59)).rule == (
        "outside-window"
    )
