"""The route table: an immutable, in-memory snapshot of everything the proxy needs to decide a call.

Built from the database in one pass whenever the configuration version changes; the proxy only ever reads
it, so a proxied call touches no database. Every (route, environment) pair is resolved up front.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from environments.api_keys import hash_api_key
from environments.models import ConfigVersion, Environment
from knoxcall.lib.client_ip import Network
from secrets_vault.injection import Injection, Vault, build_injection
from secrets_vault.selectors import load_vault

from .access_table import KeyInfo, build_api_key_index, build_client_networks
from .effective import EffectiveConfig, effective_config
from .models import OVERRIDABLE_FIELDS, Route, RouteOverride

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """The effective configuration of one (route, environment), ready for the proxy."""

    route_id: str
    route_name: str
    slug: str
    environment: str
    config: EffectiveConfig
    enabled: bool
    target_base_url: str
    host_header: bytes
    allowed_methods: frozenset[str]
    timeout_seconds: float
    is_loop: bool
    # Secret injection, prepared with this environment's decrypted values (None: injects nothing).
    injection: Injection | None = None


@dataclass(frozen=True)
class RouteTable:
    version: int
    route_keys: dict[str, str] = field(default_factory=dict)  # slug, name and UUID -> route id
    environments: frozenset[str] = frozenset()
    default_environment: str | None = None
    resolved: dict[tuple[str, str], ResolvedRoute] = field(default_factory=dict)
    api_keys: dict[str, KeyInfo] = field(default_factory=dict)  # sha256 of active keys (access_table.py)
    client_networks: dict[tuple[str, str], tuple[Network, ...]] = field(default_factory=dict)

    def find_route_id(self, key: str) -> str | None:
        return self.route_keys.get(key) or self.route_keys.get(key.lower())

    def resolve(self, route_id: str, environment: str) -> ResolvedRoute | None:
        return self.resolved.get((route_id, environment))

    def find_api_key(self, raw_key: str) -> KeyInfo | None:
        return self.api_keys.get(hash_api_key(raw_key))

    def networks_of(self, route: ResolvedRoute) -> tuple[Network, ...]:
        return self.client_networks.get((route.route_id, route.environment), ())


def _is_gateway_itself(netloc_host: str, port: int | None) -> bool:
    """A target aimed back at this gateway would proxy to the console or recurse: refuse it as a loop."""
    return netloc_host in LOOPBACK_HOSTS and port == settings.GATEWAY_PORT


def resolve_route(
    route_values: dict, route: Route, environment: str, override: dict | None, vault: Vault | None = None
) -> ResolvedRoute:
    config = effective_config(route_values, override)
    target = config["target_base_url"].rstrip("/")
    parts = urlsplit(target)
    return ResolvedRoute(
        route_id=str(route.pk),
        route_name=route.name,
        slug=route.slug,
        environment=environment,
        config=config,
        enabled=bool(config["enabled"]),
        target_base_url=target,
        host_header=parts.netloc.encode("idna") if parts.netloc else b"",
        allowed_methods=frozenset(config["allowed_methods"] or ()),
        timeout_seconds=config["timeout_ms"] / 1000,
        is_loop=_is_gateway_itself(
            (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
        ),
        injection=build_injection(config.values, environment, route.name, vault or Vault()),
    )


def build_route_table() -> RouteTable:
    version = ConfigVersion.objects.values_list("version", flat=True).filter(pk=1).first() or 0
    environments = list(Environment.objects.all())
    overrides: dict[tuple[str, int], dict] = {
        (str(o.route_id), o.environment_id): o.overridden_values() for o in RouteOverride.objects.all()
    }
    vault = load_vault()  # decrypted once per table; the values live only in this snapshot
    route_keys: dict[str, str] = {}
    resolved: dict[tuple[str, str], ResolvedRoute] = {}
    for route in Route.objects.all():
        route_id = str(route.pk)
        route_keys[route.slug] = route_keys[route.name] = route_keys[route_id] = route_id
        route_keys.setdefault(route.name.lower(), route_id)
        base = {name: getattr(route, name) for name in OVERRIDABLE_FIELDS}
        for env in environments:
            override = overrides.get((route_id, env.pk))
            resolved[(route_id, env.name)] = resolve_route(base, route, env.name, override, vault)
    default = next((env.name for env in environments if env.is_default), None)
    return RouteTable(
        version=version,
        route_keys=route_keys,
        environments=frozenset(env.name for env in environments),
        default_environment=default,
        resolved=resolved,
        api_keys=build_api_key_index(),
        client_networks=build_client_networks(),
    )
