"""Chromium through Playwright, as the browser tests drive it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import Client
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


def session_cookie(user: Any, url: str) -> dict[str, str]:
    """A signed-in session of `user`, as the cookie Chromium takes for `url`."""
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}


@contextmanager
def page_at_width(
    browser: Browser, width: int, cookie: dict[str, str] | None = None
) -> Iterator[Page]:
    """A fresh page `width` pixels wide (390: a phone, 1280: a desktop), signed in
    when given a session cookie."""
    context = browser.new_context(viewport={"width": width, "height": 844})
    if cookie is not None:
        context.add_cookies([cookie])  # type: ignore[list-item]
    try:
        yield context.new_page()
    finally:
        context.close()


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
