from __future__ import annotations

from django.urls import path

from billing import api, views

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("billing/", views.billing_page, name="billing"),
    path("billing/checkout/", views.checkout, name="billing-checkout"),
    path("billing/portal/", views.portal, name="billing-portal"),
    path("billing/return/", views.checkout_back, name="billing-return"),
    path("billing/white-label/", views.white_label_page, name="white-label"),
    path("billing/brand.css", views.brand_css, name="brand-css"),
    path(
        "billing/white-label/verify/",
        views.white_label_verify_page,
        name="white-label-verify",
    ),
    path(".well-known/tradeflow-domain", views.domain_challenge),
    path("api/billing/status", api.BillingStatusView.as_view()),
    path("api/billing/usage", api.BillingUsageView.as_view()),
    path("api/billing/checkout", api.CheckoutView.as_view()),
    path("api/billing/portal", api.PortalView.as_view()),
    path("api/billing/webhook", api.stripe_webhook, name="stripe-webhook"),
    path("api/user/whitelabel", api.WhiteLabelView.as_view()),
    path("api/user/whitelabel/verify", api.WhiteLabelVerifyView.as_view()),
]
