"""Two-factor sign-in on allauth's MFA (README, "Two-factor sign-in"): an
authenticator app (TOTP), security keys and passkeys (WebAuthn) and recovery
codes, offered to everyone and required of staff.

    mfa_enabled(user)                  # has an authenticator app or a key
    mfa_required(user)                 # the JWT login asks for a second factor
    mfa_verify(user=user, code="123456")   # a TOTP or recovery code, used once

`staff_second_factor` (MIDDLEWARE) keeps staff pages closed to a staff session
that has not passed a second factor, and sends a staff member without one to set
up an authenticator app first.
"""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from accounts.models import User
from common.middleware import Handler

# The authenticators that are a second factor; recovery codes only stand in
# for one that is lost.
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
# Tried in this order by `mfa_verify`: a code from the app is the usual answer.
CODE_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)

SETUP_NEEDED = (
    "Staff pages need two-factor authentication. Set up an authenticator app "
    "to open the admin."
)
CONFIRM_NEEDED = (
    "Staff pages need a second factor in every session. Confirm it is you to "
    "open the admin."
)


class MfaAdapter(DefaultMFAAdapter):
    """allauth's, with TOTP secrets and recovery-code seeds encrypted at rest
    under FIELD_ENCRYPTION_KEYS, as broker credentials are (allauth stores them
    in the clear by default)."""

    def encrypt(self, text: str) -> str:
        return _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return _fernet().decrypt(encrypted_text.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "A stored MFA secret cannot be decrypted with FIELD_ENCRYPTION_KEYS."
            ) from None


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def mfa_enabled(user: User) -> bool:
    """The user has an authenticator app or a security key."""
    return Authenticator.objects.filter(
        user_id=user.pk, type__in=SECOND_FACTORS
    ).exists()


def mfa_required(user: User) -> bool:
    """A login of `user` must give a second factor: they set one up, or they are
    staff (who cannot log in through the API until they have one)."""
    return user.is_staff or mfa_enabled(user)


def mfa_verify(*, user: User, code: str) -> bool:
    """True if `code` is the user's current authenticator-app code or one of
    their unused recovery codes, checked by allauth itself.

    Side effects: a recovery code is used up (row-locked, so two requests cannot
    both spend it); an app code is remembered in the cache for its 30 s window,
    so the same code is refused the second time; the authenticator's
    `last_used_at` is set. Security keys need a browser and are not codes.
    Wrong codes are not counted here: the caller limits attempts (allauth's
    pages allow 5 per 5 minutes per user, ACCOUNT_RATE_LIMITS' login_failed)."""
    if not code.strip():
        return False
    authenticators = Authenticator.objects.filter(user_id=user.pk, type__in=CODE_TYPES)
    ordered = sorted(authenticators, key=lambda a: CODE_TYPES.index(a.type))
    for authenticator in ordered:
        if authenticator.wrap().validate_code(code):
            authenticator.record_usage()
            return True
    return False


def session_passed_mfa(request: HttpRequest, user: User) -> bool:
    """This browser session gave a second factor: at login, on allauth's confirm
    page, or by setting one up (allauth keeps the record in the session)."""
    records = get_authentication_records(request, user)
    return any(record.get("method") == "mfa" for record in records)


@receiver(authenticator_added)
def record_setup_as_second_factor(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Setting up an app or a key proves the session holds it (a code from the
    app, the key's signature), right after the password was asked again: the
    session has given both factors, so staff go on without another prompt."""
    authenticator: Authenticator = kwargs["authenticator"]
    if request is None or authenticator.type not in SECOND_FACTORS:
        return
    if getattr(request, "user", None) == user and hasattr(request, "session"):
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type
        )


def _staff_gate(request: HttpRequest) -> HttpResponseBase | None:
    admin_root = reverse("admin:index")
    if not request.path.startswith(admin_root):
        return None
    user = request.user
    if not user.is_authenticated:
        if request.path == reverse("admin:login"):
            # Django's admin form checks the password only: allauth's login
            # form asks for the second factor too.
            next_url = request.GET.get("next") or admin_root
            return redirect_to_login(next_url, reverse("account_login"))
        return None
    if not user.is_staff or request.path == reverse("admin:logout"):
        return None
    assert isinstance(user, User)  # AUTH_USER_MODEL, for mypy
    if not mfa_enabled(user):
        messages.warning(request, SETUP_NEEDED)
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
    if not session_passed_mfa(request, user):
        messages.info(request, CONFIRM_NEEDED)
        return redirect_to_login(request.get_full_path(), _confirm_url(user))
    return None


def _confirm_url(user: User) -> str:
    """allauth's confirm page for the factor the user has: a code, or a key."""
    codes = Authenticator.objects.filter(user_id=user.pk, type__in=CODE_TYPES)
    return reverse(
        "mfa_reauthenticate" if codes.exists() else "mfa_reauthenticate_webauthn"
    )


def staff_second_factor(get_response: Handler) -> Handler:
    """After the auth and message middleware: a staff member's session reaches
    the admin only once it has passed a second factor."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        refusal = _staff_gate(request)
        if refusal is not None:
            return refusal
        response: HttpResponseBase = get_response(request)
        return response

    return middleware
