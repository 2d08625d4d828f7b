"""Seed 004's generic login fields as each venue's own (brokers.venues.credentials):
the same meaning at every venue, and a sentence for what cannot be done with
them."""

from __future__ import annotations

import pytest

from brokers.adapters.base import VenueError
from brokers.venues.credentials import (
    ApiLogin,
    exchanges,
    login_options,
    venue_for_exchange,
)

LOGIN = ApiLogin(
    api_key="7",
    api_secret="secret",
    passphrase="password",
    user_name="trader@example.com",
    server="OSP-DEMO",
    account_id="42",
)


def test_each_venue_reads_the_fields_as_its_own_login():
    assert login_options("projectx", LOGIN) == {
        "firm": "topstepx",
        "user_name": "trader@example.com",
        "api_key": "7",
        "account_id": "42",
        "confirm_live": False,
    }
    assert login_options("tradovate", LOGIN) == {
        "environment": "demo",
        "user_name": "trader@example.com",
        "password": "password",
        "cid": 7,
        "sec": "secret",
        "account_id": "42",
        "confirm_live": False,
    }
    live = ApiLogin(**{**vars(LOGIN), "is_testnet": False})
    assert login_options("tradelocker", live) == {
        "environment": "live",
        "email": "trader@example.com",
        "password": "password",
        "server": "OSP-DEMO",
        "account_id": "42",
        "confirm_live": True,
    }


def test_a_tradovate_cid_is_a_number():
    with pytest.raises(VenueError) as refused:
        login_options("tradovate", ApiLogin(**{**vars(LOGIN), "api_key": "abc"}))
    assert refused.value.code == "credentials-missing"
    assert "cid" in refused.value.message


def test_exchange_names_and_what_is_connected_elsewhere():
    assert venue_for_exchange("TopStep") == "projectx"
    assert venue_for_exchange("paper") == "paper"
    for metatrader in ("mt4", "mt5", "mtx", "truforex"):
        with pytest.raises(VenueError) as elsewhere:
            venue_for_exchange(metatrader)
        assert elsewhere.value.code == "connect-with-ea"
    with pytest.raises(VenueError) as unknown:
        venue_for_exchange("kraken")
    assert unknown.value.code == "unknown-exchange"
    assert {"paper", "projectx", "topstep", "tradovate", "tradelocker"} <= set(
        exchanges()
    )
