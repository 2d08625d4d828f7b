from __future__ import annotations

from django.urls import include, path

from accounts import api

# Seed 004: under /api/v1/auth/.
v1_auth = [
    path("login", api.Login.as_view(), name="api-v1-login"),
    path("login/mfa", api.LoginMfa.as_view(), name="api-v1-login-mfa"),
    path("logout", api.Logout.as_view(), name="api-v1-logout"),
    path("refresh", api.Refresh.as_view(), name="api-v1-refresh"),
    path("me", api.Me.as_view(), name="api-v1-me"),
    path("permissions", api.Permissions.as_view(), name="api-v1-permissions"),
    path("password/reset", api.PasswordReset.as_view(), name="api-v1-password-reset"),
    path(
        "password/reset/complete",
        api.PasswordResetComplete.as_view(),
        name="api-v1-password-reset-complete",
    ),
    path("sessions", api.Sessions.as_view(), name="api-v1-sessions"),
    path(
        "sessions/<str:session_id>/terminate",
        api.SessionTerminate.as_view(),
        name="api-v1-session-terminate",
    ),
]

urlpatterns = [
    path("api/v1/auth/", include(v1_auth)),
    # Seed 000: the same login and refresh under /api/auth/.
    path("api/auth/login", api.Login.as_view()),
    path("api/auth/refresh", api.Refresh.as_view()),
    # Seed 002: JSON sign-up, login and logout beside allauth's pages (which
    # end in a slash: /auth/login/ is the page, /auth/login the API).
    path("auth/signup", api.Signup.as_view(), name="api-signup"),
    path("auth/login", api.Login.as_view(), name="api-login"),
    path("auth/logout", api.Logout.as_view(), name="api-logout"),
    # Sign-up, log-in, e-mail confirmation and password reset (allauth).
    path("auth/", include("allauth.urls")),
]
