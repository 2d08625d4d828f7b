"""Seed 002's trade export, `GET /api/export/trades?format=csv|json`: the
workspace's round trips at every venue, streamed row by row, so an export of a
million trades holds one chunk in memory, never the file.

The round trips are `brokers.performance.closed_trades`, the one source of
closed trades (replayed from our Fill rows, which hold every fill of every
venue), read through a server-side cursor; each piece of the body looks up the
strategies of its trades in one query.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from brokers.models import BrokerAccount, Order
from brokers.performance import RoundTrip, closed_trades
from brokers.selectors import account_for_user_or_404
from common.api import ERROR, decimal_out
from common.http import parse_id
from common.numbers import plain

DEFAULT_DAYS = 30  # back from today, when `start` is not given
FIRST_YEAR, LAST_YEAR = 1970, 9000
ROWS_PER_PART = 500  # rows in one piece of the response body
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
COLUMNS = (
    "id",
    "account_id",
    "account",
    "broker",
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "exit_price",
    "gross_pnl",
    "fees",
    "pnl",
    "currency",
    "opened_at",
    "closed_at",
    "strategy",
)
# Text a spreadsheet would run as a formula (an account named "=HYPERLINK(…)").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

TRADE = inline_serializer(
    "ExportedTrade",
    {
        "id": serializers.IntegerField(),
        "account_id": serializers.IntegerField(),
        "account": serializers.CharField(),
        "broker": serializers.CharField(),
        "symbol": serializers.CharField(),
        "side": serializers.ChoiceField(["long", "short"]),
        "quantity": decimal_out(),
        "entry_price": decimal_out(),
        "exit_price": decimal_out(),
        "gross_pnl": decimal_out(),
        "fees": decimal_out(),  # commissions and fees, both sides
        "pnl": decimal_out(),  # net of fees
        "currency": serializers.CharField(),
        "opened_at": serializers.DateTimeField(),
        "closed_at": serializers.DateTimeField(),
        "strategy": serializers.CharField(help_text="The one that opened it, or ''."),
    },
)


def _trade(trip: RoundTrip, account: tuple[str, str], strategy: str) -> dict[str, Any]:
    name, venue = account
    return {
        "id": trip.id,
        "account_id": trip.account_id,
        "account": name,
        "broker": venue,
        "symbol": trip.symbol,
        "side": trip.side,
        "quantity": trip.size,
        "entry_price": trip.entry_price,
        "exit_price": trip.exit_price,
        "gross_pnl": trip.gross_pnl,
        "fees": trip.fee,
        "pnl": trip.pnl,
        "currency": trip.currency,
        "opened_at": trip.opened_at,
        "closed_at": trip.closed_at,
        "strategy": strategy,
    }


def _strategies(order_ids: set[int]) -> dict[int, str]:
    """The strategy each order was placed for: its signal's, else the one the
    alert named ('' for neither: a flatten, an order placed elsewhere)."""
    rows = Order.objects.filter(pk__in=order_ids).values_list(
        "pk",
        "executions__signal__strategy__name",
        "executions__signal__payload__strategy",
    )
    named: dict[int, str] = {}
    for pk, strategy, alert_named in rows:
        text = strategy or (alert_named if isinstance(alert_named, str) else "")
        named[pk] = named.get(pk) or text
    return named


def trade_rows(
    trips: Iterator[RoundTrip], accounts: dict[int, tuple[str, str]]
) -> Iterator[dict[str, Any]]:
    """TRADE rows of `trips` (`accounts`: id -> (name, venue)), read
    ROWS_PER_PART trips at a time: one query names their strategies."""
    batch: list[RoundTrip] = []
    for trip in trips:
        batch.append(trip)
        if len(batch) >= ROWS_PER_PART:
            yield from _rows(batch, accounts)
            batch = []
    yield from _rows(batch, accounts)


def _rows(
    batch: list[RoundTrip], accounts: dict[int, tuple[str, str]]
) -> Iterator[dict[str, Any]]:
    if not batch:
        return
    strategies = _strategies({trip.opening_order_id for trip in batch})
    for trip in batch:
        strategy = strategies.get(trip.opening_order_id, "")
        yield _trade(trip, accounts[trip.account_id], strategy)


class _Line:
    """csv.writer's file: hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _csv_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _json_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return plain(value)  # a JSON number, as the rest of the API writes money
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def _csv_lines(trades: Iterator[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for trade in trades:
        yield writer.writerow([_csv_cell(trade[name]) for name in COLUMNS])


def _json_items(trades: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for index, trade in enumerate(trades):
        fields = ",".join(f'"{name}":{_json_value(trade[name])}' for name in COLUMNS)
        yield ("," if index else "") + "{" + fields + "}"
    yield "]"


def export_parts(
    accounts: QuerySet[BrokerAccount], start: datetime, end: datetime, fmt: str
) -> Iterator[str]:
    """The body in pieces of ROWS_PER_PART rows, from `closed_trades` (read
    through a server-side cursor a chunk at a time): memory stays flat however
    many trades. Nothing is read before the first piece is asked for."""
    known = {
        pk: (name, venue)
        for pk, name, venue in accounts.values_list("pk", "name", "venue")
    }
    trips = closed_trades(accounts=list(known), start=start, end=end)
    trades = trade_rows(trips, known)
    pieces = _csv_lines(trades) if fmt == "csv" else _json_items(trades)
    part: list[str] = []
    for piece in pieces:
        part.append(piece)
        if len(part) >= ROWS_PER_PART:
            yield "".join(part)
            part = []
    if part:
        yield "".join(part)


async def streamed_async(parts: Iterator[str]) -> AsyncIterator[str]:
    """`parts` for an ASGI server, each read on the request's database thread.

    Django would otherwise read a plain iterator to its end into memory before
    sending a byte under ASGI (its warning says so): the file, not a chunk.
    """

    def pull() -> str | None:
        return next(parts, None)

    read = sync_to_async(pull, thread_sensitive=True)
    try:
        while (part := await read()) is not None:
            yield part
    finally:
        close = getattr(parts, "close", None)
        if close is not None:  # a client that left: the cursor closes now
            await sync_to_async(close, thread_sensitive=True)()


def _day(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        day = date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError({name: ["A date: YYYY-MM-DD."]}) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # 30 days either side are dates
        raise ValidationError({name: [f"A date from {FIRST_YEAR} to {LAST_YEAR}."]})
    return day


def _accounts(request: Request) -> QuerySet[BrokerAccount]:
    """The accounts to export: the one `account` names (404 if not seen, 403
    if not exportable), else every account the user may export."""
    raw = request.query_params.get("account")
    if raw not in (None, ""):
        if parse_id(raw) is None:
            raise ValidationError({"account": ["An account id."]})
        account = account_for_user_or_404(request.user, raw, Perm.EXPORT)
        return BrokerAccount.objects.filter(pk=account.pk)
    if not workspaces_for(request.user, Perm.EXPORT).exists():
        raise PermissionDenied("Your role cannot export trades.")
    return BrokerAccount.all_objects.for_user(request.user, Perm.EXPORT)  # + removed


class TradesExport(APIView):
    """`GET /api/export/trades?format=csv|json&start=&end=&account=` (seed 002):
    the round trips closed from `start` through `end` (the last 30 days) at
    every venue, account by account and oldest first, streamed: CSV with a
    header row, or a JSON array. Exporters and admins (a viewer 403, another
    workspace's account 404). Billing never refuses it."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # Errors are JSON whatever `format` (DRF's format override) or Accept
        # ask; a trade file is streamed, not rendered.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), default="csv"),
            OpenApiParameter("start", str, description="First day (YYYY-MM-DD, UTC)."),
            OpenApiParameter("end", str, description="Last day, included; today."),
            OpenApiParameter("account", int, description="One account's only."),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): serializers.ListSerializer(child=TRADE),
            400: ERROR,
            401: ERROR,
            403: ERROR,
            404: ERROR,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        fmt = str(request.query_params.get("format") or "csv").lower()
        if fmt not in FORMATS:
            raise ValidationError({"format": ["csv or json."]})
        last = _day(request, "end", timezone.now().date())
        first = _day(request, "start", last - timedelta(days=DEFAULT_DAYS))
        if last < first:
            raise ValidationError({"end": ["On or after `start`."]})
        parts = export_parts(
            _accounts(request),
            datetime.combine(first, time.min, tzinfo=UTC),
            datetime.combine(last, time.max, tzinfo=UTC),
            fmt,
        )
        asgi = isinstance(request._request, ASGIRequest)
        response = StreamingHttpResponse(
            streamed_async(parts) if asgi else parts, content_type=FORMATS[fmt]
        )
        name = f"tradeflow-trades-{first.isoformat()}-to-{last.isoformat()}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
