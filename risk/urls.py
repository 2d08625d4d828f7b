from __future__ import annotations

from django.urls import path

from risk import api, api_calendar, views

urlpatterns = [
    # Pages
    path("accounts/<id:pk>/resume/", views.account_resume, name="account-resume"),
    path("accounts/<id:pk>/risk/", views.account_risk, name="account-risk"),
    path(
        "accounts/<id:pk>/risk/measure/",
        views.account_risk_measure,
        name="account-risk-measure",
    ),
    path(
        "accounts/<id:pk>/risk/fragment/<str:name>/",
        views.account_risk_fragment,
        name="account-risk-fragment",
    ),
    # API (seeds 000 and 002)
    path("api/user/risk_config", api.UserRiskConfig.as_view()),
    path("api/accounts/<id:pk>/emergency-close", api.EmergencyClose.as_view()),
    path("api/accounts/<id:pk>/rules", api.AccountRules.as_view()),
    path("api/accounts/<id:pk>/violations", api.AccountViolations.as_view()),
    path("api/accounts/<id:pk>/metrics", api.AccountMetrics.as_view()),
    path(
        "api/accounts/<id:pk>/realtime-metrics",
        api.AccountRealtimeMetrics.as_view(),
    ),
    path(
        "api/calendar/events",
        api_calendar.CalendarEvents.as_view(),
        name="api-calendar-events",
    ),
]
