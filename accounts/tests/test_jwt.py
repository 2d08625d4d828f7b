"""Seed 004's sign-in API: JWT sessions with device info, rotation with reuse
detection, logout, sessions listed and terminated, password reset, and every
session ending when the password changes."""

from __future__ import annotations

import base64
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuthSession
from accounts.tokens import token_issue
from testkit import api_client_for, client_for
from testkit.factories import PASSWORD
from testkit.mfa import recovery_codes, totp_code, totp_give

pytestmark = pytest.mark.django_db

DEVICE = {"ip_address": "10.1.2.3", "user_agent": "bot/1.0", "device_type": "server"}


def login(client: APIClient, email: str = "owner@example.com", **extra):
    body = {"username": email, "password": PASSWORD, "device_info": DEVICE, **extra}
    return client.post("/api/v1/auth/login", body, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_login_answers_tokens_with_the_user_context_and_records_the_device(world):
    answer = login(APIClient())
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    context = body["user_context"]
    assert context["username"] == "owner@example.com"
    assert context["role"] == "admin"
    assert "trade" in context["permissions"]
    session = AuthSession.objects.get(pk=body["session_id"])
    assert session.user == world.owner
    assert (session.claimed_ip, session.user_agent, session.device_type) == (
        "10.1.2.3",
        "bot/1.0",
        "server",
    )
    assert session.ip_address == "127.0.0.1"  # what we saw, beside what it said


def test_the_access_token_reads_the_api_as_its_user(world):
    token = login(APIClient()).json()["access_token"]
    me = bearer(token).get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["user_id"] == str(world.owner.pk)
    assert bearer(token).get("/api/v1/bots/list").status_code == 200


def test_a_viewer_logs_in_with_the_viewer_role_and_cannot_trade(world):
    body = login(APIClient(), "viewer@example.com").json()
    assert body["user_context"]["role"] == "viewer"
    assert body["user_context"]["permissions"] == ["view"]
    client = bearer(body["access_token"])
    answer = client.post("/api/v1/bots/create?name=x", format="json")
    assert answer.status_code == 403


def test_a_wrong_password_is_a_401_with_a_code_and_opens_no_session(world):
    answer = APIClient().post(
        "/api/v1/auth/login",
        {"username": "owner@example.com", "password": "wrong"},
        format="json",
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid-credentials"
    assert not AuthSession.objects.exists()


def test_failed_logins_are_limited_per_account_as_on_the_sign_in_page(world):
    client = APIClient()
    codes = [
        client.post(
            "/api/v1/auth/login",
            {"username": "owner@example.com", "password": "wrong"},
            format="json",
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    # Even the right password waits now: the limit is the account's.
    limited = login(client)
    assert limited.status_code == 429
    assert limited.json()["code"] == "too-many-attempts"


def test_a_login_without_a_body_is_a_400_naming_the_fields(world):
    answer = APIClient().post("/api/v1/auth/login", {}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation-error"


def test_refresh_rotates_and_the_old_refresh_token_is_spent(world):
    first = login(APIClient()).json()
    second = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, format="json"
    )
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.json()["session_id"] == first["session_id"]
    assert (
        bearer(second.json()["access_token"]).get("/api/v1/auth/me").status_code == 200
    )


def test_a_reused_refresh_token_ends_the_whole_session_family(world):
    first = login(APIClient()).json()
    second = (
        APIClient()
        .post(
            "/api/v1/auth/refresh",
            {"refresh_token": first["refresh_token"]},
            format="json",
        )
        .json()
    )
    reused = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, format="json"
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh-reused"
    session = AuthSession.objects.get(pk=first["session_id"])
    assert session.ended_reason == AuthSession.Ended.REUSE
    # The legitimate holder's newer tokens die with it.
    assert bearer(second["access_token"]).get("/api/v1/auth/me").status_code == 401
    again = APIClient().post(
        "/api/v1/auth/refresh",
        {"refresh_token": second["refresh_token"]},
        format="json",
    )
    assert again.status_code == 401
    assert again.json()["code"] == "session-ended"


def test_a_forged_or_damaged_token_is_a_401_not_a_500(world):
    body = login(APIClient()).json()
    damaged = body["access_token"][:-4] + "abcd"
    answer = bearer(damaged).get("/api/v1/auth/me")
    assert answer.status_code == 401
    assert answer.json()["code"] == "token-invalid"
    refresh = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": "a.b.c"}, format="json"
    )
    assert refresh.status_code == 401
    assert refresh.json()["code"] == "token-invalid"


def test_an_expired_access_token_is_refused(world, clock):
    token = login(APIClient()).json()["access_token"]
    clock.advance(minutes=16)
    assert bearer(token).get("/api/v1/auth/me").status_code == 401


def test_logout_ends_the_session_at_once(world):
    body = login(APIClient()).json()
    client = bearer(body["access_token"])
    answer = client.post("/api/v1/auth/logout")
    assert answer.status_code == 200
    assert answer.json()["message"] == "Successfully logged out"
    assert client.get("/api/v1/auth/me").status_code == 401
    assert AuthSession.objects.get(pk=body["session_id"]).ended_reason == "logout"


def test_sessions_are_listed_with_their_device_and_terminated_one_by_one(world):
    phone = login(APIClient(), device_info={"device_type": "phone"}).json()
    laptop = login(APIClient()).json()
    client = bearer(laptop["access_token"])
    listed = client.get("/api/v1/auth/sessions").json()["data"]["sessions"]
    by_id = {row["session_id"]: row for row in listed}
    assert {phone["session_id"], laptop["session_id"]} <= set(by_id)
    assert by_id[laptop["session_id"]]["current"] is True
    assert by_id[phone["session_id"]]["device_info"]["device_type"] == "phone"
    ended = client.post(f"/api/v1/auth/sessions/{phone['session_id']}/terminate")
    assert ended.status_code == 200
    assert bearer(phone["access_token"]).get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 200


def test_a_browser_sign_in_is_listed_and_terminating_it_logs_the_browser_out(world):
    browser = api_client_for(world.owner)
    api = bearer(login(APIClient()).json()["access_token"])
    rows = api.get("/api/v1/auth/sessions").json()["data"]["sessions"]
    [row] = [r for r in rows if r["kind"] == "browser"]
    api.post(f"/api/v1/auth/sessions/{row['session_id']}/terminate")
    assert browser.get("/api/v1/auth/me").status_code in (401, 403)


def test_an_outsider_cannot_see_or_end_someone_elses_session(world):
    owner = login(APIClient()).json()
    outsider = bearer(login(APIClient(), "outsider@example.com").json()["access_token"])
    rows = outsider.get("/api/v1/auth/sessions").json()["data"]["sessions"]
    assert owner["session_id"] not in {r["session_id"] for r in rows}
    answer = outsider.post(f"/api/v1/auth/sessions/{owner['session_id']}/terminate")
    assert answer.status_code == 404
    assert bearer(owner["access_token"]).get("/api/v1/auth/me").status_code == 200


def test_a_password_change_ends_every_session_and_api_token(world):
    body = login(APIClient()).json()
    _, plain = token_issue(user=world.owner, name="script", scope="read", days=30)
    world.owner.set_password("a-new-long-passphrase-42")
    world.owner.save()
    assert bearer(body["access_token"]).get("/api/v1/auth/me").status_code == 401
    refresh = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": body["refresh_token"]}, format="json"
    )
    assert refresh.status_code == 401
    assert bearer(plain).get("/api/v1/auth/me").status_code == 401
    assert ApiToken.objects.get(user=world.owner).revoked_at is not None


def test_password_reset_answers_the_same_whether_or_not_the_email_exists(world):
    client = APIClient()
    known = client.post(
        "/api/v1/auth/password/reset", {"email": "owner@example.com"}, format="json"
    )
    unknown = client.post(
        "/api/v1/auth/password/reset", {"email": "nobody@example.com"}, format="json"
    )
    assert known.status_code == unknown.status_code == 200
    assert known.json()["message"] == unknown.json()["message"]


def test_password_reset_completes_with_the_emailed_token_and_ends_old_sessions(world):
    old = login(APIClient()).json()
    APIClient().post(
        "/api/v1/auth/password/reset", {"email": "owner@example.com"}, format="json"
    )
    [message] = [m for m in mail.outbox if "owner@example.com" in m.to]
    token = re.search(r"/password/reset/key/([^/\s]+)/", message.body).group(1)
    weak = APIClient().post(
        "/api/v1/auth/password/reset/complete",
        {"token": token, "new_password": "123"},
        format="json",
    )
    assert weak.status_code == 400
    assert "new_password" in weak.json()["errors"]
    done = APIClient().post(
        "/api/v1/auth/password/reset/complete",
        {"token": token, "new_password": "a-new-long-passphrase-42"},
        format="json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["message"] == "Password reset successful"
    assert bearer(old["access_token"]).get("/api/v1/auth/me").status_code == 401
    spent = APIClient().post(
        "/api/v1/auth/password/reset/complete",
        {"token": token, "new_password": "another-long-passphrase-43"},
        format="json",
    )
    assert spent.status_code == 400
    assert spent.json()["code"] == "reset-token-invalid"
    relogin = APIClient().post(
        "/api/v1/auth/login",
        {"username": "owner@example.com", "password": "a-new-long-passphrase-42"},
        format="json",
    )
    assert relogin.status_code == 200, relogin.content


def test_permissions_answer_in_seed_004s_envelope(world):
    client = bearer(login(APIClient(), "viewer@example.com").json()["access_token"])
    body = client.get("/api/v1/auth/permissions").json()
    assert body["success"] is True
    assert body["data"]["role"] == "viewer"
    assert body["data"]["permissions"] == ["view"]


def test_seed_002_signup_login_and_logout(world, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    client = APIClient()
    body = {"email": "new@example.com", "password": "a-long-passphrase-42"}
    created = client.post("/auth/signup", body, format="json")
    assert created.status_code == 201, created.content
    again = client.post("/auth/signup", body, format="json")
    # The same answer for an address that has an account (no enumeration);
    # its owner is mailed instead.
    assert again.status_code == 201
    assert again.json()["message"] == created.json()["message"]
    assert [m.to for m in mail.outbox] == [["new@example.com"], ["new@example.com"]]
    login_body = {"email": "new@example.com", "password": "a-long-passphrase-42"}
    unconfirmed = client.post("/auth/login", login_body, format="json")
    assert unconfirmed.status_code == 403
    assert unconfirmed.json()["code"] == "email-unverified"
    EmailAddress.objects.filter(email="new@example.com").update(verified=True)
    tokens = client.post("/auth/login", login_body, format="json").json()
    assert tokens["user_context"]["role"] == "admin"  # their own new workspace
    out = bearer(tokens["access_token"]).post("/auth/logout")
    assert out.status_code == 200
    assert bearer(tokens["access_token"]).get("/api/v1/auth/me").status_code == 401


def test_seed_002_signup_refuses_a_weak_password_with_the_field_named(db):
    answer = APIClient().post(
        "/auth/signup", {"email": "new@example.com", "password": "123"}, format="json"
    )
    assert answer.status_code == 400
    assert "password" in answer.json()["errors"]


def test_the_page_addresses_still_open_the_pages(db):
    assert APIClient().get("/auth/login").status_code == 302
    assert APIClient().get("/auth/login/").status_code == 200


def test_the_devices_page_lists_sessions_and_ends_one(world):
    api = login(APIClient(), device_info={"device_type": "phone"}).json()
    page = client_for(world.owner)
    listed = page.get("/sessions/")
    assert listed.status_code == 200
    assert b"phone" in listed.content
    ended = page.post(f"/sessions/{api['session_id']}/end/")
    assert ended.status_code == 302
    assert bearer(api["access_token"]).get("/api/v1/auth/me").status_code == 401


def test_an_outsider_cannot_end_a_session_from_the_devices_page(world):
    api = login(APIClient()).json()
    answer = client_for(world.outsider).post(f"/sessions/{api['session_id']}/end/")
    assert answer.status_code == 404
    assert bearer(api["access_token"]).get("/api/v1/auth/me").status_code == 200


def test_a_login_with_two_factor_on_asks_for_the_code_then_gives_tokens(world, clock):
    secret = totp_give(world.owner)
    first = login(APIClient())
    assert first.status_code == 401
    assert first.json()["code"] == "mfa-required"
    step = {"mfa_token": first.json()["mfa_token"]}
    wrong = APIClient().post(
        "/api/v1/auth/login/mfa", {**step, "code": "000000"}, format="json"
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "mfa-invalid"
    right = APIClient().post(
        "/api/v1/auth/login/mfa", {**step, "code": totp_code(secret)}, format="json"
    )
    assert right.status_code == 200, right.content
    session = AuthSession.objects.get(pk=right.json()["session_id"])
    assert session.device_type == "server"  # the first step's device_info


def test_the_code_may_come_with_the_password_and_is_not_accepted_twice(world, clock):
    secret = totp_give(world.owner)
    code = totp_code(secret)
    assert login(APIClient(), mfa_code=code).status_code == 200
    replay = login(APIClient(), mfa_code=code)
    assert replay.status_code == 401
    assert replay.json()["code"] == "mfa-invalid"


def test_a_recovery_code_signs_in_once(world, clock):
    totp_give(world.owner)
    code = recovery_codes(world.owner)[0]
    assert login(APIClient(), mfa_code=code).status_code == 200
    assert login(APIClient(), mfa_code=code).status_code == 401


def test_staff_without_a_second_factor_cannot_log_in_through_the_api(world):
    world.owner.is_staff = True
    world.owner.save()
    answer = login(APIClient())
    assert answer.status_code == 403
    assert answer.json()["code"] == "mfa-setup-required"


def test_an_expired_mfa_step_starts_again(world, clock):
    totp_give(world.owner)
    token = login(APIClient()).json()["mfa_token"]
    clock.advance(minutes=6)
    answer = APIClient().post(
        "/api/v1/auth/login/mfa", {"mfa_token": token, "code": "123456"}, format="json"
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "mfa-token-invalid"


def test_wrong_codes_are_limited_even_with_the_right_password(world, clock):
    totp_give(world.owner)
    codes = [login(APIClient(), mfa_code="000000").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_http_basic_cannot_open_an_account_with_a_second_factor(world, clock):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"owner@example.com:{PASSWORD}".encode()).decode()
    )
    assert client.get("/api/v1/auth/me").status_code == 200
    totp_give(world.owner)
    refused = client.get("/api/v1/auth/me")
    assert refused.status_code == 401
    assert refused.json()["code"] == "mfa-required"


def test_sign_in_limits_count_the_client_behind_a_trusted_proxy(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    def attempt(email: str, password: str, client_address: str) -> int:
        body = {"username": email, "password": password}
        answer = APIClient().post(
            "/api/v1/auth/login",
            body,
            format="json",
            HTTP_X_FORWARDED_FOR=client_address,
        )
        return answer.status_code

    # Ten wrong passwords from one client, each for another address (so only
    # the per-address limit counts) ...
    for n in range(10):
        assert attempt(f"nobody{n}@example.com", "wrong", "203.0.113.7") == 401
    assert attempt("owner@example.com", PASSWORD, "203.0.113.7") == 429
    # ... do not lock out another client behind the same proxy.
    assert attempt("owner@example.com", PASSWORD, "198.51.100.2") == 200
