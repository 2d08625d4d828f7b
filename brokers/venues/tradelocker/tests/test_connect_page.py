"""The TradeLocker connect page: sign in, pick an account, get its key; a refused
login, an unconfirmed live account and a viewer each told why."""

from __future__ import annotations

from decimal import Decimal

from brokers.models import BrokerAccount
from testkit import client_for

from .conftest import EMAIL, PASSWORD, SERVER

LOGIN = {"environment": "demo", "email": EMAIL, "password": PASSWORD, "server": SERVER}
PAGE = "/accounts/connect/tradelocker/"


def test_a_trader_signs_in_picks_an_account_and_gets_its_key(world, fake):
    fake.account(EMAIL, "OSP#1001", balance=Decimal(25_000))
    second = fake.account(EMAIL, "OSP#1002", balance=Decimal(100_000))
    page = client_for(world.owner)
    form = page.get(PAGE)
    assert form.status_code == 200 and form["Cache-Control"].startswith("no-store")
    assert "broker&#x27;s server" in form.content.decode()
    listed = page.post(PAGE, LOGIN, follow=True)
    html = listed.content.decode()
    assert "Pick the TradeLocker account" in html
    assert "OSP#1001" in html and "OSP#1002" in html and PASSWORD not in html
    done = page.post(f"{PAGE}account/", {"account_id": second.id}, follow=True)
    account = BrokerAccount.objects.get(venue="tradelocker")
    assert (account.name, account.external_id, account.mode) == (
        "OSP#1002",
        str(second.id),
        "demo",
    )
    assert "shown <strong>once</strong>" in done.content.decode()
    assert page.get(f"{PAGE}account/").status_code == 302  # the login is gone
    again = page.post(PAGE, LOGIN, follow=True)  # the connected one is marked
    assert "connected already" in again.content.decode()


def test_a_refused_login_or_an_unconfirmed_live_account_says_why(world, fake):
    live = fake.account(EMAIL, "OSP#LIVE", balance=Decimal(10_000))
    page = client_for(world.owner)
    refused = page.post(PAGE, {**LOGIN, "password": "not-it"})
    assert refused.status_code == 400
    assert "refused the sign-in" in refused.content.decode()
    missing = page.post(PAGE, {**LOGIN, "server": ""})
    assert missing.status_code == 400 and "This field is required" in (
        missing.content.decode()
    )
    page.post(PAGE, {**LOGIN, "environment": "live"})
    unticked = page.post(f"{PAGE}account/", {"account_id": live.id})
    assert unticked.status_code == 400 and "live account" in unticked.content.decode()
    assert not BrokerAccount.objects.filter(venue="tradelocker").exists()
    ticked = page.post(
        f"{PAGE}account/", {"account_id": live.id, "confirm_live": "on"}, follow=True
    )
    assert ticked.status_code == 200
    assert BrokerAccount.objects.get(venue="tradelocker").mode == "live"


def test_a_viewer_cannot_connect_and_an_unknown_venue_is_not_there(world, fake):
    assert client_for(world.viewer).get(PAGE).status_code in (403, 404)
    assert client_for(world.owner).get("/accounts/connect/nowhere/").status_code == 404
