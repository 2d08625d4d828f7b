"""Billing in Chromium at a phone's width and a desktop's: the trial banner, the
pricing page, the upgrade path from a refused alert's signal page, Checkout on
the fake Stripe and back to an active plan, the billing page and the portal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import testkit
from billing.checkout import plans_sync_stripe
from billing.fake_stripe import FakeStripe
from billing.models import BillingAccount, Plan
from testkit.browser import chromium, page_at_width, session_cookie
from testkit.factories import PaperAccountFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "whsec_test"
WIDTHS = (390, 1280)


@pytest.fixture
def stripe_site(live_server, settings, billing_on):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    with (
        FakeStripe.running(webhook_secret=SECRET) as fake,
        fake.installed(),
    ):
        fake.webhook_url = f"{live_server.url}/api/billing/webhook"
        settings.STRIPE_HOSTED_ORIGINS = fake.base_url
        plans_sync_stripe()
        yield fake


def fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_refused_alert_leads_to_the_pricing_page(
    live_server, stripe_site, settings, tmp_path
):
    shots = Path(os.environ.get("TF_SHOTS", tmp_path))
    settings.TRIAL_TRADES = 0
    user = UserFactory.create(email="late@example.com")
    workspace = WorkspaceFactory.create(owner=user, name="Late desk")
    account = PaperAccountFactory.create(workspace=workspace, name="Paper")
    refused = testkit.post_alert(
        account.plain_key, {"action": "buy", "symbol": "BTCUSDT", "qty": 1}
    )
    assert refused.status_code == 402
    signal_id = workspace.signals.get().pk
    cookie = session_cookie(user, live_server.url)
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/")
                expect(page.locator("#billing-banner")).to_contain_text(
                    "The trial has ended"
                )
                fits(page, width)
                page.goto(f"{live_server.url}/signals/{signal_id}/")
                expect(page.locator("main")).to_contain_text("trial-expired")
                fits(page, width)
                page.screenshot(path=str(shots / f"billing-{width}-refused.png"))
                page.locator("a.upgrade").first.click()
                expect(page.locator("h1")).to_have_text("Pricing")
                expect(page.locator(".plan")).to_have_count(3)
                fits(page, width)
                page.screenshot(
                    path=str(shots / f"billing-{width}-pricing.png"), full_page=True
                )


def test_a_trader_subscribes_through_checkout_and_manages_it(
    live_server, stripe_site, world, tmp_path
):
    shots = Path(os.environ.get("TF_SHOTS", tmp_path))
    cookie = session_cookie(world.owner, live_server.url)
    with chromium() as browser:
        with page_at_width(browser, 390, cookie) as page:
            page.goto(f"{live_server.url}/")
            expect(page.locator("#billing-banner")).to_contain_text(
                "3 days or 100 trades left"
            )
            fits(page, 390)
            page.screenshot(path=str(shots / "billing-390-trial.png"))
            page.goto(f"{live_server.url}/billing/")
            expect(page.locator("#trial-left")).to_contain_text("100 trades left")
            fits(page, 390)
            page.screenshot(path=str(shots / "billing-390-billing.png"), full_page=True)
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/pricing/")
                fits(page, width)
                if width == 390:
                    continue
                page.click("button[value=pro-year]")
                expect(page.locator("h1")).to_have_text("Checkout")  # the fake's
                page.screenshot(path=str(shots / f"billing-{width}-checkout.png"))
                page.click("form[action$='/pay'] button")
                expect(page.locator("h1")).to_have_text("Billing")
                expect(page.locator("#plan")).to_contain_text("Pro")
                expect(page.locator("main")).to_contain_text("Welcome to Pro")
                expect(page.locator("#billing-banner")).to_have_count(0)
                page.screenshot(
                    path=str(shots / f"billing-{width}-active.png"), full_page=True
                )
                page.click("text=Card, invoices, cancel")
                page.click("text=Cancel at period end")
                expect(page.locator("h1")).to_have_text("Billing")
                expect(page.locator("#plan")).to_contain_text("Cancelled")
    billing = BillingAccount.objects.get(workspace=world.workspace)
    assert (billing.status, billing.plan.code, billing.cancel_at_period_end) == (
        "active",
        "pro",
        True,
    )


def test_an_elite_workspace_brands_its_pages(live_server, stripe_site, world, tmp_path):
    shots = Path(os.environ.get("TF_SHOTS", tmp_path))
    BillingAccount.objects.filter(workspace=world.workspace).update(
        plan=Plan.objects.get(code="elite"), status="active"
    )
    cookie = session_cookie(world.owner, live_server.url)
    with chromium() as browser:
        for width in WIDTHS:
            with page_at_width(browser, width, cookie) as page:
                page.goto(f"{live_server.url}/billing/white-label/")
                page.fill("#brand_name", f"Apex {width}")
                page.fill("#primary_color", "#e3b341")
                page.fill("#custom_domain", f"alerts{width}.apex.example")
                page.click("main form button[type=submit]")
                expect(page.locator(".brand")).to_have_text(f"Apex {width}")
                expect(page.locator("#domain-status")).to_contain_text(
                    "Not verified yet"
                )
                # The brand's stylesheet may still be loading: wait for it.
                page.wait_for_load_state("load")
                accent = page.evaluate(
                    "getComputedStyle(document.documentElement)"
                    ".getPropertyValue('--accent').trim()"
                )
                assert accent == "#e3b341"
                fits(page, width)
                page.screenshot(
                    path=str(shots / f"billing-{width}-white-label.png"), full_page=True
                )
