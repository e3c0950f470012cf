from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: actors, roles and the permission rule, the audit trail, the configuration
    version. It imports no other app of the project."""

    name = "core"
