"""The site is called TradeFlow: allauth signs its emails with the site's name."""

from __future__ import annotations

from django.db import migrations


def name_the_site(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    # Before the sites app's post_migrate makes "example.com"; never over a real one.
    if not Site.objects.filter(pk=1).exclude(domain="example.com").exists():
        Site.objects.update_or_create(
            pk=1, defaults={"domain": "localhost", "name": "TradeFlow"}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(name_the_site, migrations.RunPython.noop)]
