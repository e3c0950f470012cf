from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created

from .lib.private_files import make_private_dir, make_private_files, sqlite_files


class KnoxcallConfig(AppConfig):
    """Wiring only: the `knoxcall` management command, the deployment system checks, private data files."""

    name = "knoxcall"

    def ready(self) -> None:
        from secrets_vault.cipher import MASTER_KEY_FILE

        from . import checks  # noqa: F401  (registers the checks)

        # Every process (the run command, each server, Celery, manage.py, tests) starts here before it
        # opens the database or writes the master key: the data directory is private from the first run.
        make_private_dir(settings.DATA_DIR)
        make_private_files(settings.DATA_DIR / MASTER_KEY_FILE)
        # The embedded filesystem broker (`make run`: its parent makes them before starting worker and beat).
        for folder in (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).values():
            if isinstance(folder, str):
                make_private_dir(Path(folder))
        connection_created.connect(private_sqlite_files, dispatch_uid="knoxcall-private-sqlite")


def private_sqlite_files(sender, connection, **kwargs) -> None:
    """SQLite creates its database file with the umask's mode (0644): narrow it at once to 0600.

    SQLite gives the -wal and -shm files it creates later the database file's mode, so they follow.
    """
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name.startswith("file:") or name == ":memory:":
        return
    make_private_files(*sqlite_files(name))
