"""The paper account pages: list, detail and its live fragments, confirmed actions."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from brokers.adapters.base import OrderRequest
from paperbroker.models import PaperAccount, PaperOrder, PaperPosition
from paperbroker.services import paper_order_place, quote_record
from testkit import client_for


def place(paper: PaperAccount, **fields) -> PaperOrder:
    values = {
        "symbol": "BTCUSDT",
        "side": "buy",
        "order_type": "market",
        "quantity": Decimal("0.1"),
        "reference_price": Decimal(60000),
        **fields,
    }
    request = OrderRequest(client_order_id=uuid.uuid4().hex, **values)
    return paper_order_place(account=paper, request=request)


@pytest.fixture
def paper(world) -> PaperAccount:
    return world.account.paper


@pytest.fixture
def traded(paper) -> PaperAccount:
    """Long 0.1 BTCUSDT bought at 60,000.01, and a limit buy resting at 50,000."""
    place(paper)
    place(paper, order_type="limit", limit_price=Decimal(50000), time_in_force="GTC")
    quote_record(symbol="BTCUSDT", last=Decimal(61000), source="manual")
    return paper


def test_the_list_shows_each_account_with_equity_day_pnl_and_open_positions(
    world, traded
):
    response = client_for(world.owner).get("/paper/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Paper 50K" in html
    assert "50094.00" in html  # 49,994 cash + (61,000 - 60,000.01) x 0.1
    assert f'href="/paper/{world.account.pk}/"' in html
    row = html.split(f'data-account="{world.account.pk}"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row
    assert 'id="accounts"' in html and 'hx-trigger="tf:refresh"' in html
    fragment = client_for(world.owner).get("/paper/fragment/accounts/")
    assert fragment.content.decode().lstrip().startswith('<section id="accounts"')


def test_the_detail_page_shows_balances_positions_orders_fills_and_metrics(
    world, traded
):
    response = client_for(world.owner).get(f"/paper/{world.account.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for section in ("summary", "positions", "orders", "fills", "metrics"):
        url = f"/paper/{world.account.pk}/fragment/{section}/"
        assert f'id="paper-{section}" class="card" hx-get="{url}"' in html
    assert html.count('hx-trigger="tf:refresh"') == 5
    assert "50094.00" in html and "49994.00" in html  # equity, cash
    assert "43994.00" in html  # buying power: equity less 6,100 margin
    position = html.split('data-position="BTCUSDT"')[1].split("</tr>")[0]
    assert "100.00" in position  # unrealized: 99.999
    order = PaperOrder.objects.get(status="working")
    assert f'data-order="{order.pk}"' in html
    assert f'action="/paper/{world.account.pk}/orders/{order.pk}/cancel/"' in html
    assert "csrfmiddlewaretoken" in html
    assert html.count("data-fill=") == 1
    assert "No closed trades" in html
    assert f'href="/paper/{world.account.pk}/reset/"' in html


@pytest.mark.parametrize("name", ["summary", "positions", "orders", "fills", "metrics"])
def test_each_live_fragment_renders_on_its_own(world, traded, name):
    response = client_for(world.owner).get(
        f"/paper/{world.account.pk}/fragment/{name}/"
    )
    assert response.status_code == 200
    html = response.content.decode().lstrip()
    assert html.startswith(f'<section id="paper-{name}"')
    assert "<html" not in html


def test_an_unknown_fragment_is_404(world):
    response = client_for(world.owner).get(f"/paper/{world.account.pk}/fragment/x/")
    assert response.status_code == 404


def test_the_metrics_table_appears_once_a_trade_is_closed(world, traded):
    place(traded, side="sell", reference_price=Decimal(61000))
    html = client_for(world.owner).get(f"/paper/{world.account.pk}/").content.decode()
    assert "Win rate" in html and "100.00 %" in html


def test_reset_asks_first_then_resets_and_returns_with_a_message(world, traded):
    owner, url = client_for(world.owner), f"/paper/{world.account.pk}/reset/"
    question = owner.get(url)
    assert question.status_code == 200
    html = question.content.decode()
    assert "cannot be undone" in html
    assert 'name="confirm" value="reset"' in html and "csrfmiddlewaretoken" in html
    assert PaperOrder.objects.exists()
    done = owner.post(url, {"confirm": "reset"}, follow=True)
    assert done.redirect_chain == [(f"/paper/{world.account.pk}/", 302)]
    assert "Paper 50K is reset." in done.content.decode()
    assert not PaperOrder.objects.exists()
    assert PaperAccount.objects.get().cash_balance == 50000


def test_flatten_asks_first_then_closes_positions_and_cancels_orders(world, traded):
    owner, url = client_for(world.owner), f"/paper/{world.account.pk}/flatten/"
    assert 'value="flatten"' in owner.get(url).content.decode()
    done = owner.post(url, {"confirm": "flatten"}, follow=True)
    assert done.redirect_chain == [(f"/paper/{world.account.pk}/", 302)]
    assert "Paper 50K is flat." in done.content.decode()
    assert not PaperPosition.objects.exclude(quantity=0).exists()
    assert not PaperOrder.objects.filter(status="working").exists()


def test_the_pages_flatten_is_the_one_flatten_and_leaves_our_books_flat(world, traded):
    """Our Position rows follow the venue (the page used to flatten the venue
    only, leaving them stale until the next sync)."""
    from brokers.models import Position
    from brokers.services import account_sync

    account_sync(account=world.account)  # our books: long 0.1
    assert Position.objects.get(account=world.account).quantity == Decimal("0.1")
    client_for(world.owner).post(
        f"/paper/{world.account.pk}/flatten/", {"confirm": "flatten"}
    )
    assert Position.objects.get(account=world.account).quantity == 0
    world.account.refresh_from_db()
    assert world.account.last_sync_at is not None


@pytest.mark.parametrize("action", ["reset", "flatten"])
def test_a_post_without_the_confirmation_only_asks_again(world, traded, action):
    response = client_for(world.owner).post(f"/paper/{world.account.pk}/{action}/")
    assert response.status_code == 400
    assert f'value="{action}"' in response.content.decode()
    assert PaperPosition.objects.exclude(quantity=0).count() == 1
    assert PaperOrder.objects.filter(status="working").count() == 1


def test_a_working_order_is_cancelled_from_the_page(world, traded):
    order = PaperOrder.objects.get(status="working")
    done = client_for(world.owner).post(
        f"/paper/{world.account.pk}/orders/{order.pk}/cancel/", follow=True
    )
    assert done.redirect_chain == [(f"/paper/{world.account.pk}/", 302)]
    assert f"Order {order.pk} is cancelled." in done.content.decode()
    order.refresh_from_db()
    assert order.status == PaperOrder.Status.CANCELLED
    again = client_for(world.owner).post(
        f"/paper/{world.account.pk}/orders/{order.pk}/cancel/", follow=True
    )
    assert "only working orders can be cancelled" in again.content.decode()


def test_cancelling_needs_post(world, traded):
    order = PaperOrder.objects.get(status="working")
    response = client_for(world.owner).get(
        f"/paper/{world.account.pk}/orders/{order.pk}/cancel/"
    )
    assert response.status_code == 405


def test_an_outsider_gets_404_on_every_page_of_another_workspace(world, traded):
    outsider, pk = client_for(world.outsider), world.account.pk
    order = PaperOrder.objects.get(status="working")
    assert "Paper 50K" not in outsider.get("/paper/").content.decode()
    for url in (
        f"/paper/{pk}/",
        f"/paper/{pk}/fragment/positions/",
        f"/paper/{pk}/reset/",
        f"/paper/{pk}/flatten/",
    ):
        assert outsider.get(url).status_code == 404, url
    for url, data in (
        (f"/paper/{pk}/reset/", {"confirm": "reset"}),
        (f"/paper/{pk}/flatten/", {"confirm": "flatten"}),
        (f"/paper/{pk}/orders/{order.pk}/cancel/", {}),
    ):
        assert outsider.post(url, data).status_code == 404, url
    assert PaperOrder.objects.filter(status="working").count() == 1
    assert PaperPosition.objects.exclude(quantity=0).count() == 1


def test_an_order_is_only_cancelled_under_its_own_account(world, traded):
    order = PaperOrder.objects.get(status="working")
    response = client_for(world.owner).post(
        f"/paper/{world.account.pk + 1000}/orders/{order.pk}/cancel/"
    )
    assert response.status_code == 404


def test_a_viewer_sees_the_account_without_actions_and_gets_403_on_them(world, traded):
    viewer, pk = client_for(world.viewer), world.account.pk
    html = viewer.get(f"/paper/{pk}/").content.decode()
    assert "Paper 50K" in html
    assert "/reset/" not in html and "/cancel/" not in html
    order = PaperOrder.objects.get(status="working")
    assert viewer.get(f"/paper/{pk}/reset/").status_code == 403
    assert viewer.post(f"/paper/{pk}/reset/", {"confirm": "reset"}).status_code == 403
    flatten = viewer.post(f"/paper/{pk}/flatten/", {"confirm": "flatten"})
    assert flatten.status_code == 403
    assert viewer.post(f"/paper/{pk}/orders/{order.pk}/cancel/").status_code == 403
    assert PaperOrder.objects.filter(status="working").count() == 1


def test_anonymous_visitors_are_sent_to_log_in(world):
    for url in ("/paper/", f"/paper/{world.account.pk}/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/auth/login/" in response["Location"]
