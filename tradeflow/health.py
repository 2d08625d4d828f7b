"""Seed 004's `GET /api/v1/health` and `GET /api/v1/metrics`.

Health is public, as a monitor asks it without an account: whether the
database, Redis and the Celery broker answer and the reference data the app
reads is there (counts, never a tenant's), the version, the environment, the
process's uptime. 200 when all is well, 503 `degraded` otherwise. `/healthz`
stays the load balancer's liveness check (the database alone).

Metrics is for staff and workspace admins (tradeflow.metrics says who sees what).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from kombu import Connection
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from billing.models import Plan
from brokers.instruments.catalogue import catalogue
from common.api import Refused
from risk.models import RiskPreset
from tradeflow.metrics import circuit_breakers, metrics_scope, rate_limits

log = logging.getLogger(__name__)
_LOADED = time.monotonic()
PROBE_SECONDS = 1


def uptime_seconds() -> int:
    """Seconds since this process started (Linux's own record of it), else since
    this module was loaded."""
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime
        started = ticks / os.sysconf("SC_CLK_TCK")
        return int(time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return int(time.monotonic() - _LOADED)


def _answers(check: Any) -> bool:
    try:
        check()
    except Exception as exc:  # a health check says no; it never fails itself
        log.warning("health: %s does not answer: %s", check.__name__, exc)
        return False
    return True


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    cache.set("health:probe", "1", PROBE_SECONDS)
    if cache.get("health:probe") != "1":
        raise RuntimeError("the cache kept nothing")


def _celery_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=PROBE_SECONDS) as link:
        link.ensure_connection(max_retries=1, interval_start=0, timeout=PROBE_SECONDS)


def _count(model: Any) -> int | None:
    try:
        return int(model.objects.count())
    except Exception:
        return None


def health() -> dict[str, Any]:
    database = _answers(_database)
    references: dict[str, dict[str, Any]] = {
        "redis": {"connected": _answers(_redis)},
        "celery_broker": {"connected": _answers(_celery_broker)},
        "instruments": {"count": len(catalogue())},
        "risk_presets": {"count": _count(RiskPreset) if database else None},
        "plans": {"count": _count(Plan) if database else None},
    }
    up = database and all(
        references[name]["connected"] for name in ("redis", "celery_broker")
    )
    return {
        "status": "ok" if up else "degraded",
        "version": settings.SPECTACULAR_SETTINGS["VERSION"],
        "environment": "development" if settings.DEBUG else "production",
        "database": {"connected": database, "references": references},
        "uptime": uptime_seconds(),
        "timestamp": timezone.now(),
    }


def _reachable(name: str) -> serializers.Serializer:
    return inline_serializer(name, {"connected": serializers.BooleanField()})


def _counted(name: str) -> serializers.Serializer:
    return inline_serializer(name, {"count": serializers.IntegerField(allow_null=True)})


HEALTH = inline_serializer(
    "V1Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded"]),
        "version": serializers.CharField(),
        "environment": serializers.ChoiceField(["development", "production"]),
        "database": inline_serializer(
            "V1HealthDatabase",
            {
                "connected": serializers.BooleanField(),
                "references": inline_serializer(
                    "V1HealthReferences",
                    {
                        "redis": _reachable("V1HealthRedis"),
                        "celery_broker": _reachable("V1HealthBroker"),
                        "instruments": _counted("V1HealthInstruments"),
                        "risk_presets": _counted("V1HealthRiskPresets"),
                        "plans": _counted("V1HealthPlans"),
                    },
                ),
            },
        ),
        "uptime": serializers.IntegerField(help_text="Seconds since the start."),
        "timestamp": serializers.DateTimeField(),
    },
)


class Health(APIView):
    """`GET /api/v1/health`: public; 503 when degraded."""

    authentication_classes: list[type] = []  # a bad token must not hide health
    permission_classes = [AllowAny]

    @extend_schema(responses={200: HEALTH, 503: HEALTH})
    def get(self, request: Request) -> Response:
        body = health()
        return Response(body, status=200 if body["status"] == "ok" else 503)


BREAKER_HOST = inline_serializer(
    "V1BreakerHost",
    {
        "host": serializers.CharField(),
        "state": serializers.ChoiceField(["closed", "open", "half_open"]),
        "failures": serializers.IntegerField(),
        "opened_at": serializers.DateTimeField(allow_null=True),
        "retry_at": serializers.DateTimeField(allow_null=True),
    },
)
BREAKER = inline_serializer(
    "V1Breaker",
    {
        "state": serializers.ChoiceField(["closed", "open", "half_open"]),
        "failures": serializers.IntegerField(help_text="Failures in a row."),
        "opened_at": serializers.DateTimeField(allow_null=True),
        "hosts": serializers.ListSerializer(child=BREAKER_HOST),
    },
)


RATE_BUCKET = inline_serializer(  # inline: `label` names a Field attribute
    "V1RateBucket",
    {
        "bucket": serializers.CharField(help_text="key, strategy, group, anon…"),
        "label": serializers.CharField(),
        "used": serializers.IntegerField(),
        "limit": serializers.IntegerField(allow_null=True),
        "remaining": serializers.IntegerField(allow_null=True),
        "resets_in": serializers.IntegerField(),
        "limited": serializers.BooleanField(help_text="The next hit is refused."),
    },
)


class RateSection(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(allow_null=True)
    window_seconds = serializers.IntegerField(allow_null=True)
    buckets: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=RATE_BUCKET
    )


SECTIONS = (
    "webhook_keys",
    "webhook_unauthenticated",
    "sign_in_accounts",
    "sign_in_addresses",
    "venue_logins",
)
METRICS = inline_serializer(
    "V1Metrics",
    {
        "circuit_breakers": serializers.DictField(
            child=BREAKER, help_text="By venue: projectx, tradovate, tradelocker."
        ),
        "rate_limits": inline_serializer(
            "V1RateLimits", {name: RateSection() for name in SECTIONS}
        ),
        "timestamp": serializers.DateTimeField(),
    },
)


class Metrics(APIView):
    """`GET /api/v1/metrics` (staff, or a workspace admin: their own windows)."""

    @extend_schema(responses={200: METRICS})
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        scope = metrics_scope(request.user)
        if scope is not None and not scope:
            raise Refused(
                "staff-or-admin-only",
                "Metrics are for staff and workspace admins.",
                403,
            )
        return Response(
            {
                "circuit_breakers": circuit_breakers(),
                "rate_limits": rate_limits(scope),
                "timestamp": timezone.now(),
            }
        )


urlpatterns = [
    path("health", Health.as_view(), name="api-v1-health"),
    path("metrics", Metrics.as_view(), name="api-v1-metrics"),
]
