from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks and signals"

    def ready(self) -> None:
        from billing.selectors import usage_counter
        from brokers.signals import venue_reported
        from webhooks.models import Strategy
        from webhooks.reports import venue_report_record

        venue_reported.connect(venue_report_record, dispatch_uid="venue-reports")
        usage_counter("strategies")(
            lambda workspace_id: Strategy.objects.filter(
                workspace_id=workspace_id
            ).count()
        )
