"""Console pages of the routing app."""

from django.urls import path  # noqa: F401

app_name = "routing"
urlpatterns: list = []
