"""The records table of the database store (``IDEMPOTENCY_STORE = "database"``).

The store writes it with its own conditional statements (see
:mod:`~idempotency_middleware.django.database_sql`); the model exists for the
migration and the admin. Its columns are those of ``SQLAlchemyStore``'s table.
"""

from __future__ import annotations

from django.db import models

from idempotency_middleware.django.database_sql import TABLE


class IdempotencyRecord(models.Model):
    """One record: ``key`` is the lookup digest of a caller's scope and key, never the
    raw key; ``expires_at`` is the lease end while in progress and the retention end once
    completed, in seconds since the epoch."""

    key: models.CharField[str, str] = models.CharField(max_length=64, primary_key=True)
    state: models.CharField[str, str] = models.CharField(max_length=16)
    owner: models.CharField[str, str] = models.CharField(max_length=64)
    fingerprint: models.CharField[str, str] = models.CharField(max_length=64)
    expires_at: models.FloatField[float, float] = models.FloatField(db_index=True)
    status: models.IntegerField[int | None, int | None] = models.IntegerField(null=True)
    headers: models.BinaryField[bytes | None, bytes | None] = models.BinaryField(null=True)
    body: models.BinaryField[bytes | None, bytes | None] = models.BinaryField(null=True)
    replayable: models.BooleanField[bool, bool] = models.BooleanField()
    format_version: models.SmallIntegerField[int, int] = models.SmallIntegerField()
    created_at: models.FloatField[float, float] = models.FloatField()

    class Meta:
        db_table = TABLE
        verbose_name = "idempotency record"

    def __str__(self) -> str:
        return f"{self.key[:16]}… ({self.state})"
