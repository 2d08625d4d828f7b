"""Seed 002's `GET /api/calendar/events`: the economic calendar the news blackout
reads, and where each event stops new entries on the caller's accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import ERROR, page_parameters, page_window
from risk.models import EconomicEvent
from risk.selectors import (
    NewsRule,
    economic_events,
    event_blackouts,
    news_rules_for_user,
)

DEFAULT_DAYS = 7  # from today, when `to` is not given
LAST_YEAR = 9000
PAGE_DEFAULT, PAGE_MAX = 100, 500

BLACKOUT = inline_serializer(
    "CalendarBlackout",
    {
        "account_id": serializers.IntegerField(),
        "account_name": serializers.CharField(),
        "starts_at": serializers.DateTimeField(),
        "ends_at": serializers.DateTimeField(),
        "flatten_before": serializers.BooleanField(
            help_text="The account is also flattened before the event."
        ),
    },
)
EVENT = inline_serializer(
    "CalendarEvent",
    {
        "id": serializers.IntegerField(),
        "uid": serializers.CharField(),
        "name": serializers.CharField(),
        "currency": serializers.CharField(),
        "impact": serializers.ChoiceField(EconomicEvent.Impact.values),
        "at": serializers.DateTimeField(),
        "blacks_out": serializers.BooleanField(
            help_text="It stops new entries on at least one of your accounts."
        ),
        "blackouts": serializers.ListField(child=BLACKOUT),
    },
)
EVENTS = inline_serializer(
    "CalendarEvents",
    {
        "events": serializers.ListField(child=EVENT),
        "total": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
    },
)


def _day(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        day = date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError({name: ["A date: YYYY-MM-DD."]}) from None
    if day.year > LAST_YEAR:  # a week on from it must still be a date
        raise ValidationError({name: [f"A date up to {LAST_YEAR}."]})
    return day


def _listed(request: Request, name: str) -> list[str]:
    """A comma-separated filter (`impact=high,medium`), its values stripped."""
    raw = str(request.query_params.get(name, ""))
    return [part.strip() for part in raw.split(",") if part.strip()]


def _impacts(request: Request) -> list[str]:
    impacts = [value.lower() for value in _listed(request, "impact")]
    for impact in impacts:
        if impact not in EconomicEvent.Impact.values:
            raise ValidationError({"impact": [f"{impact[:20]!r}: high, medium, low."]})
    return impacts


def _currencies(request: Request) -> list[str]:
    currencies = [value.upper() for value in _listed(request, "currency")]
    for code in currencies:
        if not (len(code) == 3 and code.isascii() and code.isalpha()):
            raise ValidationError({"currency": [f"{code[:20]!r} is not a currency."]})
    return currencies


def _event(event: EconomicEvent, rules: list[NewsRule]) -> dict[str, Any]:
    blackouts = event_blackouts(event, rules)
    return {
        "id": event.pk,
        "uid": event.uid,
        "name": event.name,
        "currency": event.currency,
        "impact": event.impact,
        "at": event.at,
        "blacks_out": bool(blackouts),
        "blackouts": [vars(blackout) for blackout in blackouts],
    }


class CalendarEvents(APIView):
    """`GET /api/calendar/events?from=&to=&impact=&currency=` (seed 002's news
    calendar lockout): scheduled releases from `from` (today) through `to` (a
    week on), soonest first, paginated; each says where it stops new entries
    on the accounts you see, from their risk rules' news blackout."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", str, description="First day (YYYY-MM-DD, UTC); today."
            ),
            OpenApiParameter(
                "to",
                str,
                description=f"Last day, included; {DEFAULT_DAYS} days after `from`.",
            ),
            OpenApiParameter(
                "impact", str, description="high, medium, low; comma-separated."
            ),
            OpenApiParameter(
                "currency", str, description="USD, EUR…; comma-separated."
            ),
            *page_parameters(default=PAGE_DEFAULT, maximum=PAGE_MAX),
        ],
        responses={200: EVENTS, 400: ERROR, 401: ERROR},
    )
    def get(self, request: Request) -> Response:
        first = _day(request, "from", timezone.now().date())
        last = _day(request, "to", first + timedelta(days=DEFAULT_DAYS))
        if last < first:
            raise ValidationError({"to": ["On or after `from`."]})
        offset, limit = page_window(
            request.query_params, default=PAGE_DEFAULT, maximum=PAGE_MAX
        )
        events = economic_events(
            start=datetime.combine(first, time.min, tzinfo=UTC),
            end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
            impacts=_impacts(request),
            currencies=_currencies(request),
        )
        rules = news_rules_for_user(request.user)
        return Response(
            {
                "events": [_event(e, rules) for e in events[offset : offset + limit]],
                "total": events.count(),
                "offset": offset,
                "limit": limit,
                "from": first,
                "to": last,
            }
        )
