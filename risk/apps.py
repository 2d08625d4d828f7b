from __future__ import annotations

from django.apps import AppConfig


class RiskConfigApp(AppConfig):
    name = "risk"
    verbose_name = "Risk engine"
