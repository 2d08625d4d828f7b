from __future__ import annotations

from django.apps import AppConfig


class PaperbrokerConfig(AppConfig):
    name = "paperbroker"
    verbose_name = "Paper broker (simulated venue)"
