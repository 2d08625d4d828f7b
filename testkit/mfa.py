"""Two-factor sign-in for tests: an authenticator app given to a user, the code it
would show now (allauth's own arithmetic, on whatever clock the test runs), and a
browser session that has passed it, recorded the way allauth's login does.

    secret = totp_give(user)
    client.post("/auth/2fa/authenticate/", {"code": totp_code(secret)})
    staff = mfa_client_for(staff_user)     # opens /admin/
"""

from __future__ import annotations

import time

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client, RequestFactory

from accounts.models import User
from testkit.clients import client_for


def totp_code(secret: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for `secret` now (or that many 30 s
    steps later)."""
    counter = int(time.time()) // app_settings.TOTP_PERIOD + steps_ahead
    return format_hotp_value(hotp_value(secret, counter))


def totp_give(user: User) -> str:
    """Set up an authenticator app (and recovery codes) for `user`, as the
    set-up page would; returns the app's secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_codes(user: User) -> list[str]:
    authenticator = Authenticator.objects.get(
        user=user, type=Authenticator.Type.RECOVERY_CODES
    )
    codes: list[str] = authenticator.wrap().get_unused_codes()
    return codes


def mfa_client_for(user: User) -> Client:
    """A browser session of `user` that passed a second factor (an authenticator
    app is set up for them first if they have none): what staff need to open
    the admin."""
    authenticator = Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).first()
    if authenticator is None:
        totp_give(user)
        authenticator = Authenticator.objects.get(
            user=user, type=Authenticator.Type.TOTP
        )
    client = client_for(user)
    request = RequestFactory().get("/")
    request.session = client.session
    request.user = user
    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=authenticator.type
    )
    request.session.save()
    return client
