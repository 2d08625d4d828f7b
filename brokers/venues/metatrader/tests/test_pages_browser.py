"""MetaTrader in Chromium, at a phone's width and a desktop's: the connect page,
the EA page with its secrets once and the install steps, Connected once the EA
says hello and beats, and the dashboard's line for the account."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from brokers.venues.metatrader.tests.conftest import HELLO
from testkit.browser import chromium, page_at_width, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 1280)


def ea_says_hello(base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    hello = httpx.post(f"{base}/api/ea/hello", json=HELLO, headers=headers)
    assert hello.status_code == 200, hello.text
    beat = {"session": hello.json()["session"], "balance": "10000", "equity": "10000"}
    answer = httpx.post(f"{base}/api/ea/heartbeat", json=beat, headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_trader_connects_metatrader_and_sees_the_ea_connected(
    live_server, world, tmp_path
):
    shots = Path(os.environ.get("TF_SHOTS", tmp_path))
    cookie = session_cookie(world.owner, live_server.url)
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/accounts/connect/metatrader/")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(shots / f"mt-{width}-connect.png"))
                page.click("main form button[type=submit]")
                expect(page.locator("h1")).to_contain_text("Expert Advisor")
                token = page.locator("#ea-token").inner_text().strip()
                assert token.startswith("tfea_")
                expect(page.locator("#ea-install")).to_contain_text("MQL5/Experts")
                expect(page.locator("#ea-status")).to_contain_text("Not connected")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(shots / f"mt-{width}-ea.png"), full_page=True)
                ea_says_hello(live_server.url, token)
                page.reload()
                expect(page.locator("#ea-status")).to_contain_text("Connected")
                expect(page.locator("#ea-status")).to_contain_text("51234567")
                assert page.locator("#ea-token").count() == 0  # shown once
                page.screenshot(
                    path=str(shots / f"mt-{width}-connected.png"), full_page=True
                )
                page.goto(f"{live_server.url}/")
                row = page.locator("tr[data-account]", has_text="MetaTrader 5").last
                expect(row).to_contain_text("EA connected")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(
                    path=str(shots / f"mt-{width}-dashboard.png"), full_page=True
                )
