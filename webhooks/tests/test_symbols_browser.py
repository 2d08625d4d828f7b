"""An account's Symbols page in Chromium, at a phone's width and a desktop's: the
maps saved through the form, a refused map, the lookup answered in place over
HTMX and, without JavaScript, as a whole page."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, expect

from brokers.venues.tradovate.tests import conftest as tradovate
from testkit.browser import chromium, page_at_width, session_cookie

# The Tradovate fake and an account connected to it, on the frozen clock.
connected = tradovate.connected
fake = tradovate.fake

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 1280)
SHOTS = Path(tempfile.gettempdir())  # symbols-*.png, to look at


def fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def look_up(page: Page, symbol: str) -> None:
    page.fill("#lookup-symbol", symbol)
    page.click("#symbol-lookup-form button[type=submit]")


def test_a_trader_maps_symbols_and_looks_one_up_on_a_phone_and_a_desktop(
    live_server, connected, world, monkeypatch
):
    # Playwright's sync API runs an event loop on this thread; the test's ORM
    # reads between its steps are ordinary blocking ones, closed before it ends.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    account = connected.account
    account.name = "Tradovate 50K"
    account.save()
    cookie = session_cookie(world.owner, live_server.url)
    url = f"{live_server.url}/accounts/{account.pk}/symbols/"
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(url)
                expect(page.locator("h1")).to_have_text("Symbols · Tradovate 50K")
                if width == WIDTHS[0]:
                    page.fill("#id_symbol_overrides", "nq=mnq, es=mes")
                    page.click("#symbol-maps-form button[type=submit]")
                    expect(page.locator(".messages")).to_contain_text("Saved")
                    expect(page.locator("#map-overrides")).to_contain_text("NQ → MNQ")
                    account.refresh_from_db()
                    assert account.symbol_overrides == {"ES": "MES", "NQ": "MNQ"}

                page.evaluate("window.stayed = true")  # gone if the page reloads
                look_up(page, "NQ1!")
                result = page.locator("#symbol-lookup")
                expect(result).to_contain_text("trades MNQZ6 at Tradovate")
                expect(result).to_contain_text("NQ → MNQ: MNQ1!")
                assert page.evaluate("window.stayed") is True
                expect(page).to_have_url(re.compile(r"\?symbol=NQ1(!|%21)$"))
                fits(page, width)
                page.screenshot(
                    path=SHOTS / f"symbols-{width}-lookup.png", full_page=True
                )

                look_up(page, "XAUUSD")
                expect(result).to_contain_text("not-a-future")
                expect(result).to_contain_text("Tradovate trades futures")
                fits(page, width)
                page.screenshot(
                    path=SHOTS / f"symbols-{width}-refused.png", full_page=True
                )

                page.fill("#id_venue_symbols", "XAUUSD=GOLD SPOT")
                page.click("#symbol-maps-form button[type=submit]")
                expect(page.locator("#symbol-maps")).to_contain_text(
                    "Nothing was saved"
                )
                expect(page.locator("#symbol-maps")).to_contain_text(
                    "not a name a broker gives an instrument"
                )
                fits(page, width)
                page.screenshot(
                    path=SHOTS / f"symbols-{width}-invalid.png", full_page=True
                )

        # Without JavaScript the same form answers with the whole page.
        context = browser.new_context(
            viewport={"width": WIDTHS[0], "height": 844}, java_script_enabled=False
        )
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(url)
        look_up(page, "ES1!")
        expect(page).to_have_url(re.compile(r"\?symbol=ES1(!|%21)$"))
        expect(page.locator("#symbol-lookup")).to_contain_text(
            "trades MESZ6 at Tradovate"
        )
        expect(page.locator("#symbol-lookup")).to_contain_text("ES → MES")
        page.screenshot(path=SHOTS / "symbols-390-nojs.png", full_page=True)
        context.close()
        account.refresh_from_db()
        assert account.venue_symbols == {}
        connections.close_all()
