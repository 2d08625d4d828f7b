"""What Tradovate refuses for good is the trader's to see: a captcha demand met
while the account syncs is kept on the account with a sentence, shown on the
dashboard, and cleared by the next sync that works; a transient failure is not
shown (the next sync tries again)."""

from __future__ import annotations

import pytest

from brokers.adapters.base import VenueError
from brokers.services import account_sync
from testkit import client_for


def test_a_captcha_demand_is_an_account_error_until_a_sync_works(connected, world):
    fake, account = connected.fake, connected.account
    fake.expire_tokens()  # the next call signs in again, and meets the captcha
    fake.knobs.penalty, fake.knobs.captcha = 1, True
    with pytest.raises(VenueError):
        account_sync(account=account)
    account.refresh_from_db()
    assert account.error_code == "captcha-required"
    assert "captcha" in account.error_message and account.error_at is not None
    page = client_for(world.owner).get("/")
    assert "wants a captcha solved" in page.content.decode()

    fake.knobs.penalty, fake.knobs.captcha = 0, False  # the trader solved it
    account_sync(account=account)
    account.refresh_from_db()
    assert (account.error_code, account.error_message, account.error_at) == (
        "",
        "",
        None,
    )
    assert (
        "wants a captcha solved"
        not in client_for(world.owner).get("/").content.decode()
    )


def test_a_transient_failure_is_not_an_account_error(connected):
    connected.fake.knobs.fail = [503]
    with pytest.raises(VenueError) as failed:
        account_sync(account=connected.account)
    assert failed.value.transient
    connected.account.refresh_from_db()
    assert connected.account.error_code == ""
