"""White label (Elite): `GET/PUT /api/user/whitelabel`, the brand on the pages and
the custom domain in the webhook URLs; refused on other plans, validated."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from billing import whitelabel
from billing.models import BillingAccount, Plan, WhiteLabel
from testkit import api_client_for as api
from webhooks.strategies.services import strategy_create

URL = "/api/user/whitelabel"
BRAND = {
    "brand_name": "Apex Signals",
    "logo_url": "https://cdn.example.com/apex.png",
    "primary_color": "#1F6FEB",
    "accent_color": "#d29922",
    "custom_domain": "Alerts.Apex.example.",
}


def elite(world) -> None:
    BillingAccount.objects.filter(workspace=world.workspace).update(
        plan=Plan.objects.get(code="elite"), status="active"
    )


def test_white_label_is_elites_only(world, billing_on):
    body = api(world.owner).get(URL).json()
    assert (body["available"], body["brand_name"]) == (False, "")
    response = api(world.owner).put(URL, BRAND, format="json")
    assert (response.status_code, response.json()["code"]) == (
        403,
        "plan-limit:white-label",
    )
    assert "White label is not part of the Pro plan" in response.json()["detail"]


class ThroughTheDomain(httpx.BaseTransport):
    """The verification's HTTPS request, answered by this Django as if the
    domain's DNS and TLS led here (the Host header kept), once `reaches`."""

    reaches = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.reaches:
            raise httpx.ConnectError("name does not resolve", request=request)
        answer = Client().get(request.url.path, HTTP_HOST=request.url.host)
        return httpx.Response(answer.status_code, content=answer.content)


@pytest.fixture
def through_the_domain(monkeypatch):
    transport = ThroughTheDomain()
    monkeypatch.setattr(whitelabel, "VERIFY_TRANSPORT", transport)
    return transport


def test_an_elite_workspace_saves_its_brand_and_its_webhook_domain(
    world, billing_on, through_the_domain
):
    elite(world)
    body = api(world.owner).put(URL, BRAND, format="json").json()
    assert body["success"] and body["available"]
    assert (body["primary_color"], body["custom_domain"]) == (
        "#1f6feb",
        "alerts.apex.example",
    )
    # Not used before it is shown to reach this instance: alerts would be lost.
    assert (body["domain_verified"], body["webhook_origin"]) == (False, "")
    assert api(world.viewer).get(URL).json()["brand_name"] == "Apex Signals"
    page = Client()
    page.force_login(world.owner)
    dashboard = page.get("/").content.decode()
    assert "Apex Signals" in dashboard and "/billing/brand.css?v=" in dashboard
    css = page.get("/billing/brand.css").content.decode()
    assert css.strip() == ":root{--accent:#1f6feb;--warn:#d29922;}"
    strategy, _ = strategy_create(workspace=world.workspace, user=world.owner, name="s")
    detail = page.get(f"/strategies/{strategy.pk}/").content.decode()
    assert "https://alerts.apex.example/" not in detail
    # Its DNS does not lead here yet: refused, and nothing changes.
    refused = api(world.owner).post(f"{URL}/verify")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid-white-label")
    assert "did not answer this workspace's token" in refused.json()["detail"]
    through_the_domain.reaches = True
    verified = api(world.owner).post(f"{URL}/verify").json()
    assert verified["webhook_origin"] == "https://alerts.apex.example"
    detail = page.get(f"/strategies/{strategy.pk}/").content.decode()
    assert "https://alerts.apex.example/webhook/tradingview/" in detail
    moved = {"custom_domain": "signals.apex.example"}
    again = api(world.owner).put(URL, moved, format="json").json()
    assert (again["domain_verified"], again["webhook_origin"]) == (False, "")


def test_a_domain_answers_only_its_own_token(world, billing_on):
    elite(world)
    api(world.owner).put(URL, {"custom_domain": "alerts.apex.example"}, format="json")
    token = WhiteLabel.objects.get().domain_token
    challenge = "/.well-known/tradeflow-domain"
    assert Client().get(challenge, HTTP_HOST="alerts.apex.example").content == (
        token.encode()
    )
    assert Client().get(challenge).status_code == 404  # this site is no brand


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_color", "red"),
        ("accent_color", "#12345"),
        ("logo_url", "http://cdn.example.com/a.png"),
        ("logo_url", "javascript:alert(1)"),
        ("custom_domain", "not a domain"),
        ("custom_domain", "127.0.0.1"),
        ("brand_name", "x" * 65),
        ("brand_name", 42),
    ],
)
def test_a_field_that_cannot_be_a_brand_is_a_400_naming_it(
    world, billing_on, field, value
):
    elite(world)
    response = api(world.owner).put(URL, {field: value}, format="json")
    assert (response.status_code, response.json()["code"]) == (
        400,
        "invalid-white-label",
    )
    assert api(world.owner).get(URL).json()[field] == ""


def test_a_domain_is_one_workspaces_and_a_viewer_cannot_brand(world, billing_on):
    elite(world)
    api(world.owner).put(URL, {"custom_domain": "alerts.apex.example"}, format="json")
    BillingAccount.objects.filter(workspace=world.other_workspace).update(
        plan=Plan.objects.get(code="elite"), status="active"
    )
    taken = api(world.outsider).put(
        URL, {"custom_domain": "alerts.apex.example"}, format="json"
    )
    assert taken.status_code == 400 and "another workspace" in taken.json()["detail"]
    assert api(world.viewer).put(URL, BRAND, format="json").status_code == 403


def test_a_self_hosted_instance_brands_freely(world):
    response = api(world.owner).put(URL, {"brand_name": "Home desk"}, format="json")
    assert response.status_code == 200 and response.json()["available"]
