"""The Django tests of the testing page, collected here and run with the plugin's
fixtures against the example project, as a reader's suite runs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.django_project.orders.models import Order
from integrations.snippets.testing_django import (
    client,
    test_a_retry_is_replayed,
    test_duplicates_sent_together_place_one_order,
)

__all__ = ["client", "test_a_retry_is_replayed", "test_duplicates_sent_together_place_one_order"]


@pytest.fixture(autouse=True)
def _orders_deleted(sqlite_db: None) -> Iterator[None]:
    # The tests place orders in the example project's database, which later tests count.
    yield
    Order.objects.all().delete()
