"""The route revisions a promotion writes and a deployment rolls back to, from routing.revisions.

routing.revisions lands on its own branch (issue 14, part 1); until it is merged a promotion still applies
atomically, records no revision numbers, and a deployment cannot be rolled back (the page says so).
"""

from contextlib import nullcontext
from typing import Any

try:
    from routing.revisions import latest_revision, revision_scope, route_rollback

    AVAILABLE = True
except ImportError:  # routing without revisions: see the module docstring
    AVAILABLE = False

    def latest_revision(route_id: Any) -> None:
        return None

    def revision_scope(**kwargs: Any) -> nullcontext:
        return nullcontext()

    def route_rollback(**kwargs: Any) -> None:
        raise RuntimeError("Route revisions are not available in this build.")


__all__ = ["AVAILABLE", "latest_revision", "revision_scope", "route_rollback"]
