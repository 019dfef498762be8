"""The example project's URLs, and the views of the tests."""

from __future__ import annotations

from django.urls import include, path

from tests.django import views

urlpatterns = [
    path("", include("integrations.django_project.urls")),
    path("echo", views.echo),
    path("exempt", views.exempt),
    path("required", views.required),
    path("listened", views.listened),
    path("delivery", views.delivery),
    path("stream", views.stream),
    path("astream", views.astream),
    path("cbv/plain", views.Plain.as_view()),
    path("cbv/exempt", views.ExemptClass.as_view()),
    path("cbv/exempt-dispatch", views.ExemptDispatch.as_view()),
    path("cbv/required-post", views.RequiredPost.as_view()),
    path("drf/view", views.RequiredAPIView.as_view()),
    path("drf/token-orders", views.TokenOrders.as_view()),
    path("drf/orders", views.ValidatedOrders.as_view()),
    path("drf/refunds", views.RefusedRefunds.as_view()),
    path("drf/things", views.Things.as_view({"post": "create"})),
    path("drf/things/<str:pk>", views.Things.as_view({"patch": "partial_update"})),
]
