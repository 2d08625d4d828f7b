"""The Tradovate connect page: with an API key, and through Tradovate's OAuth
(the trader signs in at Tradovate, which sends them back with a code): the
accounts listed, one picked, its key shown; the session then lives on the
refresh token, rotated and kept; a forged or denied sign-in connects nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brokers.adapters.base import OrderRequest
from brokers.models import BrokerAccount, Order, OrderType
from brokers.venues.tradovate.adapter import TradovateAdapter
from testkit import client_for

from .conftest import CID, PASSWORD, SEC, USER

PAGE = "/accounts/connect/tradovate/"
CLIENT_ID, CLIENT_SECRET = "tradeflow-app", "app-secret-9"


@pytest.fixture
def oauth(fake, settings):
    """TradeFlow registered at the fake as an OAuth app."""
    host = fake.url.removesuffix("/v1")
    fake.oauth.client(CLIENT_ID, CLIENT_SECRET)
    settings.TRADOVATE_OAUTH_CLIENT_ID = CLIENT_ID
    settings.TRADOVATE_OAUTH_CLIENT_SECRET = CLIENT_SECRET
    settings.TRADOVATE_OAUTH_URL = f"{host}/oauth"
    settings.TRADOVATE_OAUTH_TOKEN_URL = f"{host}/auth/oauthtoken"
    settings.SITE_URL = "http://testserver"
    return fake


def sign_in_at_tradovate(authorize: str, decision: str = "allow", password=PASSWORD):
    """What the trader does at Tradovate's page: the form, then its redirect."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    page = httpx.get(authorize)
    assert page.status_code == 200 and "Sign in to Tradovate" in page.text
    answer = httpx.post(
        authorize.split("?")[0],
        data={**query, "username": USER, "password": password, "decision": decision},
    )
    return answer


def test_a_trader_connects_with_an_api_key(world, fake):
    fake.account(USER, "DEMO1", balance=Decimal(50_000))
    page = client_for(world.owner)
    form = page.get(PAGE)
    assert form.status_code == 200 and "Sign in with Tradovate" not in (
        form.content.decode()  # this server is no OAuth app: keys only
    )
    login = {
        "environment": "demo",
        "user_name": USER,
        "password": PASSWORD,
        "cid": CID,
        "sec": SEC,
    }
    listed = page.post(PAGE, login, follow=True)
    assert "DEMO1" in listed.content.decode() and SEC not in listed.content.decode()
    done = page.post(f"{PAGE}account/", {}, follow=True)  # the first, checked
    assert "shown <strong>once</strong>" in done.content.decode()
    assert BrokerAccount.objects.get(venue="tradovate").name == "DEMO1"


def test_a_trader_connects_through_tradovates_sign_in_and_it_lasts(world, oauth, clock):
    fake = oauth
    venue_account = fake.account(USER, "DEMO2", balance=Decimal(50_000))
    page = client_for(world.owner)
    assert "Sign in with Tradovate" in page.get(PAGE).content.decode()
    started = page.post(f"{PAGE}oauth/", {"environment": "demo"})
    assert started.status_code == 302
    authorize = started["Location"]
    assert authorize.startswith(f"{fake.url.removesuffix('/v1')}/oauth?")
    assert "client_id=tradeflow-app" in authorize and "state=" in authorize

    wrong = sign_in_at_tradovate(authorize, password="not-it")
    assert wrong.status_code == 200 and "Incorrect username" in wrong.text
    back = sign_in_at_tradovate(authorize)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    assert callback.path == f"{PAGE}callback/"
    listed = page.get(f"{callback.path}?{callback.query}", follow=True)
    assert "Pick the Tradovate account" in listed.content.decode()
    assert "DEMO2" in listed.content.decode()
    page.post(f"{PAGE}account/", {"account_id": venue_account.id}, follow=True)
    account = BrokerAccount.objects.get(venue="tradovate")
    kept = json.loads(account.credentials)
    assert kept["refresh_token"] and not kept["password"] and not kept["sec"]
    assert kept["user_name"] == USER

    # Hours later, every token gone: the refresh token signs in again, rotated.
    fake.expire_tokens()
    clock.advance(hours=3)
    adapter = TradovateAdapter(account)
    contract = fake.contract_for("MNQZ26").id
    fake.price(contract, Decimal(21000))
    report = adapter.place_order(
        OrderRequest("tf-oauth-1", "MNQZ26", "buy", OrderType.MARKET, Decimal(1))
    )
    assert report.status == Order.Status.FILLED
    assert fake.oauth.exchanges == 2  # the code, then one refresh
    account.refresh_from_db()
    rotated = json.loads(account.credentials)["refresh_token"]
    assert rotated != kept["refresh_token"] and rotated in fake.oauth.refresh_tokens


def test_a_denied_or_forged_sign_in_connects_nothing_and_says_why(world, oauth):
    fake = oauth
    fake.account(USER, "DEMO3")
    page = client_for(world.owner)
    forged = page.get(f"{PAGE}callback/?code=x&state=not-mine")
    assert forged.status_code == 400 and "did not start here" in forged.content.decode()
    authorize = page.post(f"{PAGE}oauth/", {"environment": "demo"})["Location"]
    denied = sign_in_at_tradovate(authorize, decision="deny")
    callback = urlsplit(denied.headers["location"])
    answer = page.get(f"{callback.path}?{callback.query}")
    assert answer.status_code == 400 and "Deny" in answer.content.decode()
    authorize = page.post(f"{PAGE}oauth/", {"environment": "demo"})["Location"]
    back = urlsplit(sign_in_at_tradovate(authorize).headers["location"])
    code = parse_qs(back.query)["code"][0]
    page.get(f"{back.path}?{back.query}")  # the code, spent
    state = parse_qs(back.query)["state"][0]
    again = page.get(f"{back.path}?code={code}&state={state}")
    assert again.status_code == 400  # a code works once, a state too
    assert BrokerAccount.objects.filter(venue="tradovate").count() == 0


def test_a_viewer_cannot_start_a_sign_in(world, oauth):
    assert client_for(world.viewer).post(f"{PAGE}oauth/").status_code in (403, 404)
