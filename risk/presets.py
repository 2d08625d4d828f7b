"""Prop-firm presets: loaded from presets.json, applied to an account's config."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

PRESETS_PATH = Path(__file__).with_name("presets.json")
META = {"key", "firm", "program", "size", "source", "as_of"}
MONEY = {"profit_target", "max_loss_limit", "daily_loss_limit", "max_risk_per_trade"}


def presets_load(model: Any) -> int:
    """Create or update every preset in presets.json (`model`: RiskPreset, or its
    historical version inside a migration). Returns how many were written."""
    doc = json.loads(PRESETS_PATH.read_text())
    for raw in doc["presets"]:
        rules = {k: v for k, v in raw.items() if k not in META}
        model.objects.update_or_create(
            key=raw["key"],
            defaults={
                "firm": raw["firm"],
                "program": raw["program"],
                "size": None if raw["size"] is None else Decimal(raw["size"]),
                "rules": rules,
                "source": raw["source"],
                "as_of": date.fromisoformat(raw["as_of"]),
            },
        )
    return len(doc["presets"])


def preset_values(rules: dict[str, Any], size: Decimal | None) -> dict[str, Any]:
    """RiskConfig field values from a preset's rules (money as Decimal)."""
    values: dict[str, Any] = {"starting_balance": size}
    for name, value in rules.items():
        if name in MONEY or name in ("max_contracts", "consistency_percent"):
            values[name] = None if value is None else Decimal(str(value))
        else:
            values[name] = value
    return values
