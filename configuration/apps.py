from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    """The route document and configuration as code: export, plan and apply (no models of its own)."""

    name = "configuration"
