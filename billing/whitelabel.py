"""An Elite workspace's brand: name, logo, colours, and its own domain in the
webhook URLs it hands TradingView (seed 002's `/api/user/whitelabel`)."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from typing import Any

import httpx
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import WhiteLabel
from billing.quotas import feature_check
from billing.selectors import plan_allows

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
HOSTNAME = re.compile(
    r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
FIELDS = ("brand_name", "logo_url", "primary_color", "accent_color", "custom_domain")
CHALLENGE = "/.well-known/tradeflow-domain"
# How the verification reaches the domain (a test points it at the suite's server).
VERIFY_TRANSPORT: httpx.BaseTransport | None = None
log = logging.getLogger(__name__)


class WhiteLabelError(Exception):
    """A field that cannot be a brand: 400 with the field's name."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = "invalid-white-label", field, message


def white_label_allowed(workspace_id: int) -> bool:
    return plan_allows(workspace_id, "white_label")


def white_label_of(workspace_id: int) -> dict[str, Any]:
    """The brand as saved, whether the plan shows it, and the webhook origin."""
    brand = WhiteLabel.objects.filter(workspace_id=workspace_id).first()
    values = {name: getattr(brand, name, "") if brand else "" for name in FIELDS}
    allowed = white_label_allowed(workspace_id)
    verified = bool(brand and brand.custom_domain and brand.domain_verified_at)
    return {
        **values,
        "available": allowed,
        "domain_verified": verified,
        "domain_check_url": (
            f"https://{brand.custom_domain}{CHALLENGE}"
            if brand and brand.custom_domain
            else ""
        ),
        "webhook_origin": webhook_origin(workspace_id) if allowed else "",
    }


def webhook_origin(workspace_id: int) -> str:
    """`https://<custom domain>` for the workspace's webhook URLs once the domain
    is verified to reach this instance (else alerts sent there would be lost),
    or ""."""
    domain = (
        WhiteLabel.objects.filter(workspace_id=workspace_id)
        .exclude(domain_verified_at=None)
        .values_list("custom_domain", flat=True)
        .first()
    )
    if not domain or not white_label_allowed(workspace_id):
        return ""
    return f"https://{domain}"


def domain_token_of(host: str) -> str | None:
    """The token a white-label domain answers at CHALLENGE (the request's host)."""
    domain = host.split(":", 1)[0].lower().rstrip(".")
    found = WhiteLabel.objects.filter(custom_domain=domain).exclude(domain_token="")
    return found.values_list("domain_token", flat=True).first()


def white_label_verify(*, workspace_id: int) -> dict[str, Any]:
    """Ask the custom domain for its token over HTTPS: answered, it reaches this
    instance and the webhook URLs may use it. Raises WhiteLabelError saying why
    not (DNS, TLS, ALLOWED_HOSTS)."""
    feature_check(workspace_id=workspace_id, feature="white_label", label="White label")
    brand = WhiteLabel.objects.filter(workspace_id=workspace_id).first()
    if brand is None or not brand.custom_domain:
        raise WhiteLabelError("custom_domain", "Save a custom domain first.")
    url = f"https://{brand.custom_domain}{CHALLENGE}"
    try:
        with httpx.Client(transport=VERIFY_TRANSPORT, timeout=5) as client:
            answer = client.get(url, follow_redirects=False)
        answered = answer.status_code == 200 and answer.text.strip()
    except httpx.HTTPError as exc:
        answered = ""
        log.info("white label %s: %s", url, exc)
    if not answered or not hmac.compare_digest(answered, brand.domain_token):
        raise WhiteLabelError(
            "custom_domain",
            f"{url} did not answer this workspace's token: point the domain's DNS "
            "and TLS at this instance (and add it to ALLOWED_HOSTS), then verify.",
        )
    brand.domain_verified_at = timezone.now()
    brand.save(update_fields=["domain_verified_at"])
    return white_label_of(workspace_id)


def white_label_save(*, workspace_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Validate and save the fields given (others are kept). Raises PlanLimit
    without the plan's white label, WhiteLabelError on a bad field."""
    feature_check(workspace_id=workspace_id, feature="white_label", label="White label")
    clean = {name: _clean(name, data[name]) for name in FIELDS if name in data}
    domain = clean.get("custom_domain")
    taken = WhiteLabel.objects.filter(custom_domain=domain).exclude(
        workspace_id=workspace_id
    )
    if domain and taken.exists():
        raise WhiteLabelError("custom_domain", f"{domain} is another workspace's.")
    brand, _ = WhiteLabel.objects.get_or_create(workspace_id=workspace_id)
    if "custom_domain" in clean and clean["custom_domain"] != brand.custom_domain:
        brand.domain_token = secrets.token_urlsafe(24)  # a new domain: verify again
        brand.domain_verified_at = None
    for name, value in clean.items():
        setattr(brand, name, value)
    brand.updated_at = timezone.now()
    try:
        with transaction.atomic():
            brand.save()
    except IntegrityError:  # taken by another workspace between check and save
        raise WhiteLabelError(
            "custom_domain", f"{domain} is another workspace's."
        ) from None
    return white_label_of(workspace_id)


def _clean(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WhiteLabelError(name, f"`{name}` is a string.")
    value = value.strip()
    if not value:
        return ""
    if name == "brand_name":
        if len(value) > 64 or any(ord(c) < 32 for c in value):
            raise WhiteLabelError(
                name, "The brand name is 1 to 64 printable characters."
            )
        return value
    if name == "logo_url":
        try:
            URLValidator(schemes=["https"])(value)
        except ValidationError:
            raise WhiteLabelError(name, "The logo is an https:// URL.") from None
        if len(value) > 500:
            raise WhiteLabelError(name, "The logo URL is at most 500 characters.")
        return value
    if name in ("primary_color", "accent_color"):
        if not COLOR.match(value):
            raise WhiteLabelError(name, f"`{name}` is a colour like #1f6feb.")
        return value.lower()
    domain = value.lower().rstrip(".")
    if not HOSTNAME.match(domain):
        raise WhiteLabelError(
            name, "The custom domain is a host name like alerts.example.com."
        )
    return domain
