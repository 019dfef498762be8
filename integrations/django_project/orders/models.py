"""The side effect of the example views: one order per run."""

from __future__ import annotations

from typing import Any

from django.db import models


class Order(models.Model):
    """One placed order. ``request_key`` is the key its request carried; ``pid`` is the
    worker process that placed it."""

    item: models.CharField[str, str] = models.CharField(max_length=200)
    amount: models.PositiveIntegerField[int, int] = models.PositiveIntegerField()
    request_key: models.CharField[str | None, str | None] = models.CharField(
        max_length=255, null=True, db_index=True
    )
    pid: models.IntegerField[int, int] = models.IntegerField()

    def as_json(self) -> dict[str, Any]:
        """The JSON body that describes the order."""
        return {"id": self.pk, "item": self.item, "amount": self.amount}
