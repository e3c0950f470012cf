"""Console pages of the secrets_vault app."""

from django.urls import path  # noqa: F401

app_name = "secrets_vault"
urlpatterns: list = []
