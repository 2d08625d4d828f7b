"""The connect page: sign in, pick an account, get its key; the firm's rules shown."""

from __future__ import annotations

from decimal import Decimal

from brokers.models import BrokerAccount
from testkit import client_for

from .conftest import API_KEY, USER

LOGIN = {"firm": "topstepx", "user_name": USER, "api_key": API_KEY}


def test_a_trader_signs_in_picks_an_account_and_gets_its_key(world, fake):
    combine = fake.account(USER, "50KTC-V2-3", balance=Decimal(50_000))
    fake.account(USER, "PA-9", balance=Decimal(150_000), simulated=False)
    page = client_for(world.owner)
    form = page.get("/accounts/connect/projectx/")
    assert form.status_code == 200 and form["Cache-Control"].startswith("no-store")
    assert (
        "your server can watch and record, but it cannot trade" in form.content.decode()
    )
    listed = page.post("/accounts/connect/projectx/", LOGIN, follow=True)
    html = listed.content.decode()
    assert "50KTC-V2-3" in html and "PA-9" in html and API_KEY not in html
    done = page.post(
        "/accounts/connect/projectx/account/", {"account_id": combine.id}, follow=True
    )
    account = BrokerAccount.objects.get(venue="projectx")
    assert (account.name, account.external_id) == ("50KTC-V2-3", str(combine.id))
    assert "shown <strong>once</strong>" in done.content.decode()
    again = page.get("/accounts/connect/projectx/account/")  # the login is gone
    assert again.status_code == 302


def test_a_refused_login_or_an_unconfirmed_live_account_says_why(world, fake):
    live = fake.account(USER, "PA-9", balance=Decimal(150_000), simulated=False)
    page = client_for(world.owner)
    refused = page.post("/accounts/connect/projectx/", {**LOGIN, "api_key": "wrong"})
    assert refused.status_code == 400
    assert "refused the user name or the API key" in refused.content.decode()
    page.post("/accounts/connect/projectx/", LOGIN)
    unticked = page.post("/accounts/connect/projectx/account/", {"account_id": live.id})
    assert unticked.status_code == 400 and "live account" in unticked.content.decode()
    assert not BrokerAccount.objects.filter(venue="projectx").exists()


def test_a_viewer_cannot_connect_accounts(world, fake):
    assert client_for(world.viewer).get("/accounts/connect/projectx/").status_code in (
        403,
        404,
    )
