"""A trader in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from risk.models import RiskPreset
from risk.presets import presets_load
from testkit.browser import ARGS, CHROMIUM, open_paper_account, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.stack]


@pytest.fixture
def page(stack, tmp_path):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(base_url=stack.base_url)
        page.set_default_timeout(15_000)
        yield page
        page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
        browser.close()


def test_sign_up_open_an_account_and_watch_an_alert_fill_live(
    transactional_db, stack, page
):
    sign_up(page, "trader@example.com", "Correct-Horse-42")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("h1")).to_contain_text("trader@example.com")
    expect(page.locator("#accounts")).to_contain_text("No accounts yet")

    key = open_paper_account(page, "Combine practice")
    page.click("text=Go to the dashboard")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#accounts")).to_contain_text("25000.00 USD")

    response = httpx.post(
        f"{stack.base_url}/api/unify/v1/webhook/paper/{key}",
        content='{"ticker":"ETHUSDT","action":"buy","quantity":"3","price":"3010.5"}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 202
    row = page.locator("tr[data-position$='-ETHUSDT']")
    expect(row).to_contain_text("3")
    expect(page.locator("#signals")).to_contain_text("Filled")


def test_a_reconnect_re_renders_what_was_missed(transactional_db, stack, page):
    sign_up(page, "night@example.com", "Correct-Horse-42")
    key = open_paper_account(page, "Night session")
    page.goto("/")
    expect(page.locator("#live")).to_have_text("live")
    page.context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    expect(page.locator("#live")).not_to_have_text("live", timeout=20_000)
    httpx.post(
        f"{stack.base_url}/api/unify/v1/webhook/paper",
        json={"ticker": "SOLUSDT", "action": "sell", "quantity": 1, "price": 2100},
        headers={"Authorization": f"Bearer {key}"},
    )
    time.sleep(1)
    page.context.set_offline(False)
    expect(page.locator("tr[data-position$='-SOLUSDT']")).to_contain_text("short")


def test_log_out_and_back_in(transactional_db, stack, page):
    sign_up(page, "again@example.com", "Correct-Horse-42")
    page.click("text=Log out")
    expect(page).to_have_url(re.compile(r"/auth/login/"))
    page.fill("input[name=login]", "again@example.com")
    page.fill("input[name=password]", "Correct-Horse-42")
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("again@example.com")


def test_a_strategy_from_creation_to_an_alert_filled_on_its_follower(
    transactional_db, stack, page
):
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=stack.base_url
    )
    sign_up(page, "quant@example.com", "Correct-Horse-42")
    open_paper_account(page, "Follower")
    page.click("nav >> text=Strategies")
    page.click("main >> text=New strategy")
    page.fill("input[name=name]", "Breakout")
    page.click("main form button[type=submit]")
    url = page.locator("#tradingview-url").inner_text().strip()
    assert re.search(r"/webhook/tradingview/tfk_[\w-]+$", url)

    page.click("text=choose the accounts")
    page.select_option("#add-account", label="Follower (Paper)")
    page.fill("#add-multiplier", "2")
    page.click("#add button[type=submit]")
    expect(page.locator("#subscriptions tr[data-subscription]")).to_contain_text(
        "Follower"
    )

    page.click("main >> text=Alert builder")
    page.select_option("#id_symbol_mode", "fixed")
    page.fill("#id_symbol", "btcusdt")
    expect(page.locator("#alert-message")).to_contain_text('"BTCUSDT"')
    page.click("[data-copy='#alert-message']")
    message = page.evaluate("navigator.clipboard.readText()")
    assert '"{{close}}"' in message  # TradingView fills these in; so do we
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = message.replace("{{close}}", "100").replace("{{timenow}}", now)
    status = page.evaluate(
        "async ([url, body]) => (await fetch(new URL(url).pathname,"
        " {method: 'POST', body})).status",
        [url, body],
    )
    assert status == 202

    page.click("nav >> text=Signals")
    row = page.locator("#signal-log tr[data-signal]").first
    expect(row).to_contain_text("strategy Breakout")
    expect(row.locator(".outcome")).to_contain_text("Follower Filled")
    row.locator("a").first.click()
    execution = page.locator("#executions tr[data-execution]")
    expect(execution).to_contain_text("Filled")
    expect(execution).to_contain_text("buy 2 BTCUSDT")


def test_stop_all_trading_asks_first_closes_everything_and_an_account_resumes(
    transactional_db, stack, page, tmp_path
):
    sign_up(page, "panic@example.com", "Correct-Horse-42")
    key = open_paper_account(page, "Panic desk")
    page.goto("/")
    response = httpx.post(
        f"{stack.base_url}/webhook/tradingview/{key}",
        content='{"ticker":"ETHUSDT","action":"buy","quantity":"2","price":"3010.5"}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 202
    expect(page.locator("tr[data-position$='-ETHUSDT']")).to_contain_text("2")
    page.click("text=Stop all trading")
    expect(page.locator("h1")).to_have_text("Stop all trading?")
    page.screenshot(path=str(tmp_path / "kill_confirm.png"), full_page=True)
    page.click("text=Close everything and stop")
    expect(page.locator("main")).to_contain_text("1 position closed")
    expect(page.locator("#accounts")).to_contain_text("Close only")
    expect(page.locator("tr[data-position$='-ETHUSDT']")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "kill_done.png"), full_page=True)
    page.click("#accounts >> text=Resume")
    expect(page.locator("#accounts")).to_contain_text("Active")


@pytest.fixture
def presets(transactional_db) -> None:
    """The rows the migration loads: the flush after each browser test drops them.
    (Loaded before `page`: Django refuses queries inside Playwright's loop.)"""
    presets_load(RiskPreset)


def test_pick_a_firms_preset_and_measure_the_room_left_on_the_risk_page(
    transactional_db, presets, stack, page, tmp_path
):
    sign_up(page, "combine@example.com", "Correct-Horse-42")
    page.click("text=New paper account")
    page.fill("input[name=name]", "Combine 50K")
    page.fill("input[name=initial_balance]", "50000")
    page.click("main form button[type=submit]")
    page.click("text=Go to the dashboard")
    page.click("#accounts a:text-is('Risk')")
    expect(page.locator("h1")).to_have_text("Risk · Combine 50K")
    expect(page.locator("#risk-gauges")).to_contain_text("No rules yet")

    page.get_by_label("Topstep Trading Combine 50K", exact=True).check()
    page.click("#risk-save")
    expect(page.locator(".messages")).to_contain_text(
        "Copied the rules of Topstep Trading Combine 50K"
    )
    expect(page.locator("#id_daily_loss_limit")).to_have_value("1000")
    expect(page.locator("#presets")).to_contain_text("unchanged")

    expect(page.locator("#live")).to_have_text("live")
    page.click("#measure-now")
    gauges = page.locator("#risk-gauges")
    expect(gauges.locator("[data-gauge=daily-loss] .gauge-value")).to_have_text(
        "1,000.00"
    )
    expect(gauges.locator("[data-gauge=floor] .gauge-value")).to_have_text("2,000.00")
    expect(gauges).to_contain_text("Open: new positions allowed.")
    page.screenshot(path=str(tmp_path / "risk.png"), full_page=True)
