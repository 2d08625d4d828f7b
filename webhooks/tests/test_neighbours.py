"""One tenant cannot slow another (issue 12): quotas per workspace, alerts on a
queue and workers of their own, account syncs in a few chunks per venue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from celery import current_app

from brokers import tasks as broker_tasks
from testkit import api_client_for, client_for
from testkit.factories import PaperAccountFactory


def test_a_workspace_past_its_account_quota_is_refused_and_its_neighbour_is_not(
    world, settings
):
    settings.WORKSPACE_MAX_ACCOUNTS = 2  # the world's account and one more
    owner = api_client_for(world.owner)
    body = {"name": "more", "initial_balance": "1000"}
    assert owner.post("/register/paper", body, format="json").status_code == 201
    refused = owner.post("/register/paper", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "quota-exceeded"
    assert "the most one may have" in refused.json()["detail"]
    page = client_for(world.owner).post(
        "/accounts/new/", {"name": "p", "initial_balance": "1000", "currency": "USD"}
    )
    assert page.status_code == 400 and "the most one may have" in page.content.decode()
    neighbour = api_client_for(world.outsider)
    assert neighbour.post("/register/paper", body, format="json").status_code == 201
    assert world.workspace.broker_accounts.count() == 2


def test_keys_strategies_and_groups_have_quotas_too(world, settings):
    settings.WORKSPACE_MAX_STRATEGIES = 1
    settings.WORKSPACE_MAX_GROUPS = 1
    owner = api_client_for(world.owner)
    assert owner.post("/api/v1/bots/create?name=one").status_code == 201
    second = owner.post("/api/v1/bots/create?name=two")
    assert (second.status_code, second.json()["code"]) == (403, "quota-exceeded")
    assert (
        owner.post("/api/v1/groups/", {"name": "g"}, format="json").status_code == 201
    )
    again = owner.post("/api/v1/groups/", {"name": "h"}, format="json")
    assert (again.status_code, again.json()["code"]) == (403, "quota-exceeded")
    settings.WORKSPACE_MAX_KEYS = 3  # the account's, the bot's and the group's
    page = client_for(world.owner).post(
        f"/accounts/{world.account.pk}/keys/new/", follow=True
    )
    assert "the most one may have" in page.content.decode()


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("webhooks.tasks.signal_execute_task", "orders"),
        ("webhooks.tasks.execution_run_task", "orders"),
        ("brokers.tasks.accounts_sync_chunk_task", "celery"),
        ("risk.tasks.accounts_measure_task", "celery"),
        ("webhooks.tasks.signals_sweep_task", "celery"),
    ],
)
def test_alerts_run_on_their_own_queue_and_housekeeping_on_another(task, queue):
    assert current_app.amqp.router.route({}, task)["queue"].name == queue


def test_the_sync_beat_queues_a_chunk_per_hundred_accounts_of_a_venue(
    world, monkeypatch
):
    monkeypatch.setattr(broker_tasks, "SYNC_CHUNK", 2)
    for _ in range(4):
        PaperAccountFactory.create(workspace=world.workspace, balance=Decimal(1000))
    queued: list[list[int]] = []
    monkeypatch.setattr(
        broker_tasks.accounts_sync_chunk_task, "delay", lambda ids: queued.append(ids)
    )
    assert broker_tasks.accounts_sync_task() == 3  # five accounts, chunks of two
    assert sorted(pk for chunk in queued for pk in chunk) == sorted(
        world.workspace.broker_accounts.values_list("pk", flat=True)
    )
    assert broker_tasks.accounts_sync_chunk_task(queued[0]) == 2
