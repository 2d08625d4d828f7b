"""Seed 004's accounts under /api/v1/accounts/: connect one (its login checked by
the venue first), list and describe them, give one a new login, sync it, its
performance, remove it. Tenant-scoped (an outsider's account is a 404); no
answer carries a credential, for any role."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User, Workspace
from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from billing.quotas import QuotaExceeded
from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount, Venue
from brokers.performance import closed_trades, performance, round_trips
from brokers.selectors import account_for_user_or_404
from brokers.services import account_sync
from brokers.venues.credentials import (
    ApiLogin,
    account_credentials_replace,
    login_options,
    venue_for_exchange,
)
from common.api import Refused, decimal_out, page_window, refusals
from webhooks.api import v1_shapes as shapes
from webhooks.intake.keys import account_register
from webhooks.removal import AccountBusy, AccountNotFlat, account_remove
from webhooks.views.base import tradingview_url

PAPER_BALANCE = Decimal(50_000)  # a paper account given no initial_balance
SECRETS = ("api_key", "api_secret", "passphrase")


def _refusal(exc: VenueError) -> Refused:
    """The venue's refusal as the caller's to fix (422), or its outage (503)."""
    code = status.HTTP_503_SERVICE_UNAVAILABLE if exc.transient else 422
    return Refused(exc.code, exc.message, code)


def _account(request: Request, pk: str, perm: Perm = Perm.VIEW) -> BrokerAccount:
    return account_for_user_or_404(request.user, pk, perm)


def _admin_workspace(request: Request) -> Workspace:
    workspace = workspaces_for(request.user, Perm.MANAGE_ACCOUNTS).first()
    if workspace is None:
        raise PermissionDenied("Admin only: your role cannot connect accounts.")
    return workspace


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def _secret(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text=help_text,
    )


def _name(help_text: str, length: int = 120) -> serializers.CharField:
    return serializers.CharField(
        max_length=length, required=False, allow_blank=True, help_text=help_text
    )


class VenueLoginInput(serializers.Serializer[dict[str, Any]]):
    """A venue login in seed 004's fields (brokers.venues.credentials)."""

    api_key = _secret("ProjectX: the API key. Tradovate: the API key's id (cid).")
    api_secret = _secret("Tradovate: the API key's secret.")
    passphrase = _secret("Tradovate, TradeLocker: the login's password.")
    user_name = _name("The login's name (TradeLocker: its e-mail).")
    firm = _name("ProjectX: the firm (topstepx when absent).", 32)
    server = _name("TradeLocker: the broker's server, as its sign-in page says.")

    def login(self, **more: Any) -> ApiLogin:
        values = self.validated_data
        fields = ("api_key", "api_secret", "passphrase", "user_name", "firm", "server")
        return ApiLogin(**{name: values.get(name, "") for name in fields}, **more)


class AccountCreateInput(VenueLoginInput):
    exchange = serializers.CharField(
        max_length=32, help_text="paper, projectx (topstep), tradovate, tradelocker."
    )
    initial_balance = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="Paper: the starting cash (50,000 when absent). Others: the "
        "venue says the balance.",
    )
    is_testnet = serializers.BooleanField(
        default=True,
        help_text="The demo environment. False: live, and your word that "
        "TradeFlow may trade real money on it.",
    )
    account_id = _name("The venue's account to connect, where the login has more.")
    name = _name("Its name here (paper: by balance, others: the venue's, when absent).")
    currency = serializers.CharField(max_length=3, default="USD")


CREATED = inline_serializer(
    "V1AccountCreated",
    {
        "success": serializers.BooleanField(),
        "account_id": serializers.CharField(),
        "message": serializers.CharField(),
        "api_key": serializers.CharField(help_text="Its webhook key, shown once."),
        "webhook_url": serializers.CharField(),
    },
)


def _options(venue: str, data: AccountCreateInput) -> dict[str, Any]:
    """What the venue's `provision` takes: a login, or a paper balance."""
    values = data.validated_data
    if venue != Venue.PAPER:
        login = data.login(
            is_testnet=values["is_testnet"], account_id=values.get("account_id", "")
        )
        return login_options(venue, login)
    balance = values.get("initial_balance")
    if balance is not None and balance <= 0:
        raise ValidationError({"initial_balance": ["A paper account starts above 0."]})
    return {"initial_balance": PAPER_BALANCE if balance is None else balance}


class AccountCreate(APIView):
    """`POST /api/v1/accounts/create` (admin): connect an account in your admin
    workspace. A real venue's login is checked there first, and nothing is kept
    when it refuses (422 with its code: `login-failed`, `credentials-missing`,
    `account-not-found`, `live-needs-confirmation`…; 503 when it cannot be
    reached). `unknown-exchange` and `connect-with-ea` (MetaTrader) are 422;
    the plan's limits 403."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=AccountCreateInput,
        responses={201: CREATED, **refusals(400, 401, 403, 422, 503)},
    )
    def post(self, request: Request) -> Response:
        workspace = _admin_workspace(request)
        data = AccountCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            venue = venue_for_exchange(values["exchange"])
            account, plain = account_register(
                workspace=workspace,
                user=_user(request),
                venue=venue,
                name=values.get("name", ""),
                currency=values["currency"],
                options=_options(venue, data),
            )
        except VenueError as exc:
            raise _refusal(exc) from None
        except QuotaExceeded as exc:
            raise Refused(exc.code, exc.message, status.HTTP_403_FORBIDDEN) from None
        body = {
            "success": True,
            "account_id": str(account.pk),
            "message": "Account created successfully",
            "api_key": plain,
            "webhook_url": tradingview_url(request, plain, workspace.pk),
        }
        return Response(body, status=status.HTTP_201_CREATED)


def _skip_limit(request: Request) -> tuple[int, int]:
    """Seed 004's `skip` and `limit`, read as every list reads offset and limit."""
    params = {
        "offset": request.query_params.get("skip", ""),
        "limit": request.query_params.get("limit", ""),
    }
    try:
        return page_window(params, default=100, maximum=500)
    except ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        raise ValidationError(
            {
                ("skip" if name == "offset" else name): why
                for name, why in detail.items()
            }
        ) from None


def _accounts(request: Request) -> Any:
    return (
        BrokerAccount.objects.for_user(request.user)
        .select_related("terminal", "risk_config__preset")
        .prefetch_related("positions", "strategies", "account_groups")
        .order_by("pk")
    )


class AccountList(APIView):
    """`GET /api/v1/accounts/list?skip=0&limit=100`"""

    @extend_schema(
        parameters=[
            OpenApiParameter("skip", int, description="Accounts to skip (0)."),
            OpenApiParameter("limit", int, description="At most this many (100)."),
        ],
        responses={
            200: inline_serializer(
                "V1AccountList",
                {
                    "accounts": serializers.ListSerializer(
                        child=shapes.V1AccountSummary()
                    ),
                    "pagination": inline_serializer(
                        "V1Pagination",
                        {
                            "total": serializers.IntegerField(),
                            "skip": serializers.IntegerField(),
                            "limit": serializers.IntegerField(),
                        },
                    ),
                },
            ),
            **refusals(400, 401),
        },
    )
    def get(self, request: Request) -> Response:
        skip, limit = _skip_limit(request)
        accounts = _accounts(request)
        page = list(accounts[skip : skip + limit])
        trips = round_trips([account.pk for account in page])
        return Response(
            {
                "accounts": [
                    shapes.account_summary(account, trips.get(account.pk, []))
                    for account in page
                ],
                "pagination": {"total": accounts.count(), "skip": skip, "limit": limit},
            }
        )


REMOVED = inline_serializer(
    "V1AccountRemoved",
    {
        "success": serializers.BooleanField(),
        "removed": serializers.ChoiceField(
            ["deleted", "disabled"],
            help_text="disabled: it traded, and its history stays (its login "
            "forgotten, its keys revoked); deleted: it never did.",
        ),
    },
)


class AccountDetail(APIView):
    """`GET /api/v1/accounts/{account_id}` and `DELETE` (admin): a removal is
    refused (409 `account-has-positions`) while a position or a working order
    is open, at the venue or in our books."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(responses={200: shapes.V1AccountDetail, **refusals(401, 404)})
    def get(self, request: Request, account_id: str) -> Response:
        account = _account(request, account_id)
        account = _accounts(request).get(pk=account.pk)
        trips = round_trips([account.pk]).get(account.pk, [])
        return Response(shapes.account_detail(account, trips))

    @extend_schema(responses={200: REMOVED, **refusals(401, 403, 404, 409)})
    def delete(self, request: Request, account_id: str) -> Response:
        account = _account(request, account_id, Perm.MANAGE_ACCOUNTS)
        try:
            removed = account_remove(account=account)
        except (AccountNotFlat, AccountBusy) as exc:
            raise Refused(exc.code, exc.message, status.HTTP_409_CONFLICT) from None
        except VenueError as exc:
            raise _refusal(exc) from None
        return Response({"success": True, "removed": removed})


OK = inline_serializer("V1Ok", {"success": serializers.BooleanField()})


class AccountCredentials(APIView):
    """`POST /api/v1/accounts/{account_id}/update-credentials` (admin): a new
    login (a rotated API key, a changed password; what is not sent stays), kept
    once the venue accepts it and still holds this account; refused as a
    connection is (422, 503)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=VenueLoginInput,
        responses={200: OK, **refusals(400, 401, 403, 404, 422, 503)},
    )
    def post(self, request: Request, account_id: str) -> Response:
        account = _account(request, account_id, Perm.MANAGE_ACCOUNTS)
        data = VenueLoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not any(data.validated_data.get(name) for name in SECRETS):
            raise ValidationError({"non_field": [f"Send one of {', '.join(SECRETS)}."]})
        try:
            account_credentials_replace(account=account, login=data.login())
        except VenueError as exc:
            raise _refusal(exc) from None
        return Response({"success": True})


class AccountSyncBalance(APIView):
    """`POST /api/v1/accounts/{account_id}/sync-balance` (admin): read balance,
    equity and positions from the venue now."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "V1AccountSynced",
                {
                    "success": serializers.BooleanField(),
                    "balance": decimal_out(allow_null=True),
                    "equity": decimal_out(allow_null=True),
                },
            ),
            **refusals(401, 403, 404, 409, 502, 503),
        },
    )
    def post(self, request: Request, account_id: str) -> Response:
        account = _account(request, account_id, Perm.MANAGE_ACCOUNTS)
        try:
            account_sync(account=account)
        except VenueError as exc:
            raise _refusal(exc) from None
        return Response(
            {"success": True, "balance": account.balance, "equity": account.equity}
        )


def _moment(request: Request, name: str, end_of_day: bool) -> datetime | None:
    """A date (YYYY-MM-DD: its start, or its end) or an ISO time, in UTC."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        moment = parse_datetime(raw)
        if moment is None or moment.tzinfo is None:
            raise ValidationError(
                {name: ["A date (YYYY-MM-DD) or a time with its zone."]}
            ) from None
        return moment.astimezone(UTC)
    return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)


class AccountPerformance(APIView):
    """`GET /api/v1/accounts/{account_id}/performance?start_date=&end_date=`:
    the positions closed in the range (the last 30 days when absent)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start_date", str, description="YYYY-MM-DD or ISO time."),
            OpenApiParameter("end_date", str, description="YYYY-MM-DD or ISO time."),
        ],
        responses={
            200: inline_serializer(
                "V1AccountPerformance",
                {
                    "account_id": serializers.CharField(),
                    "time_range": inline_serializer(
                        "V1TimeRange",
                        {
                            "start_date": serializers.DateTimeField(),
                            "end_date": serializers.DateTimeField(),
                        },
                    ),
                    "metrics": shapes.V1AccountMetrics(),
                },
            ),
            **refusals(400, 401, 404),
        },
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = _account(request, account_id)
        end = _moment(request, "end_date", end_of_day=True) or timezone.now()
        start = _moment(request, "start_date", end_of_day=False) or end - timedelta(
            days=shapes.PERFORMANCE_DAYS
        )
        if start > end:
            raise ValidationError({"start_date": ["Before end_date."]})
        trips = closed_trades(accounts=[account.pk], start=start, end=end)
        return Response(
            {
                "account_id": str(account.pk),
                "time_range": {"start_date": start, "end_date": end},
                "metrics": performance(trips, start, end),
            }
        )
