"""The monitor's sweep: venues measured many accounts at a time, quiet accounts
only marked, one sweep at a time in chunks, busy accounts first."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokers.adapters.base import VenueAdapter
from brokers.models import BrokerAccount
from paperbroker.accounting import account_state
from paperbroker.adapter import PaperAdapter
from paperbroker.models import PaperAccount
from paperbroker.services import quote_record
from risk import monitor, tasks
from risk.models import RiskConfig, RiskState, Violation
from webhooks.execution.submit import signal_submit

# Orders sent through the API are executed by a worker: inline here.
pytestmark = pytest.mark.usefixtures("tasks_inline")


@pytest.fixture
def accounts(world):
    """The world's paper account and two more, all with rules."""
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    opened = [world.account]
    for n in range(2):
        account = BrokerAccount.objects.create(
            workspace=world.workspace, venue="paper", name=f"Paper {n}"
        )
        PaperAdapter.provision(account, {"initial_balance": "25000"})
        opened.append(account)
    for account in opened:
        RiskConfig.objects.create(account=account, daily_loss_limit=Decimal(1000))
    return opened


def buy(world, account, qty=2):
    data = {"action": "buy", "symbol": "BTCUSDT", "qty": qty}
    signal = signal_submit(user=world.owner, data=data, account=account)
    assert signal.executions.get().status == "filled"


def test_the_paper_venue_measures_many_accounts_as_one_at_a_time_would(world, accounts):
    buy(world, accounts[0])
    paper = PaperAccount.objects.get(broker_account=accounts[0])
    quote_record(symbol="BTCUSDT", last=Decimal(90), source="manual")
    quote_record(symbol="BTCUSDT", last=Decimal(95), source="manual", account=paper)
    many = PaperAdapter.measure_many(accounts)
    one_by_one = VenueAdapter.measure_many.__func__(PaperAdapter, accounts)
    assert many == one_by_one
    assert many[accounts[0].pk].equity == account_state(paper).equity
    assert not many[accounts[0].pk].flat and many[accounts[1].pk].flat


def test_an_account_that_did_not_move_is_only_marked_measured(
    world, accounts, monkeypatch
):
    assert monitor.accounts_monitor() == 3  # the first measure of each
    full: list[int] = []
    original = monitor.risk_monitor

    def counted(**kwargs):
        full.append(kwargs["account"].pk)
        return original(**kwargs)

    monkeypatch.setattr(monitor, "risk_monitor", counted)
    RiskState.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    assert monitor.accounts_monitor() == 3
    assert full == []  # nothing moved: one UPDATE marked all three
    assert not RiskState.objects.filter(
        updated_at__lt=timezone.now() - timedelta(minutes=1)
    ).exists()
    buy(world, accounts[1])  # measured after its fill
    quote_record(symbol="BTCUSDT", last=Decimal(80), source="manual")
    full.clear()
    assert monitor.accounts_monitor() == 1  # the one holding a position
    assert full == [accounts[1].pk]


def test_a_quiet_account_still_gets_its_scheduled_flatten(world, accounts):
    monitor.accounts_monitor()
    buy(world, accounts[2])
    monitor.accounts_monitor()
    RiskConfig.objects.filter(account=accounts[2]).update(
        flatten_at=(timezone.now() - timedelta(minutes=1)).time(), timezone="UTC"
    )
    monitor.accounts_monitor()
    (violation,) = Violation.objects.filter(account=accounts[2])
    assert violation.rule == "flatten-time"
    assert not PaperAdapter(accounts[2]).positions()


def test_the_beat_queues_chunks_busy_accounts_first_one_sweep_at_a_time(
    world, accounts, monkeypatch
):
    tasks._redis().delete(tasks.SWEEP_KEY)
    monitor.accounts_monitor()
    buy(world, accounts[2])
    RiskState.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.setattr(monitor, "SWEEP_CHUNK", 2)
    monkeypatch.setattr(tasks, "SWEEP_CHUNK", 2)
    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.accounts_measure_task, "delay", queued.append)
    assert tasks.accounts_monitor_task() == 3
    assert queued == [[accounts[2].pk, accounts[0].pk], [accounts[1].pk]]
    assert tasks.accounts_monitor_task() == 0  # the first sweep still runs
    assert len(queued) == 2
    for chunk in queued:
        tasks.accounts_measure_task(chunk)
    assert tasks._redis().get(tasks.SWEEP_KEY) is None  # the sweep is over
    assert tasks.accounts_monitor_task() == 1  # only the busy one is due now


def test_the_sweep_tells_open_pages_of_every_account_that_moved_at_once(
    world, accounts, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from common.realtime import workspace_group

    monitor.accounts_monitor()
    buy(world, accounts[0])
    buy(world, accounts[1])
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(workspace_group(world.workspace.pk), channel)
    quote_record(symbol="BTCUSDT", last=Decimal(90), source="manual")
    with django_capture_on_commit_callbacks(execute=True):
        assert monitor.accounts_monitor() == 2

    async def drain() -> list[dict]:
        events: list[dict] = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.5)
            except TimeoutError:
                return events
            events.append(message["event"])

    received = async_to_sync(drain)()
    told = {e["account_id"] for e in received if e["type"] == "account.update"}
    assert told == {accounts[0].pk, accounts[1].pk}
