# A signed alert names its strategy or group without a workspace: the unique
# (workspace, name) indexes cannot serve that lookup, these can.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_strategies_executions"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="strategy",
            index=models.Index(fields=["name"], name="strategy_name"),
        ),
        migrations.AddIndex(
            model_name="accountgroup",
            index=models.Index(fields=["name"], name="account_group_name"),
        ),
    ]
