"""`GET /api/calendar/events` (seed 002's news calendar lockout): the calendar the
news blackout reads, filtered by days, impact and currency, paginated, each event
saying where it stops new entries on the caller's accounts, exactly as the risk
check does; the events are everyone's, the blackouts only the caller's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from paperbroker.services import quote_record
from risk.models import EconomicEvent, RiskConfig
from risk.services import risk_check
from testkit import api_client_for as api

URL = "/api/calendar/events"
# The frozen clock: Tuesday 2026-11-24, noon in Chicago, 18:00 UTC.
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def calendar(db) -> dict[str, EconomicEvent]:
    def event(uid: str, name: str, currency: str, impact: str, hours: float):
        return EconomicEvent.objects.create(
            uid=uid,
            name=name,
            currency=currency,
            impact=impact,
            at=NOW + timedelta(hours=hours),
        )

    return {
        "yesterday": event("y", "USD Claims", "USD", "high", -24),
        "cpi": event("cpi", "USD CPI", "USD", "high", 1.5),
        "ecb": event("ecb", "EUR ECB rate", "EUR", "medium", 24),
        "redbook": event("rb", "USD Redbook", "USD", "low", 72),
        "boj": event("boj", "JPY BoJ rate", "JPY", "high", 24 * 10),
    }


@pytest.fixture
def news_rule(world) -> RiskConfig:
    return RiskConfig.objects.create(
        account=world.account, news_blackout_minutes=10, news_flatten_before=True
    )


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def names(body: dict) -> list[str]:
    return [event["name"] for event in body["events"]]


def test_the_next_week_soonest_first_with_where_each_blacks_out(
    world, calendar, news_rule
):
    response = api(world.owner).get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert names(body) == ["USD CPI", "EUR ECB rate", "USD Redbook"]
    assert (body["total"], body["offset"], body["limit"]) == (3, 0, 100)
    assert (body["from"], body["to"]) == ("2026-11-24", "2026-12-01")
    cpi, ecb, _ = body["events"]
    assert (cpi["impact"], cpi["currency"], cpi["blacks_out"]) == ("high", "USD", True)
    [blackout] = cpi["blackouts"]
    assert blackout["account_id"] == world.account.pk
    assert blackout["account_name"] == world.account.name
    assert when(blackout["starts_at"]) == calendar["cpi"].at - timedelta(minutes=10)
    assert when(blackout["ends_at"]) == calendar["cpi"].at + timedelta(minutes=10)
    assert blackout["flatten_before"] is True
    # The rule heeds high impact only (its default): the ECB does not stop entries.
    assert (ecb["blacks_out"], ecb["blackouts"]) == (False, [])


def test_a_blackout_is_where_the_risk_check_refuses_entries(world, calendar, news_rule):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    [blackout] = api(world.owner).get(URL).json()["events"][0]["blackouts"]
    starts, ends = when(blackout["starts_at"]), when(blackout["ends_at"])

    def entry(at: datetime) -> str:
        decision = risk_check(
            account=world.account,
            symbol="BTCUSDT",
            side="buy",
            quantity=Decimal(1),
            at=at,
        )
        return decision.rule

    assert entry(starts) == entry(ends) == "news-blackout"
    assert entry(starts - timedelta(minutes=1)) == ""
    assert entry(ends + timedelta(minutes=1)) == ""


def test_a_wider_rule_blacks_out_medium_impact_too(world, calendar, news_rule):
    news_rule.news_min_impact = "medium"
    news_rule.save()
    ecb = api(world.owner).get(URL).json()["events"][1]
    assert (ecb["name"], ecb["blacks_out"]) == ("EUR ECB rate", True)


def test_days_impact_and_currency_filter_the_calendar(world, calendar):
    client = api(world.owner)
    ranged = client.get(URL, {"from": "2026-11-23", "to": "2026-12-04"}).json()
    assert names(ranged) == [
        "USD Claims",
        "USD CPI",
        "EUR ECB rate",
        "USD Redbook",
        "JPY BoJ rate",
    ]
    # `to` is a whole day: an event at its last minute is in.
    one_day = client.get(URL, {"from": "2026-11-25", "to": "2026-11-25"}).json()
    assert names(one_day) == ["EUR ECB rate"]
    assert names(client.get(URL, {"impact": "high,medium"}).json()) == [
        "USD CPI",
        "EUR ECB rate",
    ]
    assert names(client.get(URL, {"currency": "usd"}).json()) == [
        "USD CPI",
        "USD Redbook",
    ]
    both = client.get(URL, {"currency": "EUR,JPY", "to": "2026-12-31"}).json()
    assert names(both) == ["EUR ECB rate", "JPY BoJ rate"]


def test_pages_follow_offset_and_limit(world, calendar):
    body = api(world.owner).get(URL, {"offset": 1, "limit": 1}).json()
    assert names(body) == ["EUR ECB rate"]
    assert (body["total"], body["offset"], body["limit"]) == (3, 1, 1)


def test_a_viewer_sees_the_blackouts_and_an_outsider_only_the_events(
    world, calendar, news_rule
):
    viewer = api(world.viewer).get(URL).json()
    assert viewer["events"][0]["blacks_out"] is True
    outsider = api(world.outsider).get(URL)
    assert outsider.status_code == 200
    assert names(outsider.json()) == ["USD CPI", "EUR ECB rate", "USD Redbook"]
    assert all(not e["blacks_out"] for e in outsider.json()["events"])


def test_an_anonymous_request_is_a_401(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not-authenticated"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"from": "2026-11-24", "to": "2026-11-20"}, "to"),
        ({"from": "9999-12-30"}, "from"),
        ({"impact": "high,extreme"}, "impact"),
        ({"currency": "US"}, "currency"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(world, query, field):
    response = api(world.owner).get(URL, query)
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["code"]) == (False, "validation-error")
    assert field in body["errors"]
