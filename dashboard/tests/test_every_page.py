"""Every page a trader opens, in Chromium, at a phone's width and a desktop's:
nothing wider than the screen, nothing the Content-Security-Policy refuses."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from brokers.models import BrokerAccount
from testkit.browser import chromium
from testkit.factories import (
    PASSWORD,
    PaperAccountFactory,
    StrategyFactory,
    UserFactory,
    WorkspaceFactory,
)
from testkit.processes import wait_until
from webhooks.models import Signal

pytestmark = [pytest.mark.browser, pytest.mark.stack]

WIDTHS = (390, 1280)


def _pages(account: BrokerAccount, strategy_pk: int, signal_pk: int) -> list[str]:
    return [
        "/",
        "/signals/",
        f"/signals/{signal_pk}/",
        "/strategies/",
        "/strategies/new/",
        f"/strategies/{strategy_pk}/",
        f"/strategies/{strategy_pk}/alert-builder/",
        "/accounts/new/",
        f"/accounts/{account.pk}/keys/",
        f"/accounts/{account.pk}/risk/",
        f"/accounts/{account.pk}/symbols/?symbol=NQ1!",
        f"/accounts/{account.pk}/alert-builder/",
        "/paper/",
        f"/paper/{account.pk}/",
        "/emergency-stop/",
        "/api-tokens/",
        "/sessions/",
        "/pricing/",
        "/billing/",
        "/billing/white-label/",
        "/accounts/connect/projectx/",
        "/benchmarks/",
    ]


def _overflow(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def test_every_page_fits_a_phone_and_a_desktop_and_passes_the_csp(
    transactional_db, stack, tmp_path, settings
):
    # The stack's processes check passwords with production's hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory.create(email="phone@example.com")
    workspace = WorkspaceFactory.create(owner=user, name="Phone desk")
    account = PaperAccountFactory.create(
        workspace=workspace, name="A paper account with a long name to wrap"
    )
    strategy = StrategyFactory.create(
        workspace=workspace, name="Opening range", followers=[account]
    )
    response = httpx.post(
        f"{stack.base_url}/webhook/tradingview/{account.plain_key}",
        content='{"ticker":"ETHUSDT","action":"buy","quantity":"3","price":"3010.5"}',
    )
    assert response.status_code == 202, response.text
    signal_pk = response.json()["signal_id"]
    wait_until(
        lambda: Signal.objects.get(pk=signal_pk).status == Signal.Status.FILLED,
        30,
        "the alert filling",
    )
    pages = _pages(account, strategy.pk, signal_pk)

    refused: list[str] = []
    with chromium() as browser:
        context = browser.new_context(base_url=stack.base_url)
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
        page.goto("/auth/login/")
        page.fill("input[name=login]", "phone@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        expect(page.locator("#live")).to_have_text("live")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 844})
            for path in pages:
                page.goto(path)
                expect(page.locator("h1").first).to_be_visible()
                assert _overflow(page) <= width, (path, width, _overflow(page))
                name = path.strip("/").replace("/", "-") or "dashboard"
                page.screenshot(path=str(tmp_path / f"{width}-{name}.png"))
        context.close()
    assert refused == []
