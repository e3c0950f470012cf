"""Console pages of the environments app."""

from django.urls import path  # noqa: F401

app_name = "environments"
urlpatterns: list = []
