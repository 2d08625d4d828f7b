"""Ingest keys: `tfk_` + 43 url-safe characters (256 bits), kept only as a hash,
shown once; issued, revoked and restricted to source addresses here."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from itertools import count
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from billing.quotas import quota_check, venue_check
from brokers.models import BrokerAccount
from brokers.services import broker_account_register
from webhooks.intake.keyformat import (
    KEY_PATTERN,
    PREFIX,
    REDACTED,
    key_generate,
    key_hash,
    key_looks_valid,
    keys_redacted,
)
from webhooks.models import AccountGroup, ApiKey, Strategy


@transaction.atomic  # the quota's lock holds until the key is made
def api_key_issue(
    *,
    created_by: User | None,
    account: BrokerAccount | None = None,
    strategy: Strategy | None = None,
    group: AccountGroup | None = None,
    name: str = "",
) -> tuple[ApiKey, str]:
    """Issue an ingest key for one target; the plain key is returned once, not kept.
    Raises QuotaExceeded past the workspace's live keys."""
    target = account or strategy or group
    assert (
        target is not None
        and sum(x is not None for x in (account, strategy, group)) == 1
    )
    quota_check(
        workspace_id=target.workspace_id,
        kind="keys",
        used=ApiKey.objects.filter(
            workspace_id=target.workspace_id, revoked_at__isnull=True
        ).count,
    )
    plain = key_generate()
    api_key = ApiKey.objects.create(
        workspace_id=target.workspace_id,
        account=account,
        strategy=strategy,
        group=group,
        name=name,
        prefix=plain[:12],
        key_hash=key_hash(plain),
        created_by=created_by,
    )
    return api_key, plain


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


MAX_ALLOWED_NETWORKS = 50


def api_key_allow(*, api_key: ApiKey, addresses: list[str]) -> list[str]:
    """Accept alerts on this key only from these addresses or networks (none: any).

    Raises ValueError with a sentence for an entry that is not an address.
    """
    networks: list[str] = []
    for raw in addresses:
        try:
            network = ipaddress.ip_network(raw.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{raw[:40]!r} is not an address or a network.") from None
        if str(network) not in networks:
            networks.append(str(network))
    if len(networks) > MAX_ALLOWED_NETWORKS:
        raise ValueError(f"At most {MAX_ALLOWED_NETWORKS} addresses or networks.")
    ApiKey.objects.filter(pk=api_key.pk).update(allowed_ips=networks)
    api_key.allowed_ips = networks
    return networks


# Venues whose accounts we name (the others' accounts carry the venue's name).
NAMED_HERE = {"paper": "Paper", "mt4": "MetaTrader 4", "mt5": "MetaTrader 5"}


@transaction.atomic
def account_register(
    *,
    workspace: Workspace,
    user: User | None,
    venue: str,
    name: str,
    currency: str = "USD",
    options: dict[str, Any] | None = None,
) -> tuple[BrokerAccount, str]:
    """Connect an account and issue its first webhook key (seed 002 registration).
    Raises QuotaExceeded past the workspace's accounts or keys (PlanLimit past
    its plan's, or at a live venue on a paper-only plan), VenueError when the
    venue refuses."""
    venue_check(workspace_id=workspace.pk, venue=venue)
    quota_check(
        workspace_id=workspace.pk,
        kind="accounts",
        used=BrokerAccount.objects.filter(workspace=workspace).count,
    )
    if not name.strip() and venue in NAMED_HERE:  # a real venue names its own
        balance = (options or {}).get("initial_balance") if venue == "paper" else None
        name = account_name_default(workspace, venue, balance)
    account = broker_account_register(
        workspace=workspace, venue=venue, name=name, currency=currency, options=options
    )
    _, plain = api_key_issue(account=account, created_by=user, name="Default")
    return account, plain


def account_name_default(
    workspace: Workspace, venue: str, balance: Decimal | None = None
) -> str:
    """What a trader would call it: "Paper 50K", then "Paper 50K 2", "Paper 50K 3"."""
    label = NAMED_HERE.get(venue, venue.capitalize())
    if balance is not None and balance > 0:
        label = f"{label} {_size(Decimal(balance))}"
    taken = set(
        BrokerAccount.objects.filter(
            workspace=workspace, name__startswith=label
        ).values_list("name", flat=True)
    )
    if label not in taken:
        return label
    return next(f"{label} {n}" for n in count(2) if f"{label} {n}" not in taken)


def _size(balance: Decimal) -> str:
    if balance >= 1_000_000 and balance % 1_000_000 == 0:
        return f"{balance / 1_000_000:f}".split(".")[0] + "M"
    if balance >= 1_000 and balance % 1_000 == 0:
        return f"{int(balance) // 1_000}K"
    return f"{balance.normalize():,f}"


__all__ = [
    "KEY_PATTERN",
    "PREFIX",
    "REDACTED",
    "account_name_default",
    "account_register",
    "api_key_allow",
    "api_key_issue",
    "api_key_revoke",
    "key_generate",
    "key_hash",
    "key_looks_valid",
    "keys_redacted",
]
