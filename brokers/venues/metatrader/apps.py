from django.apps import AppConfig


class MetaTraderConfig(AppConfig):
    name = "brokers.venues.metatrader"
    label = "metatrader"
    verbose_name = "MetaTrader"
    default_auto_field = "django.db.models.BigAutoField"
