from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"

    def ready(self) -> None:
        # The vault asks who uses a secret before renaming or deleting it; routes are the users, and the
        # vault cannot import routing (it sits below), so routing answers through this hook.
        from environments import cloning, route_revisions
        from secrets_vault import usage

        from . import revisions, secret_usage, services

        usage.install(secret_usage)
        # A feature environment cloned from a parent starts with the parent's overrides and assignments.
        cloning.install(services.environment_configuration_copy)
        # Deleting an environment or renaming or deleting a client changes the routes that name them.
        route_revisions.install(revisions.revisions_for_routes_naming)
