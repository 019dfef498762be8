"""The orders table."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("item", models.CharField(max_length=200)),
                ("amount", models.PositiveIntegerField()),
                ("request_key", models.CharField(db_index=True, max_length=255, null=True)),
                ("pid", models.IntegerField()),
            ],
        ),
    ]
