"""`manage.py demo_data`: a demo user, a paper account, its key and a curl to try.

Idempotent: run it again and you get the same user, account, password and webhook
URLs, so a URL pasted into TradingView keeps working across `make run`s. Keys are
kept only as hashes in the database, so the plain ones are remembered in
`TRADEFLOW_VAR_DIR/demo.json` (readable by its owner only) on this machine; delete
that file to be given a new password and new keys (the old keys stay valid until
revoked on the keys page).
"""

from __future__ import annotations

import json
import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

from accounts.models import User, Workspace
from accounts.services import user_ensure_workspace
from brokers.instruments.resolve import resolve
from brokers.models import BrokerAccount
from paperbroker.models import Quote
from paperbroker.services import quote_record
from webhooks.intake.examples import example_curl
from webhooks.intake.keyformat import key_hash, key_looks_valid
from webhooks.intake.keys import account_register, api_key_issue
from webhooks.models import ApiKey, Strategy
from webhooks.strategies.services import strategy_create, subscription_save

DEMO_EMAIL = "demo@tradeflow.local"
DEMO_STRATEGY = "Demo strategy"
DEMO_PRICES = {
    "MNQ1!": "21000.25",
    "ES1!": "6000.50",
    "EURUSD": "1.08450",
    "BTCUSDT": "95000.00",
}


class Command(BaseCommand):
    help = "Create or refresh the demo user, paper account and webhook key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default=settings.SITE_URL)
        parser.add_argument(
            "--json-file", help="Also write the credentials here as JSON."
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        remembered = _remembered()
        user = User.objects.filter(email=DEMO_EMAIL).first()
        password = remembered.get("password", "")
        if user is None:
            password = password or secrets.token_urlsafe(12)
            user = User.objects.create_user(email=DEMO_EMAIL, password=password)
        elif not (password and user.check_password(password)):
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
        workspace = user_ensure_workspace(user=user)
        account = BrokerAccount.objects.filter(
            workspace=workspace, venue="paper"
        ).first()
        if account is None:
            account, key = account_register(
                workspace=workspace,
                user=user,
                venue="paper",
                name="Demo paper 50K",
                options={"initial_balance": Decimal("50000")},
            )
        else:
            key = (
                _live(remembered.get("api_key"), account=account)
                or api_key_issue(account=account, created_by=user, name="Demo")[1]
            )
        strategy_key = self._strategy(workspace, user, account, remembered)
        _remember({"password": password, "api_key": key, "strategy_key": strategy_key})
        # The demo's simulated market starts here, once: a later `make run` keeps
        # where the synthetic feed has walked it (it was reset to these each time).
        for symbol, price in DEMO_PRICES.items():
            resolved = resolve(symbol)
            contract = resolved.contract or resolved.root
            if not Quote.objects.filter(symbol=contract, account=None).exists():
                quote_record(symbol=contract, last=Decimal(price), source="synthetic")
        self._print(
            options["base_url"].rstrip("/"),
            password,
            account,
            key,
            strategy_key,
            options.get("json_file"),
        )

    def _strategy(
        self,
        workspace: Workspace,
        user: User,
        account: BrokerAccount,
        remembered: dict[str, str],
    ) -> str:
        """A strategy the demo account follows, and its remembered (or a new) key."""
        strategy = Strategy.objects.filter(
            workspace=workspace, name=DEMO_STRATEGY
        ).first()
        if strategy is None:
            strategy, key = strategy_create(
                workspace=workspace, user=user, name=DEMO_STRATEGY
            )
        else:
            key = (
                _live(remembered.get("strategy_key"), strategy=strategy)
                or (api_key_issue(strategy=strategy, created_by=user, name="Demo")[1])
            )
        subscription_save(strategy=strategy, account=account)
        return key

    def _print(
        self,
        base: str,
        password: str,
        account: BrokerAccount,
        key: str,
        strategy_key: str,
        json_file: str | None,
    ) -> None:
        url = base + reverse("webhook", kwargs={"broker": "paper"})
        curl = example_curl(url=url, key=key, venue="paper")
        lines = [
            "",
            "TradeFlow demo data is ready.",
            f"  Log in at   {base}/auth/login/",
            f"  Email       {DEMO_EMAIL}",
            f"  Password    {password}",
            f"  Account     {account.name} (id {account.pk})",
            f"  Webhook key {key}",
            f"  TradingView webhook URL: {base}/webhook/tradingview/{key}",
            f"  Strategy    {DEMO_STRATEGY!r}, followed by the account: "
            f"{base}/webhook/tradingview/{strategy_key}",
            "",
            "Send a test alert:",
            f"  {curl}",
            "",
        ]
        self.stdout.write("\n".join(lines))
        if json_file:
            data = {
                "email": DEMO_EMAIL,
                "password": password,
                "account_id": account.pk,
                "api_key": key,
                "webhook_url": url,
                "curl": curl,
                "strategy_key": strategy_key,
            }
            Path(json_file).write_text(json.dumps(data))


def _state_file() -> Path:
    return Path(settings.VAR_DIR) / "demo.json"


def _remembered() -> dict[str, str]:
    try:
        data = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


def _remember(data: dict[str, str]) -> None:
    path = _state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)


def _live(plain: str | None, **target: Any) -> str | None:
    """`plain` when it is still a live key of `target`, else None."""
    if not plain or not key_looks_valid(plain):
        return None
    live = ApiKey.objects.filter(
        key_hash=key_hash(plain), revoked_at__isnull=True, **target
    )
    return plain if live.exists() else None
