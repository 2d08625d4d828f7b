"""API-side tenant scope, and seed 004's sign-in routes (`/api/v1/auth/...`)
with seed 002's `/auth/signup|login|logout` on the same services."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account import signals as allauth_signals
from allauth.account.adapter import get_adapter
from allauth.account.forms import ResetPasswordForm, SignupForm, UserTokenForm
from allauth.account.internal.flows import password_reset
from allauth.account.internal.flows.email_verification import (
    send_verification_email_for_user,
)
from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from allauth.core.internal import ratelimit as internal_ratelimit
from django.contrib.auth import logout as browser_logout
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth_sessions import (
    AuthRefused,
    Device,
    Tokens,
    session_end,
    session_open,
    session_refresh,
    sessions_active,
    user_context,
)
from accounts.models import AuthSession, User
from accounts.permissions import Perm
from accounts.scoping import WorkspaceScopedQuerySet
from common.api import ERROR, Refused, envelope, error_body, error_fields

log = logging.getLogger(__name__)


class WorkspaceScopedMixin(GenericAPIView[Any]):
    """`get_queryset()` narrowed to the workspaces where the user may `perm`."""

    perm: Perm = Perm.VIEW

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        assert isinstance(queryset, WorkspaceScopedQuerySet)
        return queryset.for_user(self.request.user, self.perm)


# --- Shapes ---------------------------------------------------------------------------

USER_CONTEXT = inline_serializer(
    "UserContext",
    {
        "user_id": serializers.CharField(),
        "username": serializers.CharField(),
        "role": serializers.ChoiceField(["admin", "exporter", "viewer", ""]),
        "permissions": serializers.ListField(child=serializers.CharField()),
        "is_staff": serializers.BooleanField(),
        "workspaces": serializers.ListField(
            child=inline_serializer(
                "UserWorkspace",
                {
                    "id": serializers.CharField(),
                    "name": serializers.CharField(),
                    "role": serializers.CharField(),
                },
            )
        ),
    },
)
TOKENS = inline_serializer(
    "TokenPair",
    {
        "access_token": serializers.CharField(),
        "refresh_token": serializers.CharField(),
        "token_type": serializers.ChoiceField(["bearer"]),
        "expires_in": serializers.IntegerField(help_text="Seconds the access lasts."),
        "session_id": serializers.CharField(),
        "user_context": USER_CONTEXT,
    },
)
MFA_NEEDED = inline_serializer(
    "MfaRequired",
    {
        **error_fields(),
        "mfa_token": serializers.CharField(
            required=False,
            help_text="With code mfa-required: send it with the code to "
            "/api/v1/auth/login/mfa within 5 min.",
        ),
    },
)
DONE = envelope("AuthDone", timestamp=serializers.DateTimeField())
SESSION = inline_serializer(
    "AuthSessionRow",
    {
        "session_id": serializers.CharField(),
        "kind": serializers.ChoiceField(AuthSession.Kind.values),
        "current": serializers.BooleanField(),
        "created_at": serializers.DateTimeField(),
        "last_used_at": serializers.DateTimeField(),
        "expires_at": serializers.DateTimeField(),
        "device_info": inline_serializer(
            "DeviceInfoOut",
            {
                "ip_address": serializers.CharField(allow_null=True),
                "claimed_ip_address": serializers.CharField(),
                "user_agent": serializers.CharField(),
                "device_type": serializers.CharField(),
            },
        ),
    },
)


class DeviceInfo(serializers.Serializer[dict[str, Any]]):
    ip_address = serializers.CharField(max_length=45, required=False, allow_blank=True)
    user_agent = serializers.CharField(max_length=300, required=False, allow_blank=True)
    device_type = serializers.CharField(max_length=40, required=False, allow_blank=True)


class LoginInput(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField(
        max_length=254, required=False, help_text="The email address."
    )
    email = serializers.EmailField(max_length=254, required=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    device_info = DeviceInfo(required=False)
    mfa_code = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The second factor, if the account has one (or use login/mfa).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        login = attrs.get("username") or attrs.get("email")
        if not login:
            raise ValidationError({"username": ["Send the email address."]})
        attrs["login"] = str(login).strip().lower()
        return attrs


def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or an empty one for anything else (a list, a
    string, null): the fields' own checks then say what is missing."""
    return request.data if isinstance(request.data, dict) else {}


def _now() -> str:
    return timezone.now().isoformat()


def _done(message: str, http_status: int = 200) -> Response:
    return Response(
        {"success": True, "message": message, "data": {"timestamp": _now()}},
        status=http_status,
    )


def _token_body(tokens: Tokens) -> dict[str, Any]:
    return {
        "access_token": tokens.access,
        "refresh_token": tokens.refresh,
        "token_type": "bearer",
        "expires_in": tokens.expires_in,
        "session_id": tokens.session.id,
        "user_context": user_context(tokens.session.user),
    }


def _device(data: dict[str, Any]) -> Device:
    info = data.get("device_info") or {}
    return Device(
        ip_address=info.get("ip_address", ""),
        user_agent=info.get("user_agent", ""),
        device_type=info.get("device_type", ""),
    )


MFA_SALT = "tradeflow.jwt.mfa"


def _sign_in(request: Request, login: str, password: str) -> User:
    """The user whose password this is, through allauth's adapter: the same
    per-address and per-account failure limits as the sign-in page, so neither
    door is a faster way to guess."""
    adapter = get_adapter(request._request)
    try:
        user = adapter.authenticate(request._request, email=login, password=password)
    except DjangoValidationError:
        raise Refused(
            "too-many-attempts",
            "Too many failed sign-ins for this account or from this address: "
            "wait a few minutes.",
            status.HTTP_429_TOO_MANY_REQUESTS,
        ) from None
    if not isinstance(user, User) or not user.is_active:
        raise Refused(
            "invalid-credentials",
            "That email address and password do not match.",
            status.HTTP_401_UNAUTHORIZED,
        )
    # As the sign-in page: an address signed up with and never confirmed keeps
    # the door shut. (Users made by staff have no address row: they pass.)
    mandatory = allauth_settings.EMAIL_VERIFICATION == "mandatory"
    addresses = EmailAddress.objects.filter(user=user)
    if mandatory and addresses.exists() and not addresses.filter(verified=True):
        raise Refused(
            "email-unverified",
            "Confirm your email address first: follow the link we sent you.",
            status.HTTP_403_FORBIDDEN,
        )
    return user


def _second_factor_ok(user: User, code: str) -> bool:
    from accounts.mfa import mfa_verify

    return bool(code) and mfa_verify(user=user, code=code)


def _mfa_needed(user: User, device: Device) -> Response:
    token = signing.dumps(
        {"u": user.pk, "d": [device.ip_address, device.user_agent, device.device_type]},
        salt=MFA_SALT,
    )
    body = error_body(
        "mfa-required",
        "This account has two-factor sign-in: send the code from your "
        "authenticator app (or a recovery code).",
    )
    return Response({**body, "mfa_token": token}, status=status.HTTP_401_UNAUTHORIZED)


class Login(APIView):
    """`POST /api/v1/auth/login` (seed 004) and `POST /auth/login` (seed 002)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=LoginInput,
        responses={
            200: TOKENS,
            400: ERROR,
            401: OpenApiResponse(
                MFA_NEEDED, description="Wrong password, or the second factor is due."
            ),
            403: ERROR,
            429: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data = LoginInput(data=_body(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = _sign_in(request, values["login"], values["password"])
        device = _device(values)
        from accounts.mfa import mfa_enabled, mfa_required

        if mfa_required(user):
            if not mfa_enabled(user):
                raise Refused(
                    "mfa-setup-required",
                    "Staff sign in with a second factor: set one up on the "
                    "Security page first.",
                    status.HTTP_403_FORBIDDEN,
                )
            code = values.get("mfa_code", "")
            if not code:
                return _mfa_needed(user, device)
            _second_factor(request, user, code)
        tokens = session_open(user=user, request=request._request, device=device)
        return Response(_token_body(tokens))

    @extend_schema(exclude=True)  # a person's browser: the page, not the API
    def get(self, request: Request) -> Any:
        # A person who typed the address: the sign-in page.
        return redirect("account_login")


def _second_factor(request: Request, user: User, code: str) -> None:
    """Check a second-factor code, counting a wrong one against the account
    (allauth's login_failed limit: 5 in 5 minutes) whichever door it came
    through: six digits must not be guessable by someone with the password. A
    right code gives its attempt back, as allauth does for passwords."""
    attempt = internal_ratelimit.consume(
        request._request,
        app="allauth.account",
        action="login_failed",
        key=f"mfa:{user.pk}",
    )
    if not attempt:
        raise Refused(
            "too-many-attempts",
            "Too many wrong codes: wait a few minutes.",
            status.HTTP_429_TOO_MANY_REQUESTS,
        )
    if not _second_factor_ok(user, code):
        raise _wrong_code()
    attempt.rollback()


def _wrong_code() -> Refused:
    return Refused(
        "mfa-invalid",
        "That code is not right (or was already used).",
        status.HTTP_401_UNAUTHORIZED,
    )


class LoginMfa(APIView):
    """`POST /api/v1/auth/login/mfa`: the second step of a two-factor login."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer(
            "MfaInput",
            {"mfa_token": serializers.CharField(), "code": serializers.CharField()},
        ),
        responses={200: TOKENS, 400: ERROR, 401: ERROR, 429: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        raw, code = str(body.get("mfa_token", "")), str(body.get("code", ""))[:64]
        if not raw or not code:
            raise ValidationError({"mfa_token": ["Send mfa_token and code."]})
        try:
            state = signing.loads(raw, salt=MFA_SALT, max_age=300)
        except signing.BadSignature:
            raise Refused(
                "mfa-token-invalid",
                "This sign-in step has expired: start again with your password.",
                status.HTTP_401_UNAUTHORIZED,
            ) from None
        user = User.objects.filter(pk=state["u"], is_active=True).first()
        if user is None:
            raise _wrong_code()
        _second_factor(request, user, code)
        ip, agent, kind = [*(state.get("d") or []), "", "", ""][:3]
        device = Device(ip_address=ip, user_agent=agent, device_type=kind)
        tokens = session_open(user=user, request=request._request, device=device)
        return Response(_token_body(tokens))


class Refresh(APIView):
    """`POST /api/v1/auth/refresh` {"refresh_token"}: new tokens, the old spent."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer(
            "RefreshInput", {"refresh_token": serializers.CharField()}
        ),
        responses={200: TOKENS, 400: ERROR, 401: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        raw = body.get("refresh_token") or body.get("refresh")
        if not isinstance(raw, str) or not raw or len(raw) > 4096:
            raise ValidationError({"refresh_token": ["Send the refresh token."]})
        try:
            tokens = session_refresh(raw=raw)
        except AuthRefused as exc:
            raise Refused(exc.code, exc.message, status.HTTP_401_UNAUTHORIZED) from None
        return Response(_token_body(tokens))


def _current_session_id(request: Request) -> str | None:
    auth = request.auth
    if auth is not None and hasattr(auth, "payload"):
        return str(auth.payload.get("sid", "")) or None
    return None


class Logout(APIView):
    """`POST /api/v1/auth/logout` (seed 004) and `POST /auth/logout` (seed 002):
    ends the session the request is signed in with (a JWT's, or the browser's)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: DONE, 401: ERROR})
    def post(self, request: Request) -> Response:
        sid = _current_session_id(request)
        user = request.user
        assert isinstance(user, User)
        if sid:
            session_end(user=user, session_id=sid, reason=AuthSession.Ended.LOGOUT)
        elif request.auth is None:  # a browser session
            browser_logout(request._request)
        return _done("Successfully logged out")


class Me(APIView):
    """`GET /api/v1/auth/me`"""

    @extend_schema(responses={200: USER_CONTEXT, 401: ERROR})
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        return Response(user_context(request.user))


class Permissions(APIView):
    """`GET /api/v1/auth/permissions`"""

    @extend_schema(
        responses={
            200: envelope(
                "PermissionsOut",
                permissions=serializers.ListField(child=serializers.CharField()),
                role=serializers.CharField(),
                timestamp=serializers.DateTimeField(),
            ),
            401: ERROR,
        }
    )
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        context = user_context(request.user)
        return Response(
            {
                "success": True,
                "message": "User permissions retrieved",
                "data": {
                    "permissions": context["permissions"],
                    "role": context["role"],
                    "timestamp": _now(),
                },
            }
        )


class PasswordReset(APIView):
    """`POST /api/v1/auth/password/reset` {"email"}: mails a reset link through
    allauth; the same answer whether or not the address has an account."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer("ResetInput", {"email": serializers.EmailField()}),
        responses={200: DONE, 400: ERROR, 429: ERROR},
    )
    def post(self, request: Request) -> Response:
        form = ResetPasswordForm(data=_body(request))
        if not form.is_valid():
            raise ValidationError({"email": ["Send a valid email address."]})
        email = form.cleaned_data["email"].lower()
        if not ratelimit.consume(request._request, action="reset_password", key=email):
            raise Refused(
                "too-many-attempts",
                "Too many reset requests: wait a few minutes.",
                status.HTTP_429_TOO_MANY_REQUESTS,
            )
        form.save(request._request)
        return _done(
            "If an account exists with this email, reset instructions will be sent"
        )


class PasswordResetComplete(APIView):
    """`POST /api/v1/auth/password/reset/complete` {"token", "new_password"}: the
    token is the last part of the emailed link (`<uid>-<key>`)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer(
            "ResetCompleteInput",
            {
                "token": serializers.CharField(),
                "new_password": serializers.CharField(),
            },
        ),
        responses={200: DONE, 400: ERROR, 429: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        token, password = str(body.get("token", "")), body.get("new_password")
        uidb36, _, key = token.strip().strip("/").partition("-")
        if not ratelimit.consume(request._request, action="reset_password_from_key"):
            raise Refused(
                "too-many-attempts",
                "Too many attempts: wait a few minutes.",
                status.HTTP_429_TOO_MANY_REQUESTS,
            )
        form = UserTokenForm(data={"uidb36": uidb36, "key": key})
        if not (uidb36 and key and form.is_valid()):
            raise Refused(
                "reset-token-invalid",
                "This reset link is invalid or has been used: ask for a new one.",
                status.HTTP_400_BAD_REQUEST,
            )
        user = form.reset_user
        if not isinstance(password, str) or not password:
            raise ValidationError({"new_password": ["Send the new password."]})
        try:
            password_validation.validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationError({"new_password": list(exc.messages)}) from None
        password_reset.reset_password(user, password)
        # The link reached the inbox: the address is proven, and its failed
        # sign-ins are forgiven (as allauth's own reset page does).
        EmailAddress.objects.filter(user=user, email__iexact=user.email).update(
            verified=True
        )
        adapter = get_adapter(request._request)
        for address in EmailAddress.objects.filter(user=user):
            adapter._delete_login_attempts_cached_email(
                request._request, email=address.email
            )
        allauth_signals.password_reset.send(
            sender=User, request=request._request, user=user
        )
        adapter.send_notification_mail("account/email/password_reset", user)
        return _done("Password reset successful")


class Sessions(APIView):
    """`GET /api/v1/auth/sessions`: the signed-in devices, browsers and API."""

    @extend_schema(
        responses={
            200: envelope(
                "SessionsOut",
                sessions=serializers.ListField(child=SESSION),
                timestamp=serializers.DateTimeField(),
            ),
            401: ERROR,
        }
    )
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        current = _current_session_id(request)
        key = request._request.session.session_key if request.auth is None else None
        rows = [
            _session_row(s, s.id == current or (bool(key) and s.session_key == key))
            for s in sessions_active(request.user)[:200]
        ]
        return Response(
            {
                "success": True,
                "message": "Active sessions retrieved",
                "data": {"sessions": rows, "timestamp": _now()},
            }
        )


def _session_row(session: AuthSession, current: bool) -> dict[str, Any]:
    return {
        "session_id": session.id,
        "kind": session.kind,
        "current": current,
        "created_at": session.created_at.isoformat(),
        "last_used_at": session.last_used_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "device_info": {
            "ip_address": session.ip_address,
            "claimed_ip_address": session.claimed_ip,
            "user_agent": session.user_agent,
            "device_type": session.device_type,
        },
    }


class SessionTerminate(APIView):
    """`POST /api/v1/auth/sessions/{session_id}/terminate` (one's own only)."""

    @extend_schema(request=None, responses={200: DONE, 401: ERROR, 404: ERROR})
    def post(self, request: Request, session_id: str) -> Response:
        assert isinstance(request.user, User)
        try:
            session_end(
                user=request.user,
                session_id=session_id[:32],
                reason=AuthSession.Ended.TERMINATED,
            )
        except AuthSession.DoesNotExist:
            raise Refused(
                "not-found", "No session of yours has this id.", 404
            ) from None
        return _done("Session terminated successfully")


class Signup(APIView):
    """`POST /auth/signup` (seed 002) {"email", "password"}: allauth's sign-up
    (its password rules, its email confirmation, the new workspace). The answer
    is the same for an address that already has an account (no enumeration):
    the owner of that address is mailed instead."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer(
            "SignupInput",
            {"email": serializers.EmailField(), "password": serializers.CharField()},
        ),
        responses={201: DONE, 400: ERROR, 429: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        password = body.get("password") or body.get("password1")
        form = SignupForm(
            data={
                "email": body.get("email", ""),
                "password1": password,
                "password2": body.get("password2", password),
            }
        )
        if not ratelimit.consume(request._request, action="signup"):
            raise Refused(
                "too-many-attempts",
                "Too many sign-ups from this address: try again later.",
                status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if not form.is_valid():
            errors = {
                ("password" if name.startswith("password") else name): list(messages)
                for name, messages in form.errors.items()
            }
            raise ValidationError(errors)
        if getattr(form, "account_already_exists", False):
            get_adapter(request._request).send_account_already_exists_mail(
                form.cleaned_data["email"]
            )
        else:
            user = form.save(request._request)
            allauth_signals.user_signed_up.send(
                sender=User, request=request._request, user=user
            )
            if allauth_settings.EMAIL_VERIFICATION != "none":
                send_verification_email_for_user(request._request, user)
        return _done(
            "Account created if this address was new: check your email, then sign in.",
            status.HTTP_201_CREATED,
        )

    @extend_schema(exclude=True)  # a person's browser: the page, not the API
    def get(self, request: Request) -> Any:
        return redirect("account_signup")
