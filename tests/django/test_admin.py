"""The database store's records, read-only in the Django admin."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.test import override_settings

from idempotency_middleware.django.models import IdempotencyRecord
from tests.django.clients import ClientTestCase

ADMIN = "/admin/idempotency/idempotencyrecord/"


@override_settings(IDEMPOTENCY_STORE="database")
class AdminTests(ClientTestCase):
    def test_records_are_listed_and_shown_but_not_added_changed_or_deleted(self) -> None:
        order = json.dumps({"item": "annual plan", "amount": 19_900})
        self.post("/echo", order, key="admin-1")
        record = IdempotencyRecord.objects.get()
        self.client.force_login(User.objects.create_superuser("admin"))

        listing = self.client.get(ADMIN)
        page = self.client.get(f"{ADMIN}{record.pk}/change/")

        assert listing.status_code == 200
        assert record.key in listing.content.decode()
        assert page.status_code == 200
        assert "location: /things/1" in page.content.decode()
        assert 'name="_save"' not in page.content.decode()
        assert self.client.get(f"{ADMIN}add/").status_code == 403
        assert self.client.post(f"{ADMIN}{record.pk}/delete/", {"post": "yes"}).status_code == 403
        assert IdempotencyRecord.objects.count() == 1
