"""Seed 002's billing routes and the white-label settings, and Stripe's webhook."""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from djstripe.models import WebhookEndpoint, WebhookEventTrigger
from djstripe.settings import djstripe_settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Workspace
from accounts.permissions import Perm
from accounts.scoping import current_workspace, user_can
from billing.checkout import BillingError, checkout_start, portal_start
from billing.models import Interval
from billing.quotas import PlanLimit
from billing.selectors import (
    billing_enabled,
    billing_status,
    billing_usage,
    plan_by_code,
)
from billing.whitelabel import FIELDS as BRAND_FIELDS
from billing.whitelabel import (
    WhiteLabelError,
    white_label_of,
    white_label_save,
    white_label_verify,
)
from common.api import Refused, error_response, refusals
from common.http import client_ip, origin
from common.ratelimit import rate_hit

log = logging.getLogger(__name__)
WEBHOOK_ENDPOINT_ID = "we_tradeflow"  # the one local row holding the secret


def _workspace(request: Request, perm: Perm = Perm.VIEW) -> Workspace:
    """The workspace the request acts in (the one chosen, as on the pages); a
    role without `perm` there is refused, never sent to another workspace."""
    workspace = current_workspace(request)
    if not user_can(request.user, workspace, perm):
        raise PermissionDenied("Your role cannot manage this workspace's billing.")
    return workspace


def _refused(exc: BillingError | PlanLimit | WhiteLabelError) -> Refused:
    status = getattr(exc, "status", 403)
    return Refused(exc.code, exc.message, status)


def status_body(workspace: Workspace) -> dict[str, Any]:
    status = billing_status(workspace)
    body = {f.name: getattr(status, f.name) for f in fields(status)}
    del body["plan_in_force"]
    body["billing_enabled"] = body.pop("enabled")
    for name in ("trial_ends_at", "grace_ends_at", "current_period_end"):
        value = body[name]
        body[name] = value.isoformat() if value else None
    return {"success": True, **body}


def _nullable_int() -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True)


def _when() -> serializers.DateTimeField:
    return serializers.DateTimeField(allow_null=True)


LIMITS = inline_serializer(
    "PlanLimits",
    {
        "accounts": serializers.IntegerField(allow_null=True, required=False),
        "strategies": serializers.IntegerField(allow_null=True, required=False),
        "fanout": serializers.IntegerField(allow_null=True, required=False),
        "live_brokers": serializers.BooleanField(required=False),
        "notifications": serializers.BooleanField(required=False),
        "api_access": serializers.BooleanField(required=False),
        "white_label": serializers.BooleanField(required=False),
    },
    help_text="The plan's limits (null: none); empty while billing is off.",
)
BILLING_STATUS = inline_serializer(
    "BillingStatus",
    {
        "success": serializers.BooleanField(),
        "billing_enabled": serializers.BooleanField(),
        "plan": serializers.CharField(),
        "plan_name": serializers.CharField(),
        "status": serializers.CharField(),
        "can_trade": serializers.BooleanField(help_text="Whether entries may open."),
        "code": serializers.CharField(allow_blank=True),
        "reason": serializers.CharField(allow_blank=True),
        "trades_count": serializers.IntegerField(),
        "trial_trades_remaining": _nullable_int(),
        "days_remaining": _nullable_int(),
        "trial_ends_at": _when(),
        "grace_ends_at": _when(),
        "interval": serializers.CharField(allow_blank=True),
        "current_period_end": _when(),
        "cancel_at_period_end": serializers.BooleanField(),
        "warning": serializers.CharField(allow_blank=True),
        "limits": LIMITS,
    },
)
BILLING_USAGE = inline_serializer(
    "BillingUsage",
    {
        "success": serializers.BooleanField(),
        "plan": serializers.CharField(),
        "trades_count": serializers.IntegerField(),
        "trial_trades_remaining": _nullable_int(),
        "days_remaining": _nullable_int(),
        "usage": serializers.DictField(
            child=inline_serializer(
                "UsageCount",
                {
                    "used": serializers.IntegerField(),
                    "limit": _nullable_int(),
                    "over": serializers.IntegerField(),
                },
            ),
            help_text="By counted kind (accounts, strategies); limit null: none.",
        ),
    },
)
CHECKOUT = inline_serializer(
    "CheckoutStarted",
    {
        "success": serializers.BooleanField(),
        "url": serializers.CharField(
            allow_null=True, help_text="Stripe Checkout; null when changed in place."
        ),
        "changed": serializers.BooleanField(),
    },
)
PORTAL = inline_serializer(
    "PortalStarted",
    {"success": serializers.BooleanField(), "url": serializers.CharField()},
)


def _brand_fields(*, sent: bool = False) -> dict[str, serializers.Field]:
    """The brand's fields; `sent`: as PUT takes them (each optional, null clears)."""
    return {
        name: serializers.CharField(
            allow_blank=True, required=not sent, allow_null=sent
        )
        for name in BRAND_FIELDS
    }


WHITE_LABEL = inline_serializer(
    "WhiteLabel",
    {
        "success": serializers.BooleanField(),
        **_brand_fields(),
        "available": serializers.BooleanField(help_text="The plan shows the brand."),
        "domain_verified": serializers.BooleanField(),
        "domain_check_url": serializers.CharField(allow_blank=True),
        "webhook_origin": serializers.CharField(allow_blank=True),
    },
)
WHITE_LABEL_IN = inline_serializer(
    "WhiteLabelIn",
    _brand_fields(sent=True),
    help_text="Only the fields sent change; empty or null clears one.",
)


class BillingStatusView(APIView):
    """`GET /api/billing/status`: the plan, whether entries may open, the trial."""

    @extend_schema(responses={200: BILLING_STATUS, **refusals(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(status_body(_workspace(request)))


class BillingUsageView(APIView):
    """`GET /api/billing/usage`: trades counted and what the plan's limits hold."""

    @extend_schema(responses={200: BILLING_USAGE, **refusals(401, 403)})
    def get(self, request: Request) -> Response:
        workspace = _workspace(request)
        status = billing_status(workspace)
        return Response(
            {
                "success": True,
                "plan": status.plan,
                "trades_count": status.trades_count,
                "trial_trades_remaining": status.trial_trades_remaining,
                "days_remaining": status.days_remaining,
                "usage": billing_usage(workspace.pk),
            }
        )


class CheckoutIn(serializers.Serializer):
    plan = serializers.SlugField(max_length=32)
    interval = serializers.ChoiceField(choices=Interval.values, default="month")


class CheckoutView(APIView):
    """`POST /api/billing/checkout {plan, interval}`: a Stripe Checkout URL, or
    the plan changed in place when the workspace already pays (prorated)."""

    scope_needed = "admin"  # what an API token must hold to spend money

    @extend_schema(
        request=CheckoutIn,
        responses={200: CHECKOUT, **refusals(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        workspace = _workspace(request, Perm.MANAGE_BILLING)
        form = CheckoutIn(data=request.data)
        form.is_valid(raise_exception=True)
        plan = plan_by_code(form.validated_data["plan"])
        if plan is None or not plan.public:
            raise Refused("unknown-plan", "No such plan: see /pricing/.", 400)
        try:
            result = checkout_start(
                workspace=workspace,
                plan=plan,
                interval=form.validated_data["interval"],
                site=origin(request),
            )
        except BillingError as exc:
            raise _refused(exc) from None
        return Response({"success": True, "url": result.url, "changed": result.changed})


class PortalView(APIView):
    """`POST /api/billing/portal`: the Stripe Customer Portal's URL."""

    scope_needed = "admin"

    @extend_schema(
        request=None, responses={200: PORTAL, **refusals(400, 401, 403, 409)}
    )
    def post(self, request: Request) -> Response:
        workspace = _workspace(request, Perm.MANAGE_BILLING)
        try:
            url = portal_start(workspace=workspace, site=origin(request))
        except BillingError as exc:
            raise _refused(exc) from None
        return Response({"success": True, "url": url})


class WhiteLabelView(APIView):
    """`GET/PUT /api/user/whitelabel` (seed 002; the Elite plan)."""

    scope_needed = "admin"  # the webhook URLs' domain

    @extend_schema(responses={200: WHITE_LABEL, **refusals(401, 403)})
    def get(self, request: Request) -> Response:
        brand = white_label_of(_workspace(request).pk)
        return Response({"success": True, **brand})

    @extend_schema(
        request=WHITE_LABEL_IN,
        responses={200: WHITE_LABEL, **refusals(400, 401, 403)},
    )
    def put(self, request: Request) -> Response:
        workspace = _workspace(request, Perm.MANAGE_BILLING)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            brand = white_label_save(workspace_id=workspace.pk, data=data)
        except (PlanLimit, WhiteLabelError) as exc:
            raise _refused(exc) from None
        return Response({"success": True, **brand})


class WhiteLabelVerifyView(APIView):
    """`POST /api/user/whitelabel/verify`: check the custom domain reaches this
    instance; only then do the webhook URLs use it."""

    scope_needed = "admin"

    @extend_schema(
        request=None, responses={200: WHITE_LABEL, **refusals(400, 401, 403)}
    )
    def post(self, request: Request) -> Response:
        workspace = _workspace(request, Perm.MANAGE_BILLING)
        try:
            brand = white_label_verify(workspace_id=workspace.pk)
        except (PlanLimit, WhiteLabelError) as exc:
            raise _refused(exc) from None
        return Response({"success": True, **brand})


@csrf_exempt
@transaction.non_atomic_requests
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """`POST /api/billing/webhook`: Stripe's signed events, through dj-stripe.

    The signature is checked against DJSTRIPE_WEBHOOK_SECRET before anything is
    stored; dj-stripe then keeps the event once by id, re-reads its object from
    Stripe and syncs it, and billing.receivers moves the plan. 503 (Stripe
    retries) only when that processing failed.
    """
    ip = client_ip(request) or "unknown"
    if not rate_hit(f"stripe-webhook:{ip}", settings.STRIPE_WEBHOOK_RATE_PER_MINUTE):
        return error_response("rate-limited", "Too many webhook calls.", 429)
    secret = settings.DJSTRIPE_WEBHOOK_SECRET
    if not billing_enabled() or not secret:
        return error_response(
            "billing-disabled",
            "Billing is off here: set the Stripe keys and DJSTRIPE_WEBHOOK_SECRET.",
            404,
        )
    body = request.body.decode("utf-8", errors="replace")
    try:
        stripe.WebhookSignature.verify_header(
            body,
            request.headers.get("stripe-signature", ""),
            secret,
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError:
        log.warning("stripe webhook from %s: bad signature", ip)
        return error_response(
            "bad-signature", "The Stripe-Signature header does not verify.", 400
        )
    try:
        trigger = WebhookEventTrigger.from_request(
            request, webhook_endpoint=_endpoint(secret)
        )
    except Exception:
        log.exception("stripe webhook: processing failed; Stripe will retry")
        return error_response(
            "processing-failed", "The event could not be processed; retry.", 503
        )
    if not trigger.valid:
        return error_response("bad-event", "The body is not a Stripe event.", 400)
    return JsonResponse({"success": True, "event": trigger.event_id})


def _endpoint(secret: str) -> WebhookEndpoint:
    endpoint, _ = WebhookEndpoint.objects.update_or_create(
        id=WEBHOOK_ENDPOINT_ID,
        defaults={
            "secret": secret,
            "url": "https://localhost/api/billing/webhook",
            "enabled_events": ["*"],
            "status": "enabled",
            "api_version": djstripe_settings.STRIPE_API_VERSION,
            "livemode": settings.STRIPE_LIVE_MODE,
        },
    )
    return endpoint
