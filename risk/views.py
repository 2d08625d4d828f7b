"""Resuming an account after the kill switch, and each account's risk
page: its rules (from a firm's preset or the trader's own), live gauges of the
room left before each limit, and the violations caught.

The risk page renders whole, or one named fragment (gauges, violations) that
the page re-fetches when the websocket says the account changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.scoping import user_can
from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.selectors import account_for_user_or_404
from common.numbers import plain
from risk.config import RiskConfigError, preset_adjustments, risk_config_update
from risk.forms import PresetPickerForm, RiskConfigForm, preset_name
from risk.models import RiskConfig, RiskPreset, RiskState, Violation
from risk.monitor import risk_monitor
from risk.selectors import risk_metrics
from risk.services import account_locks, risk_config_apply_preset, trading_resume

ZERO, QUARTER, HALF = Decimal(0), Decimal("0.25"), Decimal("0.5")


@login_required
@require_POST
def account_resume(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_user_or_404(request.user, pk, Perm.TRADE)
    if trading_resume(account=account):
        messages.success(request, f"{account.name} may open positions again.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("dashboard")


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


# --- Risk page ------------------------------------------------------------------------

FRAGMENTS = {"gauges", "violations"}
VIOLATIONS_SHOWN = 50
ZONES = ["America/Chicago", "America/New_York", "Europe/London", "UTC"]
RULE_NAMES = {
    "max-loss": "Maximum loss (floor)",
    "daily-loss": "Daily loss limit",
    "flatten-time": "Daily flatten time",
    "news-flatten": "Flatten before news",
}
ACTION_NAMES = {
    "flatten-close-only": "Flattened, made close-only",
    "block": "New positions blocked for the session",
    "flatten": "Flattened",
    "flatten_lock": "Flattened, locked for the session",
}


def _config(account: BrokerAccount) -> RiskConfig:
    """The account's rules, or unsaved defaults starting from its balance."""
    config = RiskConfig.objects.select_related("preset").filter(account=account)
    return config.first() or RiskConfig(
        account=account, starting_balance=account.balance
    )


def _presets() -> QuerySet[RiskPreset]:
    # The stored "custom" preset has no rules: the picker's Custom keeps the values.
    return RiskPreset.objects.exclude(key="custom")


@login_required
@require_http_methods(["GET", "POST"])
def account_risk(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the rules; POST copies the chosen preset, or saves the form when
    the preset is unchanged or Custom. Invalid input saves nothing."""
    if request.method == "GET":
        return _risk_page(request, account_for_user_or_404(request.user, pk))
    account = account_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
    config = _config(account)
    picker = PresetPickerForm(request.POST, presets=_presets())
    form = RiskConfigForm(request.POST, instance=config)
    if not picker.is_valid():
        return _risk_page(request, account, picker=picker, form=form, status=400)
    preset: RiskPreset | None = picker.cleaned_data["preset"]
    if preset is not None and preset.pk != config.preset_id:
        return _apply_preset(request, account, preset)
    if not form.is_valid():
        return _risk_page(request, account, picker=picker, form=form, status=400)
    values = {**form.cleaned_data, "preset": preset}
    try:
        risk_config_update(account=account, values=values)
    except RiskConfigError as exc:
        form.add_error(None, exc.message)
        return _risk_page(request, account, picker=picker, form=form, status=400)
    messages.success(request, f"Saved: {account.name}'s orders now meet these rules.")
    return redirect("account-risk", pk=account.pk)


def _apply_preset(
    request: HttpRequest, account: BrokerAccount, preset: RiskPreset
) -> HttpResponse:
    name = preset_name(preset)
    try:
        risk_config_apply_preset(account=account, preset=preset)
    except RiskConfigError as exc:
        messages.error(request, f"{name} was not applied. {exc.message}")
        return redirect("account-risk", pk=account.pk)
    messages.success(
        request,
        f"Copied the rules of {name} (as of {preset.as_of:%Y-%m-%d}). "
        "Adjust them below if your account differs.",
    )
    return redirect("account-risk", pk=account.pk)


def _risk_page(
    request: HttpRequest,
    account: BrokerAccount,
    *,
    picker: PresetPickerForm | None = None,
    form: RiskConfigForm | None = None,
    status: int = 200,
) -> HttpResponse:
    config = _config(account)
    can_manage = user_can(request.user, account.workspace, Perm.MANAGE_ACCOUNTS)
    form = form or RiskConfigForm(instance=config, read_only=not can_manage)
    picker = picker or PresetPickerForm(
        initial={"preset": config.preset},
        presets=_presets(),
        read_only=not can_manage,
    )
    context = {
        **_live_context(request, account, config),
        "form": form,
        "picker": picker,
        "can_manage": can_manage,
        "adjusted": [
            form.fields[name].label if name in form.fields else name
            for name in preset_adjustments(config)
        ],
        "preset_name": preset_name(config.preset) if config.preset else "",
        "zones": ZONES,
    }
    return render(request, "risk/account_risk.html", context, status=status)


@login_required
def account_risk_fragment(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One live section of the risk page, re-fetched when the websocket says so."""
    if name not in FRAGMENTS:
        raise Http404
    account = account_for_user_or_404(request.user, pk)
    context = _live_context(request, account, _config(account))
    return render(request, f"risk/account_risk.html#{name}", context)


@login_required
@require_POST
def account_risk_measure(request: HttpRequest, pk: int) -> HttpResponse:
    """Measure the account at its venue now, as the beat does every few seconds,
    and act on a breach. HTMX gets the refreshed gauges and violations."""
    account = account_for_user_or_404(request.user, pk, Perm.TRADE)
    problem = ""
    try:
        caught = risk_monitor(account=account)
    except VenueError as exc:
        caught, problem = [], f"The venue did not answer: {exc.message}"
    account.refresh_from_db()
    if getattr(request, "htmx", False):
        context = _live_context(request, account, _config(account))
        context["problem"] = problem
        return render(request, "risk/account_risk.html#measured", context)
    if problem:
        messages.error(request, problem)
    elif caught:
        messages.error(request, f"Measured: {_count(len(caught), 'limit')} reached.")
    else:
        messages.success(request, "Measured.")
    return redirect("account-risk", pk=account.pk)


def _live_context(
    request: HttpRequest, account: BrokerAccount, config: RiskConfig
) -> dict[str, Any]:
    state = RiskState.objects.filter(account=account).first()
    metrics = risk_metrics(account)
    violations = Violation.objects.filter(account=account)[:VIOLATIONS_SHOWN]
    return {
        "account": account,
        "config": config,
        "measured_at": metrics["measured_at"],
        "equity": metrics["equity"],
        "can_trade": user_can(request.user, account.workspace, Perm.TRADE),
        "gauges": risk_gauges(config, state, metrics) if config.pk else [],
        "flags": account_flags(account, config, state),
        "violations": [
            (v, RULE_NAMES.get(v.rule, v.rule), ACTION_NAMES.get(v.action, v.action))
            for v in violations
        ],
    }


# --- Gauges ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Gauge:
    """One figure of the gauges: how much room is left before a limit."""

    key: str
    label: str
    value: str
    detail: str = ""
    percent: int | None = None  # the bar's width; None: no bar
    level: str = "ok"  # ok, warn, danger; progress for a target


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _room(left: Decimal, limit: Decimal) -> tuple[int, str]:
    """The bar's width and colour: amber under half the room, red under a quarter."""
    share = min(max(left / limit, ZERO), Decimal(1)) if limit > 0 else ZERO
    level = "ok" if share >= HALF else "warn" if share >= QUARTER else "danger"
    return round(share * 100), level


def risk_gauges(
    config: RiskConfig, state: RiskState | None, metrics: dict[str, Any]
) -> list[Gauge]:
    gauges = [
        _daily_loss(config, metrics),
        _floor(config, metrics),
        _contracts(config, metrics),
        _trades(config, metrics),
        _target(config, metrics),
        _evaluation(config, state),
    ]
    return [gauge for gauge in gauges if gauge is not None]


def _daily_loss(config: RiskConfig, metrics: dict[str, Any]) -> Gauge:
    label, limit = "Daily loss left", config.daily_loss_limit
    if limit is None:
        return Gauge("daily-loss", label, "No limit")
    left: Decimal | None = metrics["daily_loss_remaining"]
    if left is None:
        return Gauge("daily-loss", label, "—", f"of {_money(limit)}; not measured")
    pnl: Decimal = metrics["day_pnl"]
    detail = f"of {_money(limit)} · today's P&L {pnl:+,.2f}"
    return Gauge("daily-loss", label, _money(left), detail, *_room(left, limit))


def _floor(config: RiskConfig, metrics: dict[str, Any]) -> Gauge:
    label, limit = "Above the floor", config.max_loss_limit
    if limit is None:
        return Gauge("floor", label, "No maximum loss")
    distance: Decimal | None = metrics["distance_to_floor"]
    if distance is None:
        return Gauge("floor", label, "—", f"trails by {_money(limit)}; not measured")
    detail = f"floor {_money(metrics['floor'])} · trails by {_money(limit)}"
    return Gauge("floor", label, _money(distance), detail, *_room(distance, limit))


def _contracts(config: RiskConfig, metrics: dict[str, Any]) -> Gauge:
    used: Decimal = metrics["contracts_in_use"]
    limit = config.max_contracts
    if limit is None:
        return Gauge("contracts", "Contracts open", f"{plain(used)}", "no limit")
    percent, level = _room(limit - used, limit)
    detail = "open across symbols"
    if config.micros_per_contract > 1:
        detail += f" · {config.micros_per_contract} micros count as 1"
    value = f"{plain(used)} of {plain(limit)}"
    return Gauge("contracts", "Contracts open", value, detail, 100 - percent, level)


def _trades(config: RiskConfig, metrics: dict[str, Any]) -> Gauge:
    limit = config.max_trades_per_day
    if limit is None:
        value = f"{metrics['trades_today']} today"
        return Gauge("trades", "Trades left today", "No limit", value)
    left: int = metrics["trades_left"]
    detail = f"{metrics['trades_today']} taken today"
    room = _room(Decimal(left), Decimal(limit))
    return Gauge("trades", "Trades left today", f"{left} of {limit}", detail, *room)


def _target(config: RiskConfig, metrics: dict[str, Any]) -> Gauge | None:
    target, start = config.profit_target, config.starting_balance
    balance: Decimal | None = metrics["balance"]
    if target is None or start is None or balance is None:
        return None
    made = balance - start
    reached = metrics["target_reached_at"]
    detail = f"of {_money(target)} · from {_money(start)}"
    if reached:
        detail = f"reached {reached:%Y-%m-%d}; target {_money(target)}"
    percent, _ = _room(made, target)
    value = f"{made:+,.2f}"
    return Gauge("target", "Profit target", value, detail, percent, "progress")


def _evaluation(config: RiskConfig, state: RiskState | None) -> Gauge | None:
    """Trading days and the consistency rule, from the closed sessions."""
    if config.minimum_days is None and config.consistency_percent is None:
        return None
    results = [Decimal(r) for r in (state.daily_results if state else {}).values()]
    parts = [f"{len(results)} trading day{'s' if len(results) != 1 else ''}"]
    if config.minimum_days:
        parts[0] += f" of {config.minimum_days}"
    total, most = sum(results, ZERO), config.consistency_percent
    if most is not None and total > 0:
        share = max(results) / total * 100
        parts.append(f"best day {share:.0f}% of the profit (at most {most:.0f}%)")
    elif most is not None:
        parts.append(f"no day may make more than {most:.0f}% of the profit")
    percent = None
    if config.minimum_days:
        percent = round(min(len(results) / config.minimum_days, 1) * 100)
    detail = " · ".join(parts[1:])
    return Gauge("evaluation", "Evaluation", parts[0], detail, percent, "progress")


FLAG_LEVELS = {"cooldown": "warn", "profit-target": "done"}


def account_flags(
    account: BrokerAccount, config: RiskConfig, state: RiskState | None
) -> list[tuple[str, str]]:
    """What stops new positions now, as (level, text): the pre-trade check's own
    locks (`risk.services.account_locks`); "open" when nothing does."""
    locks = account_locks(
        account=account,
        config=config if config.pk else None,
        state=state,
        at=timezone.now(),
    )
    flags = [(FLAG_LEVELS.get(lock.rule, "danger"), lock.detail) for lock in locks]
    return flags or [("ok", "Open: new positions allowed.")]
