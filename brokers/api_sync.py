"""Seed 002's `POST /api/accounts/sync/{id}`: refresh one account from its venue
now, through the service the periodic sync uses."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount, Position
from brokers.selectors import account_for_user_or_404
from brokers.services import account_sync
from common.api import ERROR, decimal_out, error_body, error_fields
from common.ratelimit import rate_hit

# Syncs a minute per account: a dashboard's button pressed often must not turn
# into a stream of calls to the trader's broker (the beat syncs anyway).
SYNCS_PER_MINUTE = 6

VENUE_ERROR = inline_serializer(
    "VenueFailure", {**error_fields(), "venue_code": serializers.CharField()}
)
SYNCED = inline_serializer(
    "AccountSynced",
    {
        "success": serializers.BooleanField(),
        "id": serializers.IntegerField(),
        "broker": serializers.CharField(),
        "name": serializers.CharField(),
        "status": serializers.ChoiceField(BrokerAccount.Status.values),
        "balance": decimal_out(allow_null=True),
        "equity": decimal_out(allow_null=True),
        "currency": serializers.CharField(),
        "last_sync": serializers.DateTimeField(),
        "open_positions": serializers.IntegerField(),
        "error_code": serializers.CharField(
            help_text="What the venue still refuses (an EA offline…); empty if none."
        ),
        "error_message": serializers.CharField(),
    },
)


def _synced(account: BrokerAccount) -> dict[str, object]:
    open_positions = (
        Position.objects.filter(account=account).exclude(quantity=0).count()
    )
    return {
        "success": True,
        "id": account.pk,
        "broker": account.venue,
        "name": account.name,
        "status": account.status,
        "balance": account.balance,
        "equity": account.equity,
        "currency": account.currency,
        "last_sync": account.last_sync_at,
        "open_positions": open_positions,
        "error_code": account.error_code,
        "error_message": account.error_message,
    }


def _venue_failure(exc: VenueError) -> Response:
    """A venue that failed (a timeout, a 5xx, an answer we cannot read) is a 502
    `venue-unavailable`; one that refused for good (a login refused, a captcha to
    solve) is the trader's to fix: 409 with the venue's code. Never a 500."""
    upstream = exc.transient or exc.code == "venue-error"
    code = "venue-unavailable" if upstream else exc.code
    body = {**error_body(code, exc.message), "venue_code": exc.code}
    http = status.HTTP_502_BAD_GATEWAY if upstream else status.HTTP_409_CONFLICT
    return Response(body, status=http)


class AccountSync(APIView):
    """`POST /api/accounts/sync/{id}` (seed 002): the account's balance, equity and
    positions read from its venue now, as the periodic sync reads them, and the
    new `last_sync`. Trading members only (a viewer 403, an outsider 404); at most
    SYNCS_PER_MINUTE a minute per account (429 with Retry-After)."""

    @extend_schema(
        request=None,
        responses={
            200: SYNCED,
            401: ERROR,
            403: ERROR,
            404: ERROR,
            409: VENUE_ERROR,
            429: ERROR,
            502: VENUE_ERROR,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk, Perm.TRADE)
        hit = rate_hit(f"account-sync:{account.pk}", SYNCS_PER_MINUTE)
        if not hit.allowed:
            raise Throttled(
                hit.retry_after,
                f"This account was synced {SYNCS_PER_MINUTE} times this minute.",
            )
        try:
            account_sync(account=account)
        except VenueError as exc:
            return _venue_failure(exc)
        return Response(_synced(account))
