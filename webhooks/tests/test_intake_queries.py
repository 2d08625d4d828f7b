"""The intake's cost in queries: a regression here slows every alert."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from webhooks.models import Signal
from webhooks.tasks import signal_execute_task

URL = "/api/unify/v1/webhook/paper"
ALERT = {"action": "buy", "symbol": "MNQ1!", "qty": 1, "price": 21000, "id": "tv-q-1"}

# Outside a caller's transaction, as in production: nothing wraps the INSERT.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch) -> list[tuple[object, ...]]:
    """What the intake hands to Celery (the broker is the outer edge here)."""
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(
        signal_execute_task,
        "apply_async",
        lambda args, **options: calls.append(tuple(args)),
    )
    return calls


def post(key: str, body: object = ALERT):
    return Client().post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        REMOTE_ADDR="52.89.214.238",
    )


def test_an_accepted_alert_costs_the_key_lookup_the_plan_and_one_insert(
    world, published, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        response = post(world.api_key)
    assert response.status_code == 202


def test_an_accepted_alert_is_published_once_with_only_its_signal_id(world, published):
    response = post(world.api_key)
    assert published == [(response.json()["signal_id"],)]


def test_a_refused_key_costs_the_lookup_and_the_log_row(
    world, published, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = post("tfk_" + "x" * 43)
    assert response.status_code == 401
    assert Signal.objects.get().error_code == "invalid-key"
    assert published == []
