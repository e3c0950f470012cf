from django.apps import AppConfig


class KnoxcallConfig(AppConfig):
    """Wiring only: the `knoxcall` management command and the deployment system checks."""

    name = "knoxcall"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
