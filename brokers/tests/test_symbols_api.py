"""`GET /api/accounts/{id}/symbols/lookup`: what an alert's symbol would trade,
as JSON; a refusal in the one error shape with a 4xx; another workspace's account
is a 404."""

from __future__ import annotations

import pytest

from brokers.venues.tradovate.tests import conftest as tradovate
from testkit import api_client_for

# The Tradovate fake and an account connected to it, on the frozen clock.
connected = tradovate.connected
fake = tradovate.fake

pytestmark = pytest.mark.django_db


def url(account, symbol: str | None = "NQ1!") -> str:
    query = "" if symbol is None else f"?symbol={symbol}"
    return f"/api/accounts/{account.pk}/symbols/lookup{query}"


def test_the_lookup_answers_the_contract_and_tradovates_name(connected, world):
    account = connected.account
    account.symbol_overrides = {"NQ": "MNQ"}
    account.save()
    response = api_client_for(world.owner).get(url(account, "NQ1%21"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["ok"] is True
    assert body["alert_symbol"] == "NQ1!" and body["mapped_symbol"] == "MNQ1!"
    assert body["override"] == {"from": "NQ", "to": "MNQ"}
    assert body["instrument"]["symbol"] == "MNQ"
    assert (body["contract"], body["expiry"]) == ("MNQZ26", "2026-12-18")
    assert (body["symbol"], body["venue_symbol"]) == ("MNQZ26", "MNQZ6")
    assert body["broker"] == "tradovate"


def test_a_viewer_may_look_up(world, clock):
    response = api_client_for(world.viewer).get(url(world.account, "EURUSD"))
    assert response.status_code == 200
    assert response.json()["venue_symbol"] == "EURUSD"


def test_an_unknown_symbol_is_a_422_with_a_code_and_a_sentence(world, clock):
    response = api_client_for(world.owner).get(url(world.account, "NOPE1%21"))
    assert response.status_code == 422
    body = response.json()
    assert (body["success"], body["code"]) == (False, "unknown-symbol")
    assert "Unknown symbol 'NOPE1!'" in body["detail"]
    assert body["lookup"]["alert_symbol"] == "NOPE1!"
    assert body["lookup"]["venue_symbol"] is None


def test_the_venue_down_is_a_424_that_still_says_what_would_trade(connected, world):
    connected.fake.knobs.fail = [503] * 5
    response = api_client_for(world.owner).get(url(connected.account, "MES1%21"))
    assert response.status_code == 424
    body = response.json()
    assert body["code"] == "venue-unavailable"
    assert "could not ask Tradovate" in body["detail"]
    assert body["lookup"]["symbol"] == "MESZ26"


def test_no_symbol_is_a_400_naming_the_parameter(world):
    for symbol in (None, "", "%20"):
        response = api_client_for(world.owner).get(url(world.account, symbol))
        assert response.status_code == 400
        assert response.json()["code"] == "validation-error"
        assert "symbol" in response.json()["errors"]


def test_another_workspaces_account_is_a_404(world, clock):
    response = api_client_for(world.outsider).get(url(world.account))
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"
    response = api_client_for(world.owner).get("/api/accounts/999999/symbols/lookup")
    assert response.status_code == 404


def test_without_a_login_it_is_refused(world, clock):
    from rest_framework.test import APIClient

    response = APIClient().get(url(world.account))
    assert response.status_code in (401, 403)
    assert response.json()["success"] is False
