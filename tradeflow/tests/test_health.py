"""Seed 004's `/api/v1/health` (public, no secret in it, 503 when a dependency
is down) and `/api/v1/metrics` (staff and admins: the venues' circuit breakers
and the rate-limit windows counting now, each admin only their own)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import User
from brokers.instruments.catalogue import catalogue
from brokers.models import BrokerAccount
from brokers.venues.breaker import Breaker
from brokers.venues.projectx.client import Login
from common.ratelimit import rate_hit
from testkit import api_client_for as api
from testkit.factories import PaperAccountFactory
from tradeflow.tests.test_openapi import answer_schema
from webhooks.models import ApiKey

pytestmark = pytest.mark.usefixtures("clock")


def test_health_is_public_and_says_what_the_app_depends_on(db):
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["version"]) == ("ok", "1.0.0")
    assert body["environment"] in ("development", "production")
    database = body["database"]
    assert database["connected"] is True
    references = database["references"]
    assert references["redis"] == {"connected": True}
    assert references["celery_broker"] == {"connected": True}
    assert references["instruments"]["count"] == len(catalogue())
    assert isinstance(body["uptime"], int) and body["uptime"] >= 0
    text = response.content.decode()
    for secret in (settings.SECRET_KEY, settings.REDIS_URL, "postgres://"):
        assert secret not in text


def test_health_ignores_a_bad_token_rather_than_hide(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tft_not-a-token")
    assert client.get("/api/v1/health").status_code == 200


def test_a_broker_that_does_not_answer_makes_it_degraded(db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["references"]["celery_broker"] == {"connected": False}
    assert body["database"]["references"]["redis"] == {"connected": True}


def open_breaker(host: str) -> None:
    for _ in range(settings.VENUE_BREAKER_FAILURES):
        breaker = Breaker("ProjectX", host)
        breaker.admit()
        breaker.record(ok=False)


def test_metrics_show_every_venues_breaker_and_an_open_one(world):
    open_breaker("api.alphaticks.projectx.com")
    body = api(world.owner).get("/api/v1/metrics").json()
    breakers = body["circuit_breakers"]
    assert set(breakers) == {"projectx", "tradovate", "tradelocker"}
    projectx = breakers["projectx"]
    assert (projectx["state"], projectx["failures"]) == (
        "open",
        settings.VENUE_BREAKER_FAILURES,
    )
    [host] = projectx["hosts"]
    assert host["host"] == "api.alphaticks.projectx.com" and host["opened_at"]
    assert breakers["tradovate"] == {
        "state": "closed",
        "failures": 0,
        "opened_at": None,
        "hosts": [],
    }


def test_an_admin_sees_the_windows_of_their_workspace_only(world):
    ours = ApiKey.objects.get(account=world.account)
    theirs_account = PaperAccountFactory.create(workspace=world.other_workspace)
    theirs = ApiKey.objects.get(account=theirs_account)
    for _ in range(3):
        rate_hit(f"key:{ours.pk}", settings.WEBHOOK_RATE_LIMIT_PER_MINUTE)
    rate_hit(f"key:{theirs.pk}", settings.WEBHOOK_RATE_LIMIT_PER_MINUTE)
    rate_hit("basic-fail-user:viewer@example.com", 10)
    rate_hit("basic-fail-user:outsider@example.com", 10)
    rate_hit("basic-fail:203.0.113.9", 10)
    rate_hit("anon:203.0.113.9", 30)

    limits = api(world.trader).get("/api/v1/metrics").json()["rate_limits"]
    [key] = limits["webhook_keys"]["buckets"]
    assert key["label"].startswith(ours.prefix) and key["used"] == 3
    assert key["remaining"] == settings.WEBHOOK_RATE_LIMIT_PER_MINUTE - 3
    assert 0 < key["resets_in"] <= 60 and key["limited"] is False
    [sign_in] = limits["sign_in_accounts"]["buckets"]
    assert sign_in["label"] == "viewer@example.com"
    assert limits["sign_in_addresses"]["buckets"] == []  # staff's alone
    assert limits["webhook_unauthenticated"]["buckets"] == []


def test_staff_see_every_window(world):
    staff = User.objects.create_user(
        email="staff@example.com", password="a-Strong-pass-4242", is_staff=True
    )
    rate_hit("basic-fail:203.0.113.9", 10)
    rate_hit("anon:203.0.113.9", 30)
    rate_hit("basic-fail-user:outsider@example.com", 10)
    limits = api(staff).get("/api/v1/metrics").json()["rate_limits"]
    assert [b["label"] for b in limits["sign_in_addresses"]["buckets"]] == [
        "203.0.113.9"
    ]
    assert [b["label"] for b in limits["webhook_unauthenticated"]["buckets"]] == [
        "203.0.113.9"
    ]
    assert [b["label"] for b in limits["sign_in_accounts"]["buckets"]] == [
        "outsider@example.com"
    ]


def test_metrics_are_for_staff_and_admins(world):
    response = api(world.viewer).get("/api/v1/metrics")
    assert (response.status_code, response.json()["code"]) == (
        403,
        "staff-or-admin-only",
    )
    anonymous = APIClient().get("/api/v1/metrics")
    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "not-authenticated",
    )


def test_a_venue_logins_allowance_is_shown_by_its_accounts(world):
    login = {"firm": "topstepx", "user_name": "trader", "api_key": "px-key"}
    BrokerAccount.objects.create(
        workspace=world.workspace,
        venue="projectx",
        name="50KTC-V2-1",
        external_id="7",
        credentials=json.dumps(login),
    )
    key = Login("https://api.topstepx.com", "trader", "px-key").key
    for _ in range(5):
        rate_hit(f"projectx:{key}:calls", settings.PROJECTX_CALLS_PER_MINUTE)
    [ours] = (
        api(world.owner)
        .get("/api/v1/metrics")
        .json()["rate_limits"]["venue_logins"]["buckets"]
    )
    assert ours["label"] == "projectx calls: 50KTC-V2-1"
    assert (ours["used"], ours["limit"]) == (5, settings.PROJECTX_CALLS_PER_MINUTE)
    assert "px-key" not in json.dumps(ours)
    theirs = api(world.outsider).get("/api/v1/metrics").json()["rate_limits"]
    assert theirs["venue_logins"]["buckets"] == []


def test_what_health_and_metrics_answer_is_what_their_schema_says(world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    open_breaker("api.topstepx.com")
    rate_hit(f"key:{ApiKey.objects.get(account=world.account).pk}", 100)
    rate_hit("basic-fail-user:viewer@example.com", 10)
    for path, client in (
        ("/api/v1/health", APIClient()),
        ("/api/v1/metrics", api(world.owner)),
    ):
        response = client.get(path)
        assert response.status_code == 200, response.content
        jsonschema.validate(response.json(), answer_schema(schema, path))
