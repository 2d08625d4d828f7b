"""The trader's pages for strategies (subscriptions, keys, settings) and the
alert builder for a strategy or an account.

Each page view renders the whole page, or its named fragment for an HTMX request.
An outsider gets 404, a member without the permission 403.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.scoping import (
    current_workspace,
    user_can,
    workspaces_for,
)
from billing.quotas import QuotaExceeded
from brokers.models import BrokerAccount
from brokers.selectors import account_for_user_or_404
from webhooks.intake import builder
from webhooks.intake.intents import ParseError
from webhooks.intake.keys import api_key_issue, api_key_revoke
from webhooks.models import ApiKey, Strategy, Subscription
from webhooks.selectors import (
    active_key_prefix,
    strategies_for_user,
    strategy_for_user_or_404,
    strategy_keys,
)
from webhooks.strategies.services import (
    TargetError,
    strategy_create,
    strategy_update,
    subscription_remove,
    subscription_save,
)
from webhooks.views.base import (
    key_shown,
    key_to_show,
    no_store,
    page,
    site,
    tradingview_url,
    user_of,
    webhook_site,
)
from webhooks.views.forms import (
    AlertBuilderForm,
    StrategyForm,
    StrategySettingsForm,
    SubscriptionAddForm,
    SubscriptionForm,
)

# --- Strategies ---------------------------------------------------------------------


@login_required
def strategy_list(request: HttpRequest) -> HttpResponse:
    context = {
        "strategies": strategies_for_user(request.user),
        "can_manage": workspaces_for(request.user, Perm.MANAGE_ACCOUNTS).exists(),
    }
    template = page(request, "webhooks/strategies.html", "strategies")
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def strategy_new(request: HttpRequest) -> HttpResponse:
    """Create a strategy; its first webhook key is shown on the next page, once."""
    workspace = current_workspace(request, Perm.MANAGE_ACCOUNTS)
    form = StrategyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            strategy, plain = strategy_create(
                workspace=workspace, user=user_of(request), **form.cleaned_data
            )
        except TargetError as exc:
            form.add_error("name" if "name" in exc.code else None, exc.message)
        except QuotaExceeded as exc:
            form.add_error(None, exc.message)
        else:
            return key_to_show(request, "strategy-key-created", strategy.pk, plain)
    status = 400 if form.errors else 200
    return render(request, "webhooks/strategy_new.html", {"form": form}, status=status)


@login_required
def strategy_key_created(request: HttpRequest, pk: int) -> HttpResponse:
    """The strategy's new key, once (then a sentence saying it was shown)."""
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    plain = key_shown(request, "strategy-key-created", strategy.pk)
    context = {
        "strategy": strategy,
        "api_key": plain,
        "tradingview_url": (
            tradingview_url(request, plain, strategy.workspace_id) if plain else ""
        ),
    }
    return no_store(render(request, "webhooks/strategy_key.html", context))


def _detail_context(
    request: HttpRequest, strategy: Strategy, **forms: Any
) -> dict[str, Any]:
    subscriptions = strategy.subscriptions.select_related("account").order_by(
        "account__name"
    )
    row_forms: dict[int, SubscriptionForm] = forms.get("rows", {})
    can_keys = user_can(request.user, strategy.workspace, Perm.MANAGE_KEYS)
    return {
        "strategy": strategy,
        "can_manage": user_can(request.user, strategy.workspace, Perm.MANAGE_ACCOUNTS),
        "can_keys": can_keys,
        "keys": strategy_keys(strategy) if can_keys else [],
        "key_prefix": active_key_prefix(strategy=strategy),
        "webhook_base": webhook_site(request, strategy.workspace_id)
        + reverse("webhook-tradingview")
        + "/",
        "rows": [
            (sub, row_forms.get(sub.pk) or SubscriptionForm.for_subscription(sub))
            for sub in subscriptions
        ],
        "add_form": forms.get("add")
        or SubscriptionAddForm(accounts=_unsubscribed(strategy), form_id="add"),
        "settings_form": forms.get("settings")
        or StrategySettingsForm(
            initial={
                "status": strategy.status,
                "description": strategy.description,
                "manual_approval": strategy.manual_approval,
                "heartbeat_minutes": strategy.heartbeat_minutes,
            }
        ),
        "approval_minutes": settings.SIGNAL_APPROVAL_MINUTES,
        "recent": strategy.signals.prefetch_related("executions__account")[:10],
    }


def _unsubscribed(strategy: Strategy) -> Any:
    """The workspace's accounts not yet following the strategy."""
    return (
        BrokerAccount.objects.for_workspace(strategy.workspace_id)
        .exclude(subscriptions__strategy=strategy)
        .order_by("name")
    )


def _detail(
    request: HttpRequest, strategy: Strategy, status: int = 200, **forms: Any
) -> HttpResponse:
    context = _detail_context(request, strategy, **forms)
    return render(request, "webhooks/strategy_detail.html", context, status=status)


@login_required
def strategy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, strategy_for_user_or_404(request.user, pk))


@login_required
@require_POST
def strategy_settings(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
    form = StrategySettingsForm(request.POST)
    if not form.is_valid():
        return _detail(request, strategy, 400, settings=form)
    strategy_update(strategy=strategy, **form.cleaned_data)
    messages.success(request, f"{strategy.name} is saved ({strategy.status}).")
    return redirect("strategy-detail", pk=strategy.pk)


@login_required
@require_POST
def strategy_key_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue another key (rotation: update the alerts, then revoke the old one)."""
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    try:
        _, plain = api_key_issue(strategy=strategy, created_by=user_of(request))
    except QuotaExceeded as exc:
        messages.error(request, exc.message)
        return redirect("strategy-detail", pk=strategy.pk)
    return key_to_show(request, "strategy-key-created", strategy.pk, plain)


@login_required
@require_POST
def strategy_key_revoke(request: HttpRequest, pk: int, key_pk: int) -> HttpResponse:
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    api_key = get_object_or_404(ApiKey, strategy=strategy, pk=key_pk)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.prefix}… is revoked.")
    return redirect("strategy-detail", pk=strategy.pk)


@login_required
@require_POST
def subscription_add(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
    form = SubscriptionAddForm(
        request.POST, accounts=_unsubscribed(strategy), form_id="add"
    )
    if not form.is_valid():
        return _detail(request, strategy, 400, add=form)
    subscription = subscription_save(strategy=strategy, **form.cleaned_data)
    messages.success(request, f"{subscription.account.name} follows {strategy.name}.")
    return redirect("strategy-detail", pk=strategy.pk)


@login_required
@require_POST
def subscription_update(request: HttpRequest, pk: int, sub_pk: int) -> HttpResponse:
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
    subscription = get_object_or_404(Subscription, strategy=strategy, pk=sub_pk)
    form = SubscriptionForm(request.POST, form_id=f"sub-{subscription.pk}")
    if not form.is_valid():
        return _detail(request, strategy, 400, rows={subscription.pk: form})
    subscription_save(
        strategy=strategy, account=subscription.account, **form.cleaned_data
    )
    messages.success(request, f"{subscription.account.name}'s overrides are saved.")
    return redirect("strategy-detail", pk=strategy.pk)


@login_required
@require_POST
def subscription_delete(request: HttpRequest, pk: int, sub_pk: int) -> HttpResponse:
    strategy = strategy_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
    subscription = get_object_or_404(Subscription, strategy=strategy, pk=sub_pk)
    subscription_remove(subscription=subscription)
    messages.success(
        request, f"{subscription.account.name} no longer follows {strategy.name}."
    )
    return redirect("strategy-detail", pk=strategy.pk)


# --- Alert builder ------------------------------------------------------------------


@login_required
def strategy_alert_builder(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = strategy_for_user_or_404(request.user, pk)
    back = reverse("strategy-detail", kwargs={"pk": strategy.pk})
    prefix = active_key_prefix(strategy=strategy)
    return _builder(request, f"strategy {strategy.name}", back, prefix)


@login_required
def account_alert_builder(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_user_or_404(request.user, pk)
    back = reverse("dashboard")
    prefix = active_key_prefix(account=account)
    return _builder(request, f"account {account.name}", back, prefix)


def _builder(
    request: HttpRequest, target: str, back: str, key_prefix: str | None
) -> HttpResponse:
    """The builder form and the message it makes; the output alone for HTMX."""
    form = AlertBuilderForm.from_query(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "target": target,
        "back": back,
        "key_prefix": key_prefix,
        "webhook_base": site(request) + reverse("webhook-tradingview") + "/",
    }
    if form.is_valid():
        options = form.options()
        context["message"] = builder.alert_message(options)
        context["text"] = builder.alert_text(options)
        sample = builder.samples_for(options)[0]
        try:
            intent = builder.alert_intent(context["message"], sample)
        except ParseError as exc:  # a builder bug; say so rather than mislead
            context["problem"] = exc.message
        else:
            context["reads_as"] = builder.intent_summary(intent)
    template = page(request, "webhooks/alert_builder.html", "output")
    return render(request, template, context)
