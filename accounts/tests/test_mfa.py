"""Two-factor sign-in on allauth's MFA: what the JWT login asks of it
(`mfa_required`, `mfa_verify`), and the pages a trader goes through: the security
page, setting up an authenticator app, a login that asks for its code, recovery
codes that work once."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.test import Client

from accounts.mfa import mfa_enabled, mfa_required, mfa_verify
from testkit import client_for
from testkit.factories import PASSWORD, UserFactory
from testkit.mfa import recovery_codes, totp_code, totp_give

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def trader(db):
    user = UserFactory.create(email="two@example.com")
    EmailAddress.objects.create(
        user=user, email=user.email, primary=True, verified=True
    )
    return user


def log_in(client: Client, email: str = "two@example.com"):
    return client.post("/auth/login/", {"login": email, "password": PASSWORD})


def confirm_password(client: Client, next_url: str):
    """allauth asks for the password again before a second factor changes."""
    return client.post(
        "/auth/reauthenticate/", {"password": PASSWORD, "next": next_url}
    )


def test_a_second_factor_is_required_of_users_who_set_one_up_and_of_all_staff(
    trader,
):
    staff = UserFactory.create(email="staff@example.com", is_staff=True)
    assert not mfa_required(trader) and mfa_required(staff)
    totp_give(trader)
    assert mfa_required(trader) and mfa_enabled(trader)


def test_recovery_codes_alone_are_no_second_factor(trader):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(trader)
    assert not mfa_enabled(trader) and not mfa_required(trader)


def test_an_app_code_is_taken_once_and_a_later_code_is_taken_next(trader, clock):
    secret = totp_give(trader)
    code = totp_code(secret)
    assert mfa_verify(user=trader, code=code)
    assert not mfa_verify(user=trader, code=code)  # replayed in its window
    clock.advance(seconds=30)
    assert mfa_verify(user=trader, code=totp_code(secret))
    assert Authenticator.objects.get(type="totp").last_used_at == clock.now()


def test_a_recovery_code_works_once_and_the_others_still_do(trader):
    totp_give(trader)
    first, second, *_ = recovery_codes(trader)
    assert mfa_verify(user=trader, code=first)
    assert not mfa_verify(user=trader, code=first)
    assert first not in recovery_codes(trader) and len(recovery_codes(trader)) == 9
    assert mfa_verify(user=trader, code=f" {second[:4]}-{second[4:]} ")


def test_wrong_empty_and_someone_elses_codes_are_refused(trader):
    secret = totp_give(trader)
    other = UserFactory.create(email="other@example.com")
    totp_give(other)
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
    assert not mfa_verify(user=trader, code=wrong)
    assert not mfa_verify(user=trader, code="")
    assert not mfa_verify(user=other, code=totp_code(secret))
    assert not mfa_verify(user=other, code=recovery_codes(trader)[0])
    no_factor = UserFactory.create(email="none@example.com")
    assert not mfa_verify(user=no_factor, code=totp_code(secret))


def test_the_app_secret_and_recovery_seed_are_encrypted_at_rest(trader):
    secret = totp_give(trader)
    stored = {a.type: a.data for a in Authenticator.objects.filter(user=trader)}
    assert secret not in str(stored["totp"])
    assert stored["totp"]["secret"].startswith("gAAAA")  # a Fernet token
    assert stored["recovery_codes"]["seed"].startswith("gAAAA")
    assert mfa_verify(user=trader, code=totp_code(secret))


def test_the_security_page_is_in_the_menu_and_offers_every_factor(trader):
    client = client_for(trader)
    assert 'href="/auth/2fa/">Security</a>' in client.get("/").content.decode()
    page = client.get("/auth/2fa/").content.decode()
    assert "<h1>Security</h1>" in page
    assert 'href="/auth/2fa/totp/activate/"' in page
    assert 'href="/auth/2fa/webauthn/add/"' in page
    assert "You get them when you set up an app or a key." in page


def test_the_security_page_lists_the_app_keys_and_recovery_codes(trader):
    totp_give(trader)
    Authenticator.objects.create(
        user=trader, type="webauthn", data={"name": "YubiKey 5C", "credential": {}}
    )
    mfa_verify(user=trader, code=recovery_codes(trader)[0])
    page = client_for(trader).get("/auth/2fa/").content.decode()
    assert 'href="/auth/2fa/totp/deactivate/"' in page
    assert "YubiKey 5C" in page and "1 added" in page
    assert "9 of 10 left" in page
    assert 'href="/auth/2fa/recovery-codes/generate/"' in page


def test_a_trader_sets_up_the_app_and_then_logs_in_with_its_code(trader):
    client = Client()
    log_in(client)
    asked = client.get("/auth/2fa/totp/activate/")
    assert asked["Location"].startswith("/auth/reauthenticate/?next=")
    confirmed = confirm_password(client, "/auth/2fa/totp/activate/")
    assert confirmed["Location"] == "/auth/2fa/totp/activate/"
    page = client.get("/auth/2fa/totp/activate/")
    assert page.status_code == 200
    html = page.content.decode()
    secret = page.context["form"].secret
    assert f'id="authenticator-secret">{secret}</pre>' in html
    assert 'src="data:image/svg+xml;base64,' in html

    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
    refused = client.post("/auth/2fa/totp/activate/", {"code": wrong})
    assert "Incorrect code." in refused.content.decode()
    assert not mfa_enabled(trader)

    done = client.post("/auth/2fa/totp/activate/", {"code": totp_code(secret)})
    assert done["Location"] == "/auth/2fa/recovery-codes/"
    codes = client.get("/auth/2fa/recovery-codes/").content.decode()
    assert all(f"<li>{code}</li>" in codes for code in recovery_codes(trader))
    assert mfa_enabled(trader)

    client.post("/auth/logout/")
    assert log_in(client)["Location"] == "/auth/2fa/authenticate/"
    assert "_auth_user_id" not in client.session  # not in with a password alone
    ask = client.get("/auth/2fa/authenticate/").content.decode()
    assert "Enter the 6-digit code from your authenticator app" in ask
    assert client.get("/").status_code == 302

    refused = client.post("/auth/2fa/authenticate/", {"code": wrong})
    assert "Incorrect code." in refused.content.decode()
    assert "_auth_user_id" not in client.session

    signed_in = client.post("/auth/2fa/authenticate/", {"code": totp_code(secret)})
    assert signed_in["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_same_app_code_cannot_sign_in_twice(trader):
    secret = totp_give(trader)
    code = totp_code(secret)
    first, second = Client(), Client()
    log_in(first)
    assert first.post("/auth/2fa/authenticate/", {"code": code})["Location"] == "/"
    log_in(second)
    replay = second.post("/auth/2fa/authenticate/", {"code": code})
    assert replay.status_code == 200 and "Incorrect code." in replay.content.decode()
    assert "_auth_user_id" not in second.session


def test_a_recovery_code_signs_in_once(trader):
    totp_give(trader)
    code = recovery_codes(trader)[3]
    client = Client()
    log_in(client)
    assert client.post("/auth/2fa/authenticate/", {"code": code})["Location"] == "/"
    client.post("/auth/logout/")
    log_in(client)
    again = client.post("/auth/2fa/authenticate/", {"code": code})
    assert "Incorrect code." in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_removing_the_app_turns_the_second_factor_off(trader):
    totp_give(trader)
    client = Client()
    log_in(client)
    client.post("/auth/2fa/authenticate/", {"code": recovery_codes(trader)[0]})
    asked = client.get("/auth/2fa/totp/deactivate/")
    assert asked["Location"].startswith("/auth/reauthenticate/")
    confirm_password(client, "/auth/2fa/totp/deactivate/")
    page = client.get("/auth/2fa/totp/deactivate/").content.decode()
    assert "Remove the authenticator app?" in page
    assert client.post("/auth/2fa/totp/deactivate/")["Location"] == "/auth/2fa/"
    assert not Authenticator.objects.filter(user=trader).exists()
