"""Connecting a TopstepX account in Chromium, at a phone's width and a desktop's:
the login form, the account list, the key page, and the dashboard saying how the
account follows the venue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from testkit.browser import chromium, page_at_width, session_cookie

from .conftest import API_KEY, USER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 1280)


def test_a_trader_connects_a_topstepx_account_on_a_phone_and_a_desktop(
    live_server, fake, world, tmp_path
):
    fake.account(USER, "50KTC-V2-1", balance=Decimal(50_000))
    fake.account(USER, "PA-2", balance=Decimal(150_000), simulated=False)
    cookie = session_cookie(world.owner, live_server.url)
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/accounts/connect/projectx/")
                page.fill("#id_user_name", USER)
                page.fill("#id_api_key", API_KEY)
                page.screenshot(
                    path=str(tmp_path / f"{width}-connect.png"), full_page=True
                )
                page.click("main form button[type=submit]")
                expect(page.locator("h1")).to_contain_text("Pick the TopstepX account")
                expect(page.locator("main")).to_contain_text("PA-2")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(
                    path=str(tmp_path / f"{width}-choose.png"), full_page=True
                )
                if width == WIDTHS[-1]:
                    page.click("main form button[type=submit]")  # the first: 50KTC-V2-1
                    expect(page.locator("h1")).to_contain_text(
                        "Webhook key for 50KTC-V2-1"
                    )
                    page.goto(f"{live_server.url}/")
                    row = page.locator("#accounts tr", has_text="50KTC-V2-1")
                    expect(row).to_contain_text("Polling")  # no stream in this test
                    page.screenshot(
                        path=str(tmp_path / "dashboard.png"), full_page=True
                    )
    print(tmp_path)
