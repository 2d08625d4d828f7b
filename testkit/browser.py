"""Chromium through Playwright, as the browser tests drive it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_up(page: Page, email: str, password: str) -> None:
    page.goto("/auth/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.click("main form button[type=submit]")


def open_paper_account(page: Page, name: str) -> str:
    """Through the page; returns the webhook key it shows once."""
    page.click("text=New paper account")
    page.fill("input[name=name]", name)
    page.fill("input[name=initial_balance]", "25000")
    page.click("main form button[type=submit]")
    key = page.locator("#api-key").inner_text().strip()
    assert key.startswith("tfk_")
    return key
