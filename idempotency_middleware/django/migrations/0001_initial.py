"""The records table of the database store."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("state", models.CharField(max_length=16)),
                ("owner", models.CharField(max_length=64)),
                ("fingerprint", models.CharField(max_length=64)),
                ("expires_at", models.FloatField(db_index=True)),
                ("status", models.IntegerField(null=True)),
                ("headers", models.BinaryField(null=True)),
                ("body", models.BinaryField(null=True)),
                ("replayable", models.BooleanField()),
                ("format_version", models.SmallIntegerField()),
                ("created_at", models.FloatField()),
            ],
            options={
                "verbose_name": "idempotency record",
                "db_table": "idempotency_records",
            },
        ),
    ]
