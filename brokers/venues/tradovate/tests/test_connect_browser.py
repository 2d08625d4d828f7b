"""Connecting Tradovate in Chromium, at a phone's width and a desktop's: the
connect page, off to Tradovate's sign-in (the fake's page), back with a code, the
account list, the key page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from testkit.browser import chromium, page_at_width, session_cookie

from .conftest import PASSWORD, USER
from .test_connect_page import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 1280)


def test_a_trader_connects_tradovate_through_its_sign_in(
    live_server, fake, world, settings, tmp_path
):
    host = fake.url.removesuffix("/v1")
    fake.oauth.client(CLIENT_ID, CLIENT_SECRET)
    settings.TRADOVATE_OAUTH_CLIENT_ID = CLIENT_ID
    settings.TRADOVATE_OAUTH_CLIENT_SECRET = CLIENT_SECRET
    settings.TRADOVATE_OAUTH_URL = f"{host}/oauth"
    settings.TRADOVATE_OAUTH_TOKEN_URL = f"{host}/auth/oauthtoken"
    settings.SITE_URL = live_server.url
    fake.account(USER, "DEMO-A", balance=Decimal(50_000))
    fake.account(USER, "DEMO-B", balance=Decimal(100_000))
    cookie = session_cookie(world.owner, live_server.url)
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/accounts/connect/tradovate/")
                expect(page.locator("h1")).to_contain_text("Connect Tradovate")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(
                    path=str(tmp_path / f"{width}-connect.png"), full_page=True
                )
                page.click("text=Sign in with Tradovate")
                expect(page.locator("h1")).to_contain_text("Sign in to Tradovate")
                page.fill("input[name=username]", USER)
                page.fill("input[name=password]", PASSWORD)
                page.click("text=Allow")
                expect(page.locator("h1")).to_contain_text("Pick the Tradovate account")
                expect(page.locator("main")).to_contain_text("DEMO-B")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(
                    path=str(tmp_path / f"{width}-choose.png"), full_page=True
                )
                if width == WIDTHS[-1]:
                    page.click("main form button[type=submit]")  # the first: DEMO-A
                    expect(page.locator("h1")).to_contain_text("Webhook key for DEMO-A")
                    page.screenshot(path=str(tmp_path / "key.png"), full_page=True)
    print(tmp_path)
