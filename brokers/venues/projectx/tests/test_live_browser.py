"""A TradingView alert on MNQ1! reaches TopstepX and the trader's open dashboard
follows it, in Chromium at a phone's width and a desktop's: daphne takes the
alert, a Celery worker places the order with its brackets at the fake ProjectX,
the fill comes back on the user hub to the venue-streams process, and Channels
pushes our Position to the page; the take-profit closing it does the same.

Every process is real and on a shifted clock (see conftest: MNQ trades then)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from django.db import connections
from playwright.sync_api import expect

from brokers.models import Order, Position
from testkit.browser import chromium, session_cookie
from testkit.clock import Clock
from testkit.processes import manage_argv, wait_until
from webhooks.intake.keys import api_key_issue
from webhooks.models import Execution

from .conftest import at_venue

pytestmark = [pytest.mark.browser, pytest.mark.stack]
WIDTHS = (390, 1280)


@pytest.fixture
def clock(ticking) -> Clock:
    return ticking  # shifted as the stack's processes are


def test_an_alert_fills_at_topstepx_and_the_open_dashboard_follows_it_live(
    transactional_db, private, connected, world, tmp_path, monkeypatch
):
    # Playwright's sync API runs an event loop on this thread; the test's own
    # ORM reads between its steps are ordinary blocking ones (on a connection of
    # their own: the loop is another context, closed before it ends).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    fake, account = connected.fake, connected.account
    _, key = api_key_issue(account=account, created_by=None, name="TradingView")
    cookie = session_cookie(world.owner, private.base_url)
    env = at_venue(fake)
    with (
        private.worker("orders", env),
        private.process("streams", manage_argv("venue_streams"), env),
        chromium() as browser,
    ):
        wait_until(lambda: fake.hubs.live() == 1, 60, "the user hub connected")
        pages = []
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 844})
            context.add_cookies([cookie])
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{private.base_url}/")
            expect(page.locator("#live")).to_have_text("live")
            row = page.locator("#accounts tr", has_text="50KTC-V2-1")
            expect(row).to_contain_text("Live stream")
            pages.append(page)

        # A limit below the market with a 20-tick stop and a 40-tick target: it
        # rests at the venue, so its fill arrives on the stream, not in the answer.
        response = httpx.post(
            f"{private.base_url}/api/unify/v1/webhook/topstep/{key}",
            content="buy MNQ1! 1 type=limit price=20990 sl=20t tp=40t",
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 202, response.text
        wait_until(
            lambda: Execution.objects.filter(status=Execution.Status.WORKING).exists(),
            30,
            "the order resting at the venue",
        )
        [entry] = [o for o in fake.orders.values() if o.custom_tag]
        assert (entry.stop_loss_ticks, entry.take_profit_ticks) == (20, 40)

        connected.price(Decimal("20989.75"))  # the market comes down to the limit
        for page in pages:
            position = page.locator(f"tr[data-position='{account.pk}-MNQZ26']")
            expect(position).to_contain_text("1")
            expect(page.locator("#signals")).to_contain_text("Filled")
        for page, width in zip(pages, WIDTHS, strict=True):
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(tmp_path / f"{width}-open.png"), full_page=True)
        assert Position.objects.get(account=account).quantity == 1

        connected.price(Decimal("21000.25"))  # through the 40-tick target: 21000
        for page in pages:
            position = page.locator(f"tr[data-position='{account.pk}-MNQZ26']")
            expect(position).to_have_count(0)
        for page, width in zip(pages, WIDTHS, strict=True):
            page.screenshot(path=str(tmp_path / f"{width}-closed.png"), full_page=True)
        connections.close_all()

    held = fake.positions.get((connected.venue_account.id, connected.contract_id))
    assert held is None or held[0] == 0
    assert Order.objects.get(client_order_id=entry.custom_tag).status == "filled"
    print(tmp_path)
