"""One alert to a strategy followed by several ProjectX accounts: the worker runs
their executions side by side, so the venue sees the orders at once, not one
round trip after another."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from brokers.instruments.resolve import resolve
from brokers.models import BrokerAccount, Order
from brokers.venues.projectx.adapter import ProjectXAdapter
from webhooks.execution.fanout import signal_execute
from webhooks.intake.services import signal_receive
from webhooks.models import Execution, Signal
from webhooks.strategies.services import strategy_create, subscription_save

from .conftest import API_KEY, USER

ACCOUNTS = 6


@pytest.fixture
def followed(transactional_db, fake, world, settings):
    """A strategy and ACCOUNTS connected 50K Combines subscribed to it."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="copy to TopstepX"
    )
    for n in range(ACCOUNTS):
        at_venue = fake.account(USER, f"50KTC-V2-{n}", balance=Decimal(50_000))
        account = BrokerAccount.objects.create(
            workspace=world.workspace, venue="projectx", name=""
        )
        ProjectXAdapter.provision(
            account,
            {
                "firm": "topstepx",
                "user_name": USER,
                "api_key": API_KEY,
                "account_id": at_venue.id,
            },
        )
        subscription_save(strategy=strategy, account=account)
    fake.price(fake.contract_for(resolve("MNQ1!").contract or "").id, Decimal(21000))
    return key


def receive(key: str) -> int:
    body = {"action": "buy", "symbol": "MNQ1!", "qty": 1}
    result = signal_receive(raw_body=json.dumps(body).encode(), token=key)
    assert result.http_status == 202, result.body
    return int(result.body["signal_id"])


def test_the_accounts_orders_reach_the_venue_side_by_side(followed, fake, settings):
    settings.EXECUTION_FANOUT_THREADS = ACCOUNTS
    # Each placement waits until all are in flight: calls one after another
    # would each wait out gather_seconds alone.
    fake.knobs.gather = ACCOUNTS
    signal = signal_execute(signal_id=receive(followed))

    assert fake.placements.peak == ACCOUNTS
    assert signal is not None and signal.status == Signal.Status.FILLED
    executions = Execution.objects.filter(signal=signal)
    assert {e.status for e in executions} == {Execution.Status.FILLED}
    assert Order.objects.filter(status=Order.Status.FILLED).count() == ACCOUNTS
    assert len([o for o in fake.orders.values() if o.custom_tag]) == ACCOUNTS


def test_fewer_threads_than_accounts_still_fill_every_account_once(
    followed, fake, settings
):
    settings.EXECUTION_FANOUT_THREADS = 2
    signal = signal_execute(signal_id=receive(followed))

    assert fake.placements.peak <= 2
    assert signal is not None and signal.status == Signal.Status.FILLED
    assert len([o for o in fake.orders.values() if o.custom_tag]) == ACCOUNTS
