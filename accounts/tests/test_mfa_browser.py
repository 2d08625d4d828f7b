"""Two-factor sign-in in Chromium, at a phone's width and a desktop's: the
security page, setting up an authenticator app from its QR page, a security key
added and used through Chromium's virtual authenticator (allauth's WebAuthn
scripts under our Content-Security-Policy), and logins that ask for each.
Screenshots land in /tmp/mfa-*.png, to look at."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from playwright.sync_api import Page, expect

from testkit.browser import chromium
from testkit.factories import PASSWORD, UserFactory
from testkit.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 1280)
SHOTS = Path(tempfile.gettempdir())
EMAIL = "keys@example.com"


def fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def at_each_width(page: Page, name: str) -> None:
    """The page as it is now, reloaded at each width: it fits, and is shot."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        page.reload()
        expect(page.locator("h1").first).to_be_visible()
        fits(page, width)
        page.screenshot(path=str(SHOTS / f"mfa-{name}-{width}.png"), full_page=True)


def log_in(page: Page) -> None:
    page.goto("/auth/login/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")


def add_virtual_key(page: Page) -> None:
    """A USB security key that Chromium itself answers for (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def test_a_trader_sets_up_an_app_and_a_key_and_signs_in_with_each(
    live_server, settings, monkeypatch
):
    # The code is read off the page and typed on a running clock: one step of
    # slack keeps a 30 s boundary between the two from failing the test.
    settings.MFA_TOTP_TOLERANCE = 1
    # Playwright's sync API runs an event loop on this thread; the test's ORM
    # reads between its steps are ordinary blocking ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    user = UserFactory.create(email=EMAIL)
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)

    refused: list[str] = []
    with chromium() as browser:
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "console",
            lambda message: (
                refused.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        log_in(page)
        page.click("nav >> text=Security")
        expect(page.locator("h1")).to_have_text("Security")
        expect(page.locator("#factor-totp .pill")).to_have_text("off")
        at_each_width(page, "security-empty")

        page.click("#factor-totp >> text=Set up")
        page.fill("input[name=password]", PASSWORD)  # allauth asks again first
        page.click("main form button[type=submit]")
        expect(page.locator("h1")).to_have_text("Set up an authenticator app")
        at_each_width(page, "totp-setup")
        assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 0
        secret = page.locator("#authenticator-secret").inner_text().strip()
        page.fill("input[name=code]", f"{(int(totp_code(secret)) + 1) % 10**6:06d}")
        page.click("#totp-activate button[type=submit]")
        expect(page.locator("#totp-activate .error")).to_have_text("Incorrect code.")
        page.fill("input[name=code]", totp_code(secret))
        page.click("#totp-activate button[type=submit]")
        expect(page.locator("h1")).to_have_text("Recovery codes")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        at_each_width(page, "recovery-codes")

        add_virtual_key(page)
        page.goto("/auth/2fa/webauthn/add/")
        expect(page.locator("h1")).to_have_text("Add a security key")
        page.fill("input[name=name]", "Desk key")
        page.click("#webauthn-start")
        expect(page).to_have_url(re.compile(r"/auth/2fa/$"))
        expect(page.locator("#factor-webauthn")).to_contain_text("Desk key")
        expect(page.locator("#factor-totp .pill")).to_have_text("on")
        at_each_width(page, "security")
        assert Authenticator.objects.filter(user=user).count() == 3

        page.click("text=Log out")
        log_in(page)
        expect(page.locator("h1")).to_have_text("Two-factor authentication")
        at_each_width(page, "authenticate")
        page.click("#webauthn-start")  # the key answers: signed in
        expect(page.locator("h1")).to_contain_text(EMAIL)

        page.click("text=Log out")
        log_in(page)
        page.fill("input[name=code]", totp_code(secret))
        page.click("#mfa-code button[type=submit]")
        expect(page.locator("h1")).to_contain_text(EMAIL)
        context.close()
    assert refused == []
