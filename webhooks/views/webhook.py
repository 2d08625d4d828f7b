"""The webhook endpoint, in every spelling TradingView and the seeds use."""

from __future__ import annotations

import uuid

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from common.api import error_response
from common.http import bearer_token, client_ip
from webhooks.intake.services import signal_receive


@csrf_exempt
def webhook(
    request: HttpRequest, broker: str | None = None, token: str | None = None
) -> HttpResponse:
    """Every webhook route: `/api/unify/v1/webhook/{broker}[/{key}]`,
    `/webhook/tradingview[/{key}]`. The key travels in the path, as Bearer, or in
    the body; without one, an `X-TradingView-Signature` HMAC of the body."""
    if request.method != "POST":
        return error_response(
            "method-not-allowed",
            "Send alerts with POST.",
            405,
            headers={"Allow": "POST"},
        )
    try:
        raw_body: bytes | None = request.body
    except RequestDataTooBig:
        raw_body = None
    result = signal_receive(
        broker=None if broker is None else broker.lower(),
        token=token or bearer_token(request),
        signature=request.headers.get("X-TradingView-Signature"),
        raw_body=raw_body,
        content_type=request.content_type or "",
        source_ip=client_ip(request),
    )
    response = JsonResponse(result.body, status=result.http_status)
    for name, value in result.headers.items():
        response[name] = value
    return response


def webhook_test(request: HttpRequest) -> HttpResponse:
    """`GET /webhook/tradingview/test` (seed 004): the intake is up."""
    now = timezone.now()
    return JsonResponse(
        {
            "success": True,
            "message": "Webhook endpoint is operational",
            "data": {
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "correlation_id": uuid.uuid4().hex,
            },
        }
    )
