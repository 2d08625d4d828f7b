"""The ProjectX client against the fake: sessions, errors, limits, decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from brokers.adapters.base import VenueError
from brokers.venues.projectx.client import Login, ProjectXClient, ProjectXRefusedError
from brokers.venues.projectx.mapping import Side, Type

from .conftest import API_KEY, USER


def logins(fake) -> int:
    return fake.calls.count("Auth/loginKey")


def test_one_login_serves_every_client_of_it_and_its_token_is_kept_encrypted(
    fake, client
):
    fake.account(USER, "50KTC-V2-1", balance=Decimal("50000.5"))
    assert [a["name"] for a in client.accounts()] == ["50KTC-V2-1"]
    other = ProjectXClient(Login(fake.url, USER, API_KEY))
    other.accounts()
    assert logins(fake) == 1
    stored = cache.get(client.tokens.cache_key)
    token = next(iter(fake.tokens))
    assert stored and token not in stored
    balance = client.accounts()[0]["balance"]
    assert balance == Decimal("50000.5") and isinstance(balance, Decimal)


def test_an_expired_session_is_renewed_once_by_logging_in_again(fake, client):
    client.accounts()
    fake.expire_tokens()  # ProjectX forgets it: the next call is a 401
    assert client.accounts() == []
    assert logins(fake) == 2
    assert fake.calls[-3:] == ["Account/search", "Auth/loginKey", "Account/search"]


def test_a_token_near_its_end_is_renewed_with_validate(fake, client, clock):
    fake.knobs.token_seconds = 10 * 60
    client.accounts()
    clock.advance(minutes=6)  # under the 5 minutes left: renew before using it
    client.accounts()
    assert "Auth/validate" in fake.calls and logins(fake) == 1


def test_a_refused_login_is_a_lasting_error_with_a_sentence(fake):
    bad = ProjectXClient(Login(fake.url, USER, "not-the-key"))
    with pytest.raises(VenueError) as refused:
        bad.accounts()
    assert refused.value.code == "login-failed" and not refused.value.transient


def test_a_429_is_waited_out_with_jitter_and_a_5xx_or_a_timeout_is_transient(
    fake, client
):
    client.accounts()
    fake.knobs.fail = [429, 429]
    assert client.accounts() == []
    fake.knobs.fail = [503]
    with pytest.raises(VenueError) as failed:
        client.accounts()
    assert (failed.value.code, failed.value.transient) == ("venue-error", True)
    fake.knobs.hang, fake.knobs.hang_seconds = 1, 3
    with pytest.raises(VenueError) as slow:
        client.accounts()
    assert (slow.value.code, slow.value.transient) == ("venue-timeout", True)


def test_the_client_keeps_under_the_logins_allowance_and_never_spends_anothers(
    fake, client, settings
):
    settings.PROJECTX_CALLS_PER_MINUTE = 3
    settings.PROJECTX_MAX_WAIT_SECONDS = 0
    client.accounts()  # the login and a search: 2 of 3
    client.accounts()
    with pytest.raises(VenueError) as limited:
        client.accounts()
    assert (limited.value.code, limited.value.transient) == ("rate-limited", True)
    fake.user("neighbour", "their-key")
    neighbour = ProjectXClient(Login(fake.url, "neighbour", "their-key"))
    assert neighbour.accounts() == []  # its own allowance


def test_errors_are_read_per_endpoint(fake, client):
    account = fake.account(USER, "A", balance=Decimal(50_000), auto_oco=False)
    follower = fake.account(USER, "F", balance=Decimal(50_000), follower=True)
    contract = fake.contract_for("MNQZ26").id
    fake.price(contract, Decimal(21000))
    order = {
        "accountId": account.id,
        "contractId": contract,
        "type": int(Type.MARKET),
        "side": int(Side.BID),
        "size": 1,
    }
    # 2 is "OrderRejected" when placing ...
    with pytest.raises(ProjectXRefusedError) as brackets:
        client.place({**order, "stopLossBracket": {"ticks": 10, "type": 4}})
    assert brackets.value.code == "brackets-need-auto-oco"
    assert brackets.value.payload["orderId"]  # the rejected order exists
    # ... and "OrderNotFound" when cancelling.
    with pytest.raises(ProjectXRefusedError) as missing:
        client.cancel(account.id, 999_999)
    assert missing.value.code == "order-not-found"
    with pytest.raises(ProjectXRefusedError) as copied:
        client.place({**order, "accountId": follower.id})
    assert copied.value.code == "follower-account"
    assert "leader" in copied.value.message


def test_contract_search_finds_our_months_by_name(fake, client):
    found = {c["name"]: c for c in client.contracts("ES")}
    contract = found["ESZ6"]
    assert contract["id"] == "CON.F.US.EP.Z26"  # ProjectX's own symbol in the id
    assert contract["tickSize"] == Decimal("0.25")
    assert client.contract(contract["id"])["name"] == "ESZ6"
