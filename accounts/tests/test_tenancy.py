"""Workspaces, roles and the tenant boundary at every door."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

from accounts.models import Membership, Role, User, Workspace
from accounts.permissions import Perm, role_has
from brokers.models import BrokerAccount
from testkit import client_for
from testkit.mfa import mfa_client_for
from webhooks.models import ApiKey


def test_signing_up_creates_a_workspace_with_the_user_as_admin(db):
    response = Client().post(
        "/auth/signup/",
        {
            "email": "new@example.com",
            "password1": "Correct-Horse-42",
            "password2": "Correct-Horse-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.ADMIN
    assert membership.workspace.billing.status == "trialing"


def test_users_log_in_with_their_email_not_a_username(db):
    User.objects.create_user(email="Mixed@Example.com", password="Correct-Horse-42")
    response = Client().post(
        "/auth/login/", {"login": "mixed@example.com", "password": "Correct-Horse-42"}
    )
    assert response.status_code == 302
    assert not hasattr(User, "username") or User.username is None


@pytest.mark.parametrize(
    ("role", "trades", "sees_secrets", "exports"),
    [
        (Role.ADMIN, True, True, True),
        (Role.EXPORTER, False, False, True),
        (Role.VIEWER, False, False, False),
    ],
)
def test_each_role_has_the_permissions_it_implies(role, trades, sees_secrets, exports):
    assert role_has(role, Perm.TRADE) is trades
    assert role_has(role, Perm.MANAGE_KEYS) is sees_secrets
    assert role_has(role, Perm.EXPORT) is exports
    assert role_has(role, Perm.VIEW)


def test_the_dashboard_shows_only_the_users_own_workspace(world):
    owner_page = client_for(world.owner).get("/").content.decode()
    outsider_page = client_for(world.outsider).get("/").content.decode()
    assert "Paper 50K" in owner_page
    assert "Paper 50K" not in outsider_page


def test_a_viewer_sees_the_dashboard_but_cannot_open_accounts_or_issue_keys(world):
    viewer = client_for(world.viewer)
    assert "Paper 50K" in viewer.get("/").content.decode()
    assert (
        viewer.post(
            "/accounts/new/",
            {"name": "x", "initial_balance": "1000", "currency": "USD"},
        ).status_code
        == 404
    )
    # A member sees the account: refused (403), not hidden.
    assert viewer.post(f"/accounts/{world.account.pk}/keys/new/").status_code == 403
    assert BrokerAccount.objects.count() == 1 and ApiKey.objects.count() == 1


def test_an_outsider_gets_404_on_another_workspaces_account(world):
    response = client_for(world.outsider).post(
        f"/accounts/{world.account.pk}/keys/new/"
    )
    assert response.status_code == 404
    assert ApiKey.objects.count() == 1


def test_the_api_lists_only_the_users_accounts_and_positions(world):
    assert [
        a["name"] for a in client_for(world.owner).get("/api/user/brokers").json()
    ] == ["Paper 50K"]
    assert client_for(world.outsider).get("/api/user/brokers").json() == []
    assert client_for(world.outsider).get("/api/positions").json() == []


def test_the_api_never_returns_credentials(world):
    BrokerAccount.objects.filter(pk=world.account.pk).update(credentials="")
    account = BrokerAccount.objects.get()
    account.credentials = "user:secret-password"
    account.save()
    body = client_for(world.owner).get("/api/user/brokers").content.decode()
    assert "secret-password" not in body and "credentials" not in body


def test_the_api_requires_a_user_and_answers_in_the_error_shape(db):
    response = Client().get("/api/user/brokers")
    assert response.status_code == 401  # with a challenge scripts can answer
    assert response["WWW-Authenticate"].startswith("Basic")
    body = response.json()
    assert body["success"] is False and body["code"] == "not-authenticated"
    assert body["detail"]


def test_an_unknown_api_address_is_json_in_the_error_shape(db, settings):
    settings.DEBUG = False
    response = Client().get("/api/no/such/route")
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"
    assert "text/html" in Client().get("/no/such/page/")["Content-Type"]


def test_wrong_passwords_are_limited_per_account_with_a_time_to_retry(world, settings):
    import base64

    settings.API_BASIC_AUTH_FAILURES_PER_MINUTE = 3

    def basic(password: str, address: str):
        token = base64.b64encode(f"owner@example.com:{password}".encode()).decode()
        return Client().get(
            "/api/user/brokers",
            HTTP_AUTHORIZATION=f"Basic {token}",
            REMOTE_ADDR=address,
        )

    # From three addresses: the account's own limit stops the guessing.
    assert [basic("wrong", f"10.0.0.{n}").status_code for n in range(3)] == [401] * 3
    limited = basic("a-Strong-pass-4242", "10.0.0.9")
    assert limited.status_code == 401 and int(limited["Retry-After"]) > 0
    assert "for this account" in limited.json()["detail"]


def test_registration_returns_the_webhook_key_once(world):
    response = client_for(world.owner).post(
        "/register/paper",
        {"name": "Eval", "initial_balance": "100000"},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["broker"] == "paper" and body["api_key"].startswith("tfk_")
    assert float(body["balance"]) == 100000
    assert not ApiKey.objects.filter(key_hash=body["api_key"]).exists()


def test_registration_rejects_a_bad_balance_with_field_errors(world):
    response = client_for(world.owner).post(
        "/register/paper", {"initial_balance": "-5"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "initial_balance" in response.json()["errors"]


def test_a_viewer_cannot_register_accounts_through_the_api(world):
    response = client_for(world.viewer).post(
        "/api/unify/v1/register/paper", {}, content_type="application/json"
    )
    assert response.status_code == 403


def test_the_signal_log_api_is_scoped(world):
    Client().post(
        "/api/unify/v1/webhook/paper",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert client_for(world.owner).get("/api/logs/webhooks").json()["count"] == 1
    assert client_for(world.outsider).get("/api/logs/webhooks").json()["count"] == 0


def test_every_model_is_in_the_admin_and_its_pages_open_for_staff(world):
    staff = User.objects.create_superuser(
        email="staff@example.com", password="Correct-Horse-42"
    )
    client = mfa_client_for(staff)  # staff pages need a second factor
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label
        in {"accounts", "brokers", "paperbroker", "risk", "billing", "webhooks"}
    ]
    assert ours and all(admin.site.is_registered(model) for model in ours)
    for model in ours:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url


def test_a_workspace_only_belongs_to_its_members(world):
    assert set(Workspace.objects.filter(memberships__user=world.outsider)) == {
        world.other_workspace
    }


def test_an_owner_lists_and_revokes_keys_and_a_revoked_key_stops_working(world):
    owner = client_for(world.owner)
    page = owner.get(f"/accounts/{world.account.pk}/keys/")
    assert page.status_code == 200 and world.api_key[:12] in page.content.decode()
    assert world.api_key not in page.content.decode()
    key = ApiKey.objects.get()
    assert (
        owner.post(f"/accounts/{world.account.pk}/keys/{key.pk}/revoke/").status_code
        == 302
    )
    response = Client().post(
        "/api/unify/v1/webhook/paper",
        data='{"action":"buy","symbol":"ES","qty":1}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert response.json()["code"] == "invalid-key"


def test_outsiders_and_viewers_cannot_see_or_revoke_keys(world):
    key = ApiKey.objects.get()
    # An outsider is not told the account exists (404); a viewer is refused (403).
    for user, status in ((world.outsider, 404), (world.viewer, 403)):
        client = client_for(user)
        assert client.get(f"/accounts/{world.account.pk}/keys/").status_code == status
        assert (
            client.post(
                f"/accounts/{world.account.pk}/keys/{key.pk}/revoke/"
            ).status_code
            == status
        )
    assert ApiKey.objects.get().revoked_at is None


def test_a_user_without_a_workspace_gets_one_on_the_dashboard(db):
    staff = User.objects.create_superuser(
        email="root@example.com", password="Correct-Horse-42"
    )
    assert client_for(staff).get("/").status_code == 200
    assert Membership.objects.filter(user=staff, role=Role.ADMIN).exists()


def test_api_clients_can_use_basic_auth_and_wrong_passwords_are_limited(
    world, settings
):
    import base64

    settings.API_BASIC_AUTH_FAILURES_PER_MINUTE = 3

    def basic(password: str) -> str:
        raw = f"owner@example.com:{password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    ok = Client().get(
        "/api/user/brokers", HTTP_AUTHORIZATION=basic("a-Strong-pass-4242")
    )
    assert ok.status_code == 200 and ok.json()[0]["name"] == "Paper 50K"
    wrong = [
        Client().get("/api/user/brokers", HTTP_AUTHORIZATION=basic("guess"))
        for _ in range(4)
    ]
    # 401 with the Basic challenge a script answers; the fourth says when to retry.
    assert [r.status_code for r in wrong] == [401, 401, 401, 401]
    assert all(r["WWW-Authenticate"].startswith("Basic") for r in wrong)
    assert "Retry-After" not in wrong[2] and int(wrong[3]["Retry-After"]) > 0
    # Even the right password waits once the address is over the limit.
    assert (
        Client()
        .get("/api/user/brokers", HTTP_AUTHORIZATION=basic("a-Strong-pass-4242"))
        .status_code
        == 401
    )
