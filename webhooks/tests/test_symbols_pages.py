"""An account's Symbols page: both maps, their form, and the lookup (HTMX and
plain GET). Owner edits, viewer looks, outsider gets 404."""

from __future__ import annotations

import pytest
from django.test import Client

from testkit import client_for

pytestmark = pytest.mark.django_db


def page(account) -> str:
    return f"/accounts/{account.pk}/symbols/"


def test_the_page_shows_both_maps_and_the_form_filled_with_them(world):
    account = world.account
    account.symbol_overrides = {"NQ": "MNQ", "ES": "MES"}
    account.venue_symbols = {"XAUUSD": "GOLD"}
    account.save()
    response = client_for(world.owner).get(page(account))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>NQ</code> → <code>MNQ</code>" in html
    assert "<code>XAUUSD</code> → <code>GOLD</code>" in html
    # JSONB keeps keys in its own order (shorter first, then A-Z).
    assert 'value="ES=MES, NQ=MNQ"' in html and 'value="XAUUSD=GOLD"' in html
    assert 'id="symbol-maps-form"' in html


def test_the_dashboard_links_each_account_to_its_symbols(world):
    html = client_for(world.owner).get("/").content.decode()
    assert f'href="{page(world.account)}"' in html


def test_saving_the_maps_keeps_them_upper_cased_and_by_catalogue_symbol(world):
    owner = client_for(world.owner)
    response = owner.post(
        page(world.account),
        {"symbol_overrides": "nq=mnq, us100 = US30", "venue_symbols": "gold=GOLD.r"},
    )
    assert response.status_code == 302 and response["Location"] == page(world.account)
    world.account.refresh_from_db()
    assert world.account.symbol_overrides == {"NQ": "MNQ", "NAS100": "US30"}
    assert world.account.venue_symbols == {"XAUUSD": "GOLD.r"}
    assert (
        "alerts to Paper 50K follow these maps"
        in owner.get(page(world.account)).content.decode()
    )

    owner.post(page(world.account), {"symbol_overrides": "", "venue_symbols": ""})
    world.account.refresh_from_db()
    assert world.account.symbol_overrides == {} and world.account.venue_symbols == {}


@pytest.mark.parametrize(
    ("field", "text", "says"),
    [
        ("symbol_overrides", "NQ=NOPE", "TradeFlow does not know &#x27;NOPE&#x27;"),
        ("symbol_overrides", "NQ MNQ", "Write each mapping as ROOT=ROOT"),
        ("symbol_overrides", "NQ=EURUSD", "a future maps to a future"),
        ("venue_symbols", "XAUUSD=GOLD SPOT", "not a name a broker gives"),
        ("venue_symbols", "XAUUSD", "Write each mapping as SYMBOL=NAME"),
        ("venue_symbols", "MNQ=NQ100", "MNQ is a future"),
    ],
)
def test_a_map_that_cannot_work_saves_nothing_and_says_why(world, field, text, says):
    world.account.symbol_overrides = {"ES": "MES"}
    world.account.save()
    response = client_for(world.owner).post(page(world.account), {field: text})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html and says in html
    assert f'value="{text}"' in html  # what the trader typed, to correct
    world.account.refresh_from_db()
    assert world.account.symbol_overrides == {"ES": "MES"}


def test_the_lookup_without_javascript_renders_the_whole_page(world, clock):
    world.account.symbol_overrides = {"NQ": "MNQ"}
    world.account.save()
    response = client_for(world.owner).get(page(world.account), {"symbol": "NQ1!"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Symbols · Paper 50K</h1>" in html
    assert "NQ → MNQ: <code>MNQ1!</code>" in html
    assert "trades <strong>MNQZ26</strong> at Paper" in html
    assert 'value="NQ1!"' in html  # the box keeps the symbol


def test_the_lookup_over_htmx_answers_its_fragment_alone(world, clock):
    response = client_for(world.owner).get(
        page(world.account), {"symbol": "XAUUSD"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode().strip()
    assert html.startswith('<div id="symbol-lookup"') and "<h1>" not in html
    assert "trades <strong>XAUUSD</strong> at Paper" in html


def test_a_refused_lookup_shows_its_code_and_sentence(world, clock):
    response = client_for(world.owner).get(
        page(world.account), {"symbol": "<b>NOPE</b>"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<code>unknown-symbol</code>" in html and "<b>NOPE" not in html


def test_a_viewer_sees_the_maps_and_looks_up_but_cannot_change_them(world, clock):
    viewer = client_for(world.viewer)
    html = viewer.get(page(world.account), {"symbol": "ES1!"}).content.decode()
    assert "can see these maps, not change them" in html
    assert 'id="symbol-maps-form"' not in html and "ESZ26" in html
    response = viewer.post(page(world.account), {"symbol_overrides": "NQ=MNQ"})
    assert response.status_code == 403
    world.account.refresh_from_db()
    assert world.account.symbol_overrides == {}


def test_an_outsider_gets_404_reading_looking_up_and_saving(world):
    outsider = client_for(world.outsider)
    assert outsider.get(page(world.account)).status_code == 404
    assert outsider.get(page(world.account), {"symbol": "NQ1!"}).status_code == 404
    response = outsider.post(page(world.account), {"symbol_overrides": "NQ=MNQ"})
    assert response.status_code == 404
    world.account.refresh_from_db()
    assert world.account.symbol_overrides == {}


def test_saving_needs_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.owner)
    response = browser.post(page(world.account), {"symbol_overrides": "NQ=MNQ"})
    assert response.status_code == 403
    world.account.refresh_from_db()
    assert world.account.symbol_overrides == {}


def test_logged_out_the_page_sends_to_the_login(world):
    response = Client().get(page(world.account))
    assert response.status_code == 302 and "login" in response["Location"]
