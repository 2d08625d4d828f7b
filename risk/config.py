"""An account's risk rules as the trader edits them on the risk page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from brokers.models import BrokerAccount
from risk.models import RiskConfig, RiskState
from risk.presets import preset_values


class RiskConfigError(Exception):
    """Rules refused before they are saved; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def risk_config_update(*, account: BrokerAccount, values: dict[str, Any]) -> RiskConfig:
    """Write the trader's rules: RiskConfig field values, validated by the caller.

    Creates the config on the first save. `values` may name the preset the rules
    came from (None once the trader chose Custom); fields it leaves out keep
    their values. The next measurement moves the floor to the new limits.
    Raises RiskConfigError when the rules would end a never-measured account at
    its first measurement.
    """
    current = RiskConfig.objects.filter(account=account).first()
    merged = {
        name: values.get(name, getattr(current, name, None))
        for name in ("max_loss_limit", "starting_balance")
    }
    problem = opening_breach(account=account, values=merged)
    if problem:
        raise RiskConfigError("opening-breach", problem)
    config, _ = RiskConfig.objects.update_or_create(account=account, defaults=values)
    return config


def preset_adjustments(config: RiskConfig) -> list[str]:
    """The fields the trader changed from the config's preset."""
    if config.preset is None:
        return []
    values = preset_values(config.preset.rules, config.preset.size)
    return [name for name, value in values.items() if getattr(config, name) != value]


def opening_breach(*, account: BrokerAccount, values: dict[str, Any]) -> str:
    """Why the first measurement under `values` would end the account at once, or "".

    A never-measured account whose equity already sits at (or within the monitor's
    buffer of) the floor these rules start with would be flattened and made
    close-only within seconds: a 25K account given a 50K preset, say.
    """
    if RiskState.objects.filter(account=account, trading_day__isnull=False).exists():
        return ""  # measured before: the floor has a history of its own
    limit, start = values.get("max_loss_limit"), values.get("starting_balance")
    equity = account.equity if account.equity is not None else account.balance
    if limit is None or start is None or equity is None:
        return ""
    floor = start - limit
    buffer = limit * Decimal(settings.RISK_FLATTEN_BUFFER_PERCENT) / 100
    if equity > floor + buffer:
        return ""
    return (
        f"The account holds {equity:,.2f}: a {start:,.2f} start with a {limit:,.2f} "
        f"maximum loss puts the floor at {floor:,.2f}, so the first measurement "
        "would flatten the account and make it close-only. Set the starting "
        "balance to the account's, or pick the preset for its size."
    )
