"""Billing's costs, in process, on PostgreSQL, against the fake Stripe on loopback.

    .venv/bin/python bench/billing.py [--checks 2000] [--checkouts 50]

1. The entry allowance as an execution asks it (inside its transaction): billing
   off (no Stripe keys), a trial (its row locked, the entries in flight counted)
   and an active Pro plan (fan-out rank and accounts held counted). Percentiles
   and queries per call.
2. Stripe's webhook: `--checkouts` checkouts completed on the fake, each one's
   three events (checkout.session.completed, customer.subscription.created,
   invoice.paid) signed and posted to /api/billing/webhook, where dj-stripe
   re-reads each object from the fake and TradeFlow re-reads the customer's
   subscriptions. Percentiles per event, the Stripe calls and queries per event,
   and a replay of every event (kept once by id).

The database (BENCH_DATABASE_URL, default .../tradeflow_bench_billing) is the
bench's own: each run empties its workspaces first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import percentile  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench_billing"
)
KEY = "sk_test_" + "Bench" * 6
os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
    ALLOWED_HOSTS="127.0.0.1,testserver",
    FIELD_ENCRYPTION_KEYS="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    DJANGO_SETTINGS_MODULE="tradeflow.settings",
    LOG_LEVEL="ERROR",
    SECURE_SSL_REDIRECT="0",
    DJSTRIPE_WEBHOOK_SECRET="whsec_bench",
    STRIPE_WEBHOOK_RATE_PER_MINUTE="1000000",
)


def line(name: str, values: list[float], unit: str = "us") -> str:
    scale = 1e6 if unit == "us" else 1e3
    shown = [v * scale for v in values]
    return (
        f"  {name:<26} p50 {statistics.median(shown):8.0f} {unit}"
        f"   p95 {percentile(shown, 95):8.0f} {unit}"
        f"   p99 {percentile(shown, 99):8.0f} {unit}"
    )


def workspace(name: str) -> Any:
    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from webhooks.intake.keys import account_register

    user = User.objects.create(email=f"{name}@bench.local")
    ws = user_ensure_workspace(user=user)
    account, _ = account_register(workspace=ws, user=user, venue="paper", name=name)
    return ws, account


def allowance(checks: int) -> None:
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from billing.models import BillingAccount, Plan
    from billing.services import entry_allowance

    ws, account = workspace("allowance")
    cases = [("billing off", ""), ("trial", "trialing"), ("Pro, active", "active")]
    print(f"entry allowance, {checks} calls each (inside the execution's transaction)")
    for name, status in cases:
        settings.STRIPE_TEST_SECRET_KEY = KEY if status else ""
        if status:
            BillingAccount.objects.filter(workspace=ws).update(
                status=status, plan=Plan.objects.get(code="pro")
            )
        times = []
        for _ in range(checks):
            start = time.perf_counter()
            with transaction.atomic():
                entry_allowance(
                    workspace_id=ws.pk,
                    account=account,
                    fanout_rank=lambda: 0,
                    in_flight=lambda: 0,
                )
            times.append(time.perf_counter() - start)
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            entry_allowance(
                workspace_id=ws.pk, account=account, fanout_rank=lambda: 0,
                in_flight=lambda: 0,
            )  # fmt: skip
        print(
            line(name, times) + f"   {len(captured) - 2} queries"
        )  # not BEGIN, COMMIT


def webhooks(checkouts: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from billing.checkout import checkout_start, plans_sync_stripe
    from billing.fake_stripe import FakeStripe
    from billing.models import BillingAccount, Plan

    settings.STRIPE_TEST_SECRET_KEY = KEY
    client = Client()
    times: list[float] = []
    replays: list[float] = []
    calls: list[int] = []
    queries: list[int] = []
    with FakeStripe.running(webhook_secret="whsec_bench") as fake, fake.installed():
        plans_sync_stripe()
        pro = Plan.objects.get(code="pro")
        posted: list[tuple[bytes, dict[str, str]]] = []

        def keep(body: bytes, headers: dict[str, str]) -> int:
            posted.append((body, headers))
            return 200

        fake.deliver_to = keep
        for n in range(checkouts):
            ws, _ = workspace(f"buyer{n}")
            url = checkout_start(
                workspace=ws, plan=pro, interval="month",
                site="https://bench.example",
            ).url  # fmt: skip
            assert url is not None
            posted.clear()
            fake.deliver(fake.complete_checkout(url.rsplit("/", 1)[-1]))
            for body, headers in list(posted):
                before = len(fake.requests)
                start = time.perf_counter()
                with CaptureQueriesContext(connection) as captured:
                    answer = client.post(
                        "/api/billing/webhook", data=body,
                        content_type="application/json",
                        headers={"Stripe-Signature": headers["Stripe-Signature"]},
                    )  # fmt: skip
                times.append(time.perf_counter() - start)
                assert answer.status_code == 200, answer.content
                calls.append(len(fake.requests) - before)
                queries.append(len(captured))
                start = time.perf_counter()
                client.post(
                    "/api/billing/webhook", data=body, content_type="application/json",
                    headers={"Stripe-Signature": headers["Stripe-Signature"]},
                )  # fmt: skip
                replays.append(time.perf_counter() - start)
            assert BillingAccount.objects.get(workspace=ws).status == "active"
    print(f"\nStripe webhook, {checkouts} checkouts, {len(times)} events")
    print(line("event processed", times, "ms"))
    print(line("the same event replayed", replays, "ms"))
    print(
        f"  per event: {statistics.median(calls):.0f} Stripe calls (median, "
        f"max {max(calls)}), {statistics.median(queries):.0f} queries (median, "
        f"max {max(queries)}); every workspace active"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--checkouts", type=int, default=50)
    args = parser.parse_args()
    from bench.stack import database_prepare

    database_prepare(DATABASE_URL, dict(os.environ))
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{User._meta.db_table}" CASCADE')
        cursor.execute(
            'TRUNCATE "djstripe_event", "djstripe_webhookeventtrigger" CASCADE'
        )
    allowance(args.checks)
    webhooks(args.checkouts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
