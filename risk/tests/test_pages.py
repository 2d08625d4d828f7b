"""The risk page: rules from a firm's preset or typed by hand, live gauges of the
room left, the violations caught; viewers read, outsiders get 404."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.test import Client

from brokers.models import BrokerAccount
from risk.forms import RiskConfigForm, TradingWindowsField
from risk.models import RiskConfig, RiskPreset, Violation
from risk.monitor import risk_monitor
from risk.presets import presets_load
from risk.services import risk_config_apply_preset
from testkit import client_for

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture(autouse=True)
def _presets(db) -> None:
    # The migration loads them; a browser test's flush may have emptied the table.
    presets_load(RiskPreset)


def page_url(world, rest: str = "") -> str:
    return f"/accounts/{world.account.pk}/risk/{rest}"


def as_posted(config: RiskConfig, preset: str = "", **changes: str) -> dict:
    """What a browser sends for `config` as the page shows it, with `changes`."""
    data = {"preset": preset}
    for field in RiskConfigForm(instance=config):
        value = field.value()
        if field.widget_type == "checkbox":
            if value:
                data[field.name] = "on"
        else:
            data[field.name] = "" if value is None else str(value)
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def fresh(world) -> RiskConfig:
    return RiskConfig(account=world.account, starting_balance=Decimal(50000))


def topstep_50k(world) -> RiskConfig:
    preset = RiskPreset.objects.get(key="topstep-combine-50k")
    return risk_config_apply_preset(account=world.account, preset=preset)


def test_the_owner_saves_rules_written_the_way_a_trader_types_them(world):
    owner = client_for(world.owner)
    assert page_url(world) in owner.get("/").content.decode()  # from the dashboard
    page = owner.get(page_url(world)).content.decode()
    assert "Start from a firm's rules" in page and "Topstep Trading Combine 50K" in page
    assert "stops at your starting balance" not in page  # nothing invented
    assert "The floor stops trailing once it reaches your starting" in page
    data = as_posted(
        fresh(world),
        daily_loss_limit="800",
        max_loss_limit="2000",
        allowed_symbols="mnq, MES  mnq",
        trading_windows="mon-wed 8:30-15:00, 18:00-24:00\nfri 08:30-12:00",
        timezone="America/New_York",
        flatten_at="15:55",
        cooldown_losses="3",
        cooldown_minutes="30",
    )
    response = owner.post(page_url(world), data)
    assert response.status_code == 302
    config = RiskConfig.objects.get(account=world.account)
    assert (config.daily_loss_limit, config.max_loss_limit) == (800, 2000)
    assert config.allowed_symbols == ["MNQ", "MES"]
    day = [["08:30", "15:00"], ["18:00", "24:00"]]
    assert config.trading_windows == {
        "mon": day,
        "tue": day,
        "wed": day,
        "fri": [["08:30", "12:00"]],
    }
    assert (config.timezone, config.flatten_at) == ("America/New_York", time(15, 55))
    assert config.preset is None
    page = owner.get(page_url(world)).content.decode()
    assert "Saved:" in page and 'value="MNQ, MES"' in page
    assert "mon 08:30-15:00, 18:00-24:00\ntue" in page


def test_choosing_a_preset_copies_its_values_and_adjustments_keep_the_preset(world):
    owner = client_for(world.owner)
    response = owner.post(
        page_url(world), as_posted(fresh(world), preset="topstep-combine-50k")
    )
    assert response.status_code == 302
    config = RiskConfig.objects.get(account=world.account)
    assert config.preset.key == "topstep-combine-50k"
    assert (config.starting_balance, config.profit_target) == (50000, 3000)
    assert (config.daily_loss_limit, config.max_loss_limit) == (1000, 2000)
    assert (config.max_contracts, config.micros_per_contract) == (5, 10)
    page = owner.get(page_url(world)).content.decode()
    assert "Copied the rules of Topstep Trading Combine 50K (as of 2026-02-01)" in page
    assert "Topstep Trading Combine 50K</strong>, unchanged" in page

    edited = as_posted(config, preset="topstep-combine-50k", max_contracts="3")
    assert owner.post(page_url(world), edited).status_code == 302
    config.refresh_from_db()
    assert (config.max_contracts, config.preset.key) == (3, "topstep-combine-50k")
    assert "adjusted: Max contracts" in owner.get(page_url(world)).content.decode()

    owner.post(page_url(world), as_posted(config, preset=""))  # Custom
    config.refresh_from_db()
    assert (config.preset, config.max_contracts) == (None, 3)


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("daily_loss_limit", "-500", "Enter a number above zero"),
        ("max_trades_per_day", "0", "Enter a number above zero"),
        ("trading_windows", "mon 15:00-08:30", "ends before it starts"),
        ("trading_windows", "monday 08:30-15:00", "Start each line with a weekday"),
        ("trading_windows", "mon 8-15", "is not a time"),
        ("timezone", "Mars/Olympus", "is not a time zone"),
        ("allowed_symbols", "MNQ, XYZ", "TradeFlow does not know &#x27;XYZ&#x27;"),
        ("consistency_percent", "150", "at most 100%"),
        ("cooldown_losses", "3", "A cooldown needs both"),
        ("starting_balance", "", "enter the balance the account started with"),
    ],
)
def test_bad_input_is_explained_and_saves_nothing(world, field, typed, message):
    topstep_50k(world)
    before = RiskConfig.objects.values().get(account=world.account)
    config = RiskConfig.objects.get(account=world.account)
    data = as_posted(config, preset="topstep-combine-50k", **{field: typed})
    response = client_for(world.owner).post(page_url(world), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page and message in page
    assert f'data-rule="{field}"' in page
    assert RiskConfig.objects.values().get(account=world.account) == before


def test_weekday_windows_read_back_in_weekday_order():
    field = TradingWindowsField(required=False)
    windows = field.clean("fri 09:00-10:00\n\nmon-tue 13:00-14:00, 08:30-12:00")
    assert list(windows) == ["mon", "tue", "fri"]
    assert windows["mon"] == [["08:30", "12:00"], ["13:00", "14:00"]]
    assert field.prepare_value(windows).splitlines()[0] == (
        "mon 08:30-12:00, 13:00-14:00"
    )
    assert field.clean("") == {}


def test_a_preset_that_would_end_the_account_at_once_is_refused(world):
    owner = client_for(world.owner)  # the account holds 50,000
    data = as_posted(fresh(world), preset="topstep-combine-150k")
    page = owner.post(page_url(world), data, follow=True).content.decode()
    assert "Topstep Trading Combine 150K was not applied" in page
    assert "floor at 145,500.00" in page
    typed = as_posted(fresh(world), starting_balance="60000", max_loss_limit="2000")
    response = owner.post(page_url(world), typed)
    assert response.status_code == 400
    assert "the floor at 58,000.00" in response.content.decode()
    assert not RiskConfig.objects.filter(account=world.account).exists()


def test_a_viewer_reads_the_rules_but_cannot_change_or_measure_them(world):
    config = topstep_50k(world)
    viewer = client_for(world.viewer)
    page = viewer.get(page_url(world)).content.decode()
    assert "Your role can see these rules, not change them." in page
    assert 'id="risk-save"' not in page and "Measure now" not in page
    shown = re.search(r'<input [^>]*name="daily_loss_limit"[^>]*>', page)[0]
    assert 'value="1000"' in shown and " disabled " in shown
    data = as_posted(config, preset="topstep-combine-50k", daily_loss_limit="5000")
    assert viewer.post(page_url(world), data).status_code == 403
    assert viewer.post(page_url(world, "measure/")).status_code == 403
    assert viewer.get(page_url(world, "fragment/gauges/")).status_code == 200
    config.refresh_from_db()
    assert config.daily_loss_limit == 1000


def test_an_outsider_gets_404_on_every_risk_route(world):
    topstep_50k(world)
    outsider = client_for(world.outsider)
    assert outsider.get(page_url(world)).status_code == 404
    assert outsider.post(page_url(world), {"preset": ""}).status_code == 404
    assert outsider.post(page_url(world, "measure/")).status_code == 404
    for name in ("gauges", "violations"):
        assert outsider.get(page_url(world, f"fragment/{name}/")).status_code == 404
    owner = client_for(world.owner)
    assert owner.get(page_url(world, "fragment/settings/")).status_code == 404
    assert Client().get(page_url(world)).status_code == 302  # to the login page


def test_the_gauges_show_the_room_left_after_a_measurement(world):
    owner = client_for(world.owner)
    topstep_50k(world)
    before = owner.get(page_url(world, "fragment/gauges/")).content.decode()
    assert "not measured" in before
    risk_monitor(account=world.account)
    gauges = owner.get(page_url(world, "fragment/gauges/")).content.decode()
    assert gauges.strip().startswith('<section id="risk-gauges"')
    assert f'data-live-account="{world.account.pk}"' in gauges
    assert '<div class="gauge-value">1,000.00</div>' in gauges  # daily loss left
    assert '<div class="gauge-value">2,000.00</div>' in gauges  # above the floor
    assert "floor 48,000.00" in gauges and "0 of 5" in gauges
    assert "Open: new positions allowed." in gauges


def test_measure_now_measures_and_htmx_gets_gauges_and_violations(world):
    owner = client_for(world.owner)
    topstep_50k(world)
    url = page_url(world, "measure/")
    response = owner.post(url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert '<div class="gauge-value">2,000.00</div>' in body
    assert 'id="risk-violations"' in body and 'hx-swap-oob="true"' in body
    assert world.account.risk_state.floor == 48000
    page = owner.post(url, follow=True).content.decode()
    assert "Measured." in page


def test_violations_are_listed_newest_first_and_close_only_offers_resume(world):
    topstep_50k(world)
    for day, rule, action in [
        (date(2026, 11, 23), "daily-loss", "flatten_lock"),
        (date(2026, 11, 24), "max-loss", "flatten-close-only"),
    ]:
        Violation.objects.create(
            account=world.account,
            rule=rule,
            detail=f"{rule} detail",
            action=action,
            trading_day=day,
            created_at=datetime.combine(day, time(15), tzinfo=UTC),
        )
    BrokerAccount.objects.filter(pk=world.account.pk).update(
        status=BrokerAccount.Status.CLOSE_ONLY
    )
    owner = client_for(world.owner)
    page = owner.get(page_url(world)).content.decode()
    newest = page.index("Maximum loss (floor)")
    assert newest < page.index("Daily loss limit</td>")
    assert "Flattened, made close-only" in page
    assert "Flattened, locked for the session" in page
    assert "The account is close-only: only exits are accepted." in page
    assert "Resume trading" in page
    response = owner.post(
        f"/accounts/{world.account.pk}/resume/", {"next": page_url(world)}
    )
    assert response.url == page_url(world)
    world.account.refresh_from_db()
    assert world.account.status == BrokerAccount.Status.ACTIVE
    elsewhere = owner.post(
        f"/accounts/{world.account.pk}/resume/", {"next": "https://evil.example/"}
    )
    assert elsewhere.url == "/"
