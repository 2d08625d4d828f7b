"""Scoped API tokens: the seed-003 curl flow with a token instead of a password."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import token_issue
from paperbroker.services import quote_record
from testkit import client_for

BASE = "/api/paper-trading"
ORDER = {"symbol": "BTCUSDT", "action": "buy", "quantity": 0.1, "price": 60000}


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_is_made_on_its_page_shown_once_and_kept_as_a_hash(world):
    browser = client_for(world.owner)
    made = browser.post(
        "/api-tokens/", {"name": "nightly export", "scope": "read", "days": 30}
    )
    assert made.status_code == 302
    page = browser.get(made["Location"])
    assert (
        page["Cache-Control"].startswith("no-store")
        or "no-store" in page["Cache-Control"]
    )
    plain = page.content.decode().split('id="api-token" class="secret">')[1][:47]
    assert plain.startswith("tft_")
    token = ApiToken.objects.get()
    assert plain not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.prefix == plain[:10] and token.scope == "read"
    assert plain not in browser.get(made["Location"]).content.decode()  # once
    listing = browser.get("/api-tokens/").content.decode()
    assert "nightly export" in listing and token.prefix in listing


def test_a_read_token_reads_and_may_not_trade(world):
    _, plain = token_issue(user=world.owner, name="reader", scope="read", days=30)
    client = Client()
    accounts = client.get(f"{BASE}/accounts", **bearer(plain))
    assert accounts.status_code == 200
    assert [a["id"] for a in accounts.json()] == [f"paper_{world.account.pk}"]
    refused = client.post(
        f"{BASE}/alerts", ORDER, content_type="application/json", **bearer(plain)
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient-scope"
    assert "needs a trade token" in refused.json()["detail"]


def test_a_trade_token_trades_but_connects_no_account(world):
    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    _, plain = token_issue(user=world.owner, name="bot", scope="trade", days=30)
    client = Client()
    placed = client.post(
        f"{BASE}/alerts", ORDER, content_type="application/json", **bearer(plain)
    )
    assert placed.status_code in (200, 202), placed.json()
    register = client.post(
        "/register/paper", {}, content_type="application/json", **bearer(plain)
    )
    assert (register.status_code, register.json()["code"]) == (
        403,
        "insufficient-scope",
    )
    _, admin = token_issue(user=world.owner, name="setup", scope="admin", days=30)
    register = client.post(
        "/register/paper", {}, content_type="application/json", **bearer(admin)
    )
    assert register.status_code == 201


@pytest.mark.usefixtures("clock")
def test_expired_revoked_and_unknown_tokens_are_401(world, clock):
    token, plain = token_issue(user=world.owner, name="short", scope="read", days=7)
    client = Client()
    assert client.get(f"{BASE}/accounts", **bearer(plain)).status_code == 200
    clock.advance(days=8)
    expired = client.get(f"{BASE}/accounts", **bearer(plain))
    assert (expired.status_code, expired.json()["code"]) == (401, "not-authenticated")
    _, other = token_issue(user=world.owner, name="other", scope="read", days=7)
    client_for(world.owner).post(f"/api-tokens/{token.pk + 1}/revoke/")
    assert client.get(f"{BASE}/accounts", **bearer(other)).status_code == 401
    unknown = client.get(f"{BASE}/accounts", **bearer("tft_" + "x" * 43))
    assert unknown.status_code == 401


def test_a_token_sees_only_its_users_workspace_and_others_tokens_are_404(world):
    _, plain = token_issue(user=world.outsider, name="theirs", scope="admin", days=30)
    mine, _ = token_issue(user=world.owner, name="mine", scope="read", days=30)
    client = Client()
    theirs = client.get(f"{BASE}/accounts/paper_{world.account.pk}", **bearer(plain))
    assert theirs.status_code == 404
    revoke = client_for(world.outsider).post(f"/api-tokens/{mine.pk}/revoke/")
    assert revoke.status_code == 404
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is None
