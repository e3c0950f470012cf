"""The data directory and the files in it are the installation's own: 0700 and 0600, never world-readable.

It holds the SQLite database (API key hashes, encrypted secrets, request logs), the development master key
and the Celery broker's messages. The directory's mode alone keeps other users out; the file modes hold too
when a file is copied or the directory is opened up by hand.
"""

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("knoxcall")

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only, and tighten it if it exists."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _restrict(path, PRIVATE_DIR_MODE)


def make_private_files(*paths: Path) -> None:
    """chmod 0600 the files that exist among `paths` (missing ones are skipped)."""
    for path in paths:
        _restrict(path, PRIVATE_FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        return
    except PermissionError:
        # Owned by another user (a volume prepared by an operator): say so rather than refuse to start.
        log.warning("Cannot make %s private (mode %o): it belongs to another user.", path, mode)


def sqlite_files(database: str | Path) -> list[Path]:
    """A SQLite database file with its WAL, shared-memory and rollback journal files."""
    return [Path(f"{database}{suffix}") for suffix in SQLITE_SIDE_FILES]
