"""Who uses a secret. Routes do, and routing sits above the vault in the dependency order, so routing
answers these questions by installing itself here when Django starts (RoutingConfig.ready); the vault asks
without importing it. With nothing installed (no app above uses secrets) nothing uses a secret.
"""

from typing import Protocol

from .models import Secret


class SecretUsage(Protocol):
    def routes_referencing(self, secret: Secret) -> list[str]: ...
    def protected_environments_using(self, secret: Secret) -> list[str]: ...


class _Unused:
    def routes_referencing(self, secret: Secret) -> list[str]:
        return []

    def protected_environments_using(self, secret: Secret) -> list[str]:
        return []


_provider: SecretUsage = _Unused()


def install(provider: SecretUsage) -> None:
    global _provider
    _provider = provider


def routes_referencing(secret: Secret) -> list[str]:
    """Names of the routes whose base or override templates mention this secret (by name or by id)."""
    return _provider.routes_referencing(secret)


def protected_environments_using(secret: Secret) -> list[str]:
    """Protected environments where a route that is live there injects this secret."""
    return _provider.protected_environments_using(secret)
