from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "deployments"

    def ready(self) -> None:
        # A rollback from a route's History is a deployment too (watched, notified); routing runs it and
        # cannot import this app, which sits above it, so the watcher installs itself there.
        from routing import rollback

        from .rollback_watch import DeploymentWatch

        rollback.install(DeploymentWatch())
