from __future__ import annotations

from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "brokers"
    verbose_name = "Broker accounts and orders"
