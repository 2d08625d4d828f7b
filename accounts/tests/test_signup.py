"""Signup and sessions as an auditor checks them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from testkit import client_for

NEW = "Correct-Horse-42"


def _sign_up(email: str, password: str = NEW):
    return Client().post(
        "/auth/signup/", {"email": email, "password1": password, "password2": password}
    )


def test_signup_answers_the_same_whether_or_not_the_email_is_registered(db, settings):
    assert settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory"  # production's default
    User.objects.create_user(email="taken@example.com", password=NEW)
    fresh, taken = _sign_up("fresh@example.com"), _sign_up("taken@example.com")
    assert (fresh.status_code, fresh["Location"]) == (
        taken.status_code,
        taken["Location"],
    )
    assert User.objects.filter(email="taken@example.com").count() == 1
    # The owner of the taken address hears of it; the stranger learns nothing.
    (owner_mail,) = [m for m in mail.outbox if m.to == ["taken@example.com"]]
    assert "already" in owner_mail.body.lower()


def test_passwords_are_at_least_twelve_characters(db):
    response = _sign_up("short@example.com", "Xk9-plenty")  # ten
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert not User.objects.filter(email="short@example.com").exists()


@pytest.mark.usefixtures("clock")
def test_a_session_left_idle_is_logged_out(world, clock, settings):
    settings.SESSION_IDLE_SECONDS = 3600
    client = client_for(world.owner)
    assert client.get("/").status_code == 200
    clock.advance(minutes=50)
    assert client.get("/").status_code == 200  # in use: the idle clock restarts
    clock.advance(minutes=50)
    assert client.get("/").status_code == 200
    clock.advance(minutes=61)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/")


def test_pages_carry_a_content_security_policy_with_no_inline_script(world):
    response = client_for(world.owner).get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
