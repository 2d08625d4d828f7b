"""Connecting TradeLocker in Chromium, at a phone's width and a desktop's: the
login form, the account list, the key page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from testkit.browser import chromium, page_at_width, session_cookie

from .conftest import EMAIL, PASSWORD, SERVER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 1280)


def test_a_trader_connects_a_tradelocker_account_on_a_phone_and_a_desktop(
    live_server, fake, world, tmp_path
):
    fake.account(EMAIL, "OSP#2001", balance=Decimal(25_000))
    fake.account(EMAIL, "OSP#2002", balance=Decimal(100_000))
    cookie = session_cookie(world.owner, live_server.url)
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/accounts/connect/tradelocker/")
                page.fill("#id_email", EMAIL)
                page.fill("#id_password", PASSWORD)
                page.fill("#id_server", SERVER)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(
                    path=str(tmp_path / f"{width}-connect.png"), full_page=True
                )
                page.click("main form button[type=submit]")
                expect(page.locator("h1")).to_contain_text(
                    "Pick the TradeLocker account"
                )
                expect(page.locator("main")).to_contain_text("OSP#2002")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(
                    path=str(tmp_path / f"{width}-choose.png"), full_page=True
                )
                if width == WIDTHS[-1]:
                    page.click("main form button[type=submit]")  # the first: OSP#2001
                    expect(page.locator("h1")).to_contain_text(
                        "Webhook key for OSP#2001"
                    )
    print(tmp_path)
