from django.db import migrations


def load(apps, schema_editor):
    from risk.presets import presets_load

    presets_load(apps.get_model("risk", "RiskPreset"))


class Migration(migrations.Migration):
    dependencies = [("risk", "0002_rules_presets_state")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
