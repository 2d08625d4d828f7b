"""The API tokens page (scoped, expiring tokens, so no script needs a password)
and the signed-in devices page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.auth_sessions import session_end, sessions_active
from accounts.models import ApiToken, AuthSession, TokenScope
from accounts.scoping import current_workspace
from accounts.tokens import EXPIRY_CHOICES, TooManyTokensError, token_revoke
from billing.quotas import PlanLimit
from billing.services import api_token_issue
from webhooks.views.base import key_shown, key_to_show, no_store, site, user_of

ROUTE = "api-token-created"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What uses it: “nightly export”.")
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ)
    days = forms.TypedChoiceField(
        label="Expires after",
        choices=[(d, f"{d} days") for d in EXPIRY_CHOICES],
        coerce=int,
        initial=90,
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, plain = api_token_issue(
                user=user,
                workspace_id=current_workspace(request).pk,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                days=form.cleaned_data["days"],
            )
        except (TooManyTokensError, PlanLimit) as exc:
            form.add_error(None, exc.message)
        else:
            return key_to_show(request, ROUTE, token.pk, plain)
    context: dict[str, Any] = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=user),
    }
    status = 400 if form.errors else 200
    return render(request, "dashboard/api_tokens.html", context, status=status)


@login_required
def api_token_created(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    token = ApiToken.objects.filter(pk=pk, user=user).first()
    if token is None:
        raise Http404
    plain = key_shown(request, ROUTE, pk)
    context = {"token": token, "plain": plain, "site": site(request)}
    return no_store(render(request, "dashboard/api_token_created.html", context))


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = token_revoke(user=user_of(request), token_id=pk)
    except ApiToken.DoesNotExist:
        raise Http404 from None
    messages.success(
        request, f"Token {token.prefix}… revoked: scripts using it get 401."
    )
    return redirect("api-tokens")


@login_required
def sessions_page(request: HttpRequest) -> HttpResponse:
    """Signed-in devices: browsers and API clients, each ended with one click."""
    user = user_of(request)
    context = {
        "sessions": sessions_active(user)[:200],
        "current_key": request.session.session_key,
    }
    return render(request, "dashboard/sessions.html", context)


@login_required
@require_POST
def session_end_page(request: HttpRequest, session_id: str) -> HttpResponse:
    try:
        session_end(
            user=user_of(request),
            session_id=session_id[:32],
            reason=AuthSession.Ended.TERMINATED,
        )
    except AuthSession.DoesNotExist:
        raise Http404 from None
    messages.success(request, "Session ended: that device must sign in again.")
    return redirect("sessions")
