"""Seed 000's account reads: `GET /api/accounts/{id}` (the account, its open
positions counted, its risk state), `/trades` (its closed trades, from the one
source: `brokers.performance.closed_trades`) and `/positions` (its open ones, as
`/api/positions` shows them). Any member reads them (a viewer too), an outsider
gets 404; no answer carries a credential."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.api import PositionSerializer
from brokers.models import BrokerAccount, Position, Venue
from brokers.performance import RoundTrip, closed_trades
from brokers.selectors import account_for_user_or_404
from common.api import decimal_out, page_parameters, page_window, refusals
from risk.api import risk_figure_fields
from risk.models import RiskConfig, RiskState
from risk.selectors import risk_metrics
from webhooks.api.export import TRADE, trade_rows

PAGE_DEFAULT, PAGE_MAX = 100, 500
FIRST_YEAR, LAST_YEAR = 1970, 9000
# What risk_metrics says beyond the account's own fields (above them here).
RISK_FIELDS = tuple(risk_figure_fields())

RISK_SUMMARY = inline_serializer(
    "AccountRiskSummary",
    risk_figure_fields(),
    allow_null=True,
    help_text="The risk engine's figures as last measured; null: no rules set "
    "and never measured.",
)
ACCOUNT = inline_serializer(
    "AccountOverview",
    {
        "id": serializers.IntegerField(),
        "broker": serializers.ChoiceField(Venue.values),
        "name": serializers.CharField(),
        "mode": serializers.ChoiceField(BrokerAccount.Mode.values),
        "currency": serializers.CharField(),
        "enabled": serializers.BooleanField(),
        "status": serializers.ChoiceField(BrokerAccount.Status.values),
        "balance": decimal_out(allow_null=True),
        "equity": decimal_out(allow_null=True),
        "last_sync_at": serializers.DateTimeField(allow_null=True),
        "open_positions": serializers.IntegerField(),
        "risk": RISK_SUMMARY,
    },
)
TRADES = inline_serializer(
    "AccountTrades",
    {
        "trades": type(TRADE)(many=True),  # the export's rows, a fresh instance
        "total": serializers.IntegerField(help_text="Trades in the range."),
        "offset": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
        "start": serializers.DateField(allow_null=True),
        "end": serializers.DateField(allow_null=True),
    },
)


def _risk(account: BrokerAccount) -> dict[str, Any] | None:
    """The risk state's figures, when the risk engine has rules or a state for it."""
    if not (
        RiskConfig.objects.filter(account=account).exists()
        or RiskState.objects.filter(account=account).exists()
    ):
        return None
    metrics = risk_metrics(account)
    return {name: metrics[name] for name in RISK_FIELDS}


class AccountOverview(APIView):
    """`GET /api/accounts/{id}` (seed 000): the account at its venue, its money
    as last synced, how many positions it holds, and its risk state."""

    @extend_schema(responses={200: ACCOUNT, **refusals(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk)
        held = Position.objects.filter(account=account).exclude(quantity=0)
        return Response(
            {
                "id": account.pk,
                "broker": account.venue,
                "name": account.name,
                "mode": account.mode,
                "currency": account.currency,
                "enabled": account.enabled,
                "status": account.status,
                "balance": account.balance,
                "equity": account.equity,
                "last_sync_at": account.last_sync_at,
                "open_positions": held.count(),
                "risk": _risk(account),
            }
        )


def _day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError({name: ["A date: YYYY-MM-DD."]}) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError({name: [f"A date from {FIRST_YEAR} to {LAST_YEAR}."]})
    return day


def _page(trips: Any, offset: int, limit: int) -> tuple[list[RoundTrip], int]:
    """The trips of the page, and how many there are in all (counted as they
    stream past: only the page is kept)."""
    page, total = [], 0
    for total, trip in enumerate(trips, start=1):
        if offset < total <= offset + limit:
            page.append(trip)
    return page, total


class AccountTrades(APIView):
    """`GET /api/accounts/{id}/trades?start=&end=&offset=&limit=` (seed 000):
    the account's closed trades (round trips) from `start` through `end` (whole
    UTC days, both optional), oldest first, a page at a time."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="First day (YYYY-MM-DD, UTC)."),
            OpenApiParameter("end", str, description="Last day, included."),
            *page_parameters(default=PAGE_DEFAULT, maximum=PAGE_MAX),
        ],
        responses={200: TRADES, **refusals(400, 401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk)
        first, last = _day(request, "start"), _day(request, "end")
        if first is not None and last is not None and last < first:
            raise ValidationError({"end": ["On or after `start`."]})
        offset, limit = page_window(
            request.query_params, default=PAGE_DEFAULT, maximum=PAGE_MAX
        )
        trips = closed_trades(
            accounts=[account.pk],
            start=None if first is None else datetime.combine(first, time.min, UTC),
            end=None if last is None else datetime.combine(last, time.max, UTC),
        )
        page, total = _page(trips, offset, limit)
        names = {account.pk: (account.name, account.venue)}
        return Response(
            {
                "trades": list(trade_rows(iter(page), names)),
                "total": total,
                "offset": offset,
                "limit": limit,
                "start": first,
                "end": last,
            }
        )


class AccountPositions(APIView):
    """`GET /api/accounts/{id}/positions` (seed 000): the account's open
    positions, as `/api/positions` shows them."""

    @extend_schema(responses={200: PositionSerializer(many=True), **refusals(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk)
        held = (
            Position.objects.filter(account=account)
            .exclude(quantity=0)
            .select_related("account")
        )
        return Response(PositionSerializer(held, many=True).data)
