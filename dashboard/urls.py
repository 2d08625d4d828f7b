from __future__ import annotations

from django.urls import path

from dashboard import api, tokens, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/<str:name>/", views.dashboard_fragment, name="dashboard-fragment"),
    path("emergency-stop/", views.emergency_stop_page, name="emergency-stop"),
    path("api/user/emergency_stop", api.EmergencyStop.as_view()),
    path("benchmarks/", views.benchmarks, name="benchmarks"),
    path("api-tokens/", tokens.api_tokens, name="api-tokens"),
    path(
        "api-tokens/<id:pk>/created/",
        tokens.api_token_created,
        name="api-token-created",
    ),
    path(
        "api-tokens/<id:pk>/revoke/",
        tokens.api_token_revoke,
        name="api-token-revoke",
    ),
    path("sessions/", tokens.sessions_page, name="sessions"),
    path(
        "sessions/<str:session_id>/end/",
        tokens.session_end_page,
        name="session-end",
    ),
]
