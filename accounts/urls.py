from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    # Sign-up, log-in, e-mail confirmation and password reset (allauth).
    path("auth/", include("allauth.urls")),
]
