"""The URLs of the example project."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from integrations.django_project.orders import views

urlpatterns = [
    path("orders", views.place_order, name="orders"),
    path("orders/count", views.count_orders, name="order-count"),
    path("orders/<int:order_id>", views.get_order, name="order"),
    path("webhooks/forms", views.receive_form, name="form-webhook"),
    path("checkout", views.checkout, name="checkout"),
    path("admin/", admin.site.urls),
]
