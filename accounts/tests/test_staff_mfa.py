"""Staff need a second factor: a staff session that has not passed one opens no
admin page; a staff member without an authenticator is sent to set one up, and
gets in once it is; Django's own admin login form (password only) is not a way
round it."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.mfa import CONFIRM_NEEDED, SETUP_NEEDED
from accounts.models import User
from testkit import client_for
from testkit.factories import PASSWORD, UserFactory
from testkit.mfa import mfa_client_for, recovery_codes, totp_code, totp_give

pytestmark = pytest.mark.usefixtures("clock")
SETUP = "/auth/2fa/totp/activate/"


@pytest.fixture
def staff(db) -> User:
    user = User.objects.create_superuser(email="staff@example.com", password=PASSWORD)
    EmailAddress.objects.create(
        user=user, email=user.email, primary=True, verified=True
    )
    return user


def admin_pages(staff: User) -> list[str]:
    """Every page of the admin: its index, each app's, each model's list and
    add form (where its admin lets anyone add), the password change."""
    request = RequestFactory().get("/admin/")
    request.user = staff
    models = list(admin.site._registry.items())
    apps = {model._meta.app_label for model, _ in models}
    name = "admin:{0.app_label}_{0.model_name}_{1}"
    return [
        reverse("admin:index"),
        reverse("admin:password_change"),
        *(reverse("admin:app_list", args=[app]) for app in sorted(apps)),
        *(reverse(name.format(model._meta, "changelist")) for model, _ in models),
        *(
            reverse(name.format(model._meta, "add"))
            for model, model_admin in models
            if model_admin.has_add_permission(request)
        ),
    ]


def test_a_staff_session_without_a_second_factor_opens_no_admin_page(staff):
    client = client_for(staff)
    pages = [*admin_pages(staff), "/admin/no-such-page/"]
    assert len(pages) > 20
    for url in pages:
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, SETUP), url
    user_list = reverse("admin:accounts_user_changelist")
    posted = client.post(
        user_list, {"action": "delete_selected", "_selected_action": [staff.pk]}
    )
    assert posted["Location"] == SETUP
    assert User.objects.filter(pk=staff.pk).exists()


def test_the_set_up_page_says_why_staff_were_sent_there(staff):
    client = client_for(staff)
    response = client.get("/admin/")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [SETUP_NEEDED]


def test_a_staff_session_that_passed_a_second_factor_opens_every_admin_page(staff):
    client = mfa_client_for(staff)
    for url in admin_pages(staff):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/no-such-page/").status_code == 404


def test_staff_with_an_app_whose_session_did_not_pass_it_confirm_with_a_code(staff):
    secret = totp_give(staff)
    client = client_for(staff)  # a session that never gave the code
    asked = client.get("/admin/accounts/user/?q=staff")
    assert asked["Location"] == (
        "/auth/2fa/reauthenticate/?next=/admin/accounts/user/%3Fq%3Dstaff"
    )
    assert [str(m) for m in get_messages(asked.wsgi_request)] == [CONFIRM_NEEDED]
    confirmed = client.post(
        "/auth/2fa/reauthenticate/",
        {"code": totp_code(secret), "next": "/admin/accounts/user/?q=staff"},
    )
    assert confirmed["Location"] == "/admin/accounts/user/?q=staff"
    assert client.get("/admin/accounts/user/?q=staff").status_code == 200


def test_staff_logging_in_with_an_app_are_asked_for_its_code_and_then_get_in(staff):
    secret = totp_give(staff)
    client = Client()
    login = client.post(
        "/auth/login/?next=/admin/",
        {"login": staff.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert login["Location"] == "/auth/2fa/authenticate/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    done = client.post("/auth/2fa/authenticate/", {"code": totp_code(secret)})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_lets_staff_in_too(staff):
    totp_give(staff)
    client = Client()
    client.post("/auth/login/", {"login": staff.email, "password": PASSWORD})
    client.post("/auth/2fa/authenticate/", {"code": recovery_codes(staff)[0]})
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_form_is_not_a_way_round_the_second_factor(staff):
    totp_give(staff)
    client = Client()
    page = client.get("/admin/login/?next=/admin/accounts/user/")
    assert page["Location"] == "/auth/login/?next=/admin/accounts/user/"
    posted = client.post(
        "/admin/login/", {"username": staff.email, "password": PASSWORD}
    )
    assert posted["Location"] == "/auth/login/?next=/admin/"
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"


def test_people_who_are_not_staff_see_djangos_refusal_and_no_loop(db):
    trader = UserFactory.create(email="trader@example.com")
    client = client_for(trader)
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    refusal = client.get("/admin/login/?next=/admin/")
    assert refusal.status_code == 200
    assert "not authorized to access this page" in refusal.content.decode()
    assert client.get("/").status_code == 200


def test_staff_pages_outside_the_admin_are_untouched(staff):
    client = client_for(staff)
    assert client.get("/").status_code == 200
    assert client.get("/auth/2fa/").status_code == 200
    assert client.post("/admin/logout/").status_code == 200  # Django's page
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)
def test_staff_sent_to_set_up_an_app_get_into_the_admin_once_it_is_set_up(clock):
    user = User.objects.create_superuser(email="new@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True)
    client = Client()
    client.post("/auth/login/", {"login": "new@example.com", "password": PASSWORD})
    assert client.get("/admin/")["Location"] == SETUP
    client.post("/auth/reauthenticate/", {"password": PASSWORD, "next": SETUP})
    page = client.get(SETUP)
    assert SETUP_NEEDED in page.content.decode()  # the message, on the page
    secret = page.context["form"].secret
    activated = client.post(SETUP, {"code": totp_code(secret)})
    assert activated["Location"] == "/auth/2fa/recovery-codes/"
    codes = client.get("/auth/2fa/recovery-codes/").content.decode()
    assert 'href="/admin/">Continue to the admin</a>' in codes
    assert client.get("/admin/").status_code == 200  # no second prompt
