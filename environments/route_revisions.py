"""Route revisions for the writes made here that change route documents.

A route's document names environments (its overrides and client assignments there) and clients (its
assignments, by name). Deleting an environment, and renaming or deleting a client, therefore change the
documents of the routes that name them, and each of those routes gets one revision in the same transaction.
Routing keeps the revisions and sits above this app, so it installs its recorder here at start-up
(RoutingConfig.ready), like environments.cloning. With none installed (no routing) nothing is recorded.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from core.audit import Actor

from .models import Client, Environment


class Recorder(Protocol):
    def __call__(
        self, *, actor: Actor, action: str, environment: Environment | None, client: Client | None
    ) -> AbstractContextManager[None]: ...


def _nothing(**kwargs: object) -> AbstractContextManager[None]:
    return nullcontext()


_recorder: Recorder = _nothing


def install(recorder: Recorder) -> None:
    global _recorder
    _recorder = recorder


def routes_naming(
    *, actor: Actor, action: str, environment: Environment | None = None, client: Client | None = None
) -> AbstractContextManager[None]:
    """Wrap the write: the routes naming the environment or client are noted before it, and each gets its
    revision after it (none when its document did not change)."""
    return _recorder(actor=actor, action=action, environment=environment, client=client)
