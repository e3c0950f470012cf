"""The route table: an immutable, in-memory snapshot of everything the proxy needs to decide a call.

Built from the database in one pass whenever the configuration version changes; the proxy only ever reads
it, so a proxied call touches no database. Every (route, environment) pair is resolved up front, each on
its own: a pair that cannot be resolved (a row written before today's validation, say) is left out and
listed in `unresolvable`, and everything else in the table is still current.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings

from core.models import ConfigVersion
from environments.api_keys import hash_api_key
from environments.models import ArchivedEnvironment, Environment, RegionNetwork
from environments.selectors import secret_parents
from knoxcall.lib.client_ip import Network, parse_client_network
from knoxcall.lib.targets import target_address
from secrets_vault.injection import Injection, Vault, build_injection
from secrets_vault.selectors import load_vault

from .access_table import KeyInfo, build_api_key_index, build_client_networks
from .effective import EffectiveConfig, effective_config
from .keys import RouteIndex, route_index
from .models import ACTIVE_RELEASE_STATES, OVERRIDABLE_FIELDS, Release, Route, RouteOverride
from .regions import Member, RegionGroup

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class Unresolvable:
    """A (route, environment) the table left out; calls to it answer 503 route_unavailable."""

    route_id: str
    route_name: str
    slug: str
    environment: str
    reason: str  # for staff (log, console); callers only learn that the route is unavailable


@dataclass(frozen=True, slots=True)
class ActiveRelease:
    """A release being served on one (route, environment): its candidate side resolved like any route (same
    secrets, injection and validation), and how a call picks its side (routing/proxy/split.py)."""

    release_id: str
    candidate: ResolvedRoute
    weight_percent: float
    # The weight as a share of 2**64: a call whose keyed hash is below it goes to the candidate, so raising
    # the weight only adds callers and 0 sends everyone to stable.
    threshold: int
    salt: bytes
    sticky: str  # api_key, client_ip, header or none (routing.models.StickyBy)
    sticky_header: bytes  # lower-case x- header name when sticky is "header"
    allow_variant_header: bool


@dataclass(frozen=True)
class RouteTable:
    version: int
    route_index: RouteIndex = field(default_factory=lambda: route_index(()))  # slug, UUID, name -> id
    environments: frozenset[str] = frozenset()
    default_environment: str | None = None
    resolved: dict[tuple[str, str], ResolvedRoute] = field(default_factory=dict)
    api_keys: dict[str, KeyInfo] = field(default_factory=dict)  # sha256 of active keys (access_table.py)
    client_networks: dict[tuple[str, str], tuple[Network, ...]] = field(default_factory=dict)
    unresolvable: tuple[Unresolvable, ...] = ()
    # Temporary environments' expiry as a Unix time: the proxy answers 410 from that second on, without
    # waiting for the expiry task; archived names keep answering 410 after it ran.
    expires_at: dict[str, float] = field(default_factory=dict)
    archived: frozenset[str] = frozenset()
    region_groups: dict[str, RegionGroup] = field(default_factory=dict)  # group name -> members in order
    group_of: dict[str, str] = field(default_factory=dict)  # member name -> its group's name
    region_networks: dict[str, tuple[Network, ...]] = field(default_factory=dict)  # region -> CIDRs
    residency_locked: frozenset[str] = frozenset()  # route ids never served by another region's member
    releases: dict[tuple[str, str], ActiveRelease] = field(default_factory=dict)  # (route id, env) -> release

    def find_route_id(self, key: str) -> str | None:
        return self.route_index.find(key)

    def resolve(self, route_id: str, environment: str) -> ResolvedRoute | None:
        """None for a pair listed in `unresolvable` (the route exists but cannot be served there)."""
        return self.resolved.get((route_id, environment))

    def find_api_key(self, raw_key: str) -> KeyInfo | None:
        return self.api_keys.get(hash_api_key(raw_key))

    def networks_of(self, route: ResolvedRoute) -> tuple[Network, ...]:
        return self.client_networks.get((route.route_id, route.environment), ())


def _is_gateway_itself(netloc_host: str, port: int | None) -> bool:
    """A target aimed back at this gateway would proxy to the console or recurse: refuse it as a loop."""
    return netloc_host in LOOPBACK_HOSTS and port == settings.GATEWAY_PORT


def resolve_route(
    route_values: dict,
    route: Route,
    environment: str,
    override: dict | None,
    vault: Vault | None = None,
    parents: tuple[str, ...] = (),
) -> ResolvedRoute:
    config = effective_config(route_values, override)
    target = config["target_base_url"].rstrip("/")
    address = target_address(target)  # raises InvalidTargetError for a port or host it cannot call
    return ResolvedRoute(
        route_id=str(route.pk),
        route_name=route.name,
        slug=route.slug,
        environment=environment,
        config=config,
        enabled=bool(config["enabled"]),
        target_base_url=target,
        host_header=address.host_header,
        allowed_methods=frozenset(config["allowed_methods"] or ()),
        timeout_seconds=config["timeout_ms"] / 1000,
        is_loop=_is_gateway_itself(address.hostname, address.port),
        injection=build_injection(config.values, environment, route.name, vault or Vault(), parents),
    )


def _resolve_each(
    routes: list[Route], environments: list[Environment], overrides: dict, vault: Vault
) -> tuple[dict[tuple[str, str], ResolvedRoute], list[Unresolvable]]:
    """Every (route, environment), each on its own: one bad row costs only itself."""
    resolved: dict[tuple[str, str], ResolvedRoute] = {}
    unresolvable: list[Unresolvable] = []
    parents = secret_parents(environments)
    for route in routes:
        route_id = str(route.pk)
        base = {name: getattr(route, name) for name in OVERRIDABLE_FIELDS}
        for env in environments:
            override = overrides.get((route_id, env.pk))
            try:
                resolved[(route_id, env.name)] = resolve_route(
                    base, route, env.name, override, vault, parents[env.name]
                )
            except Exception as exc:  # noqa: BLE001 - whatever it is, it must not stop the other routes
                reason = str(exc) or type(exc).__name__
                unresolvable.append(Unresolvable(route_id, route.name, route.slug, env.name, reason))
    return resolved, unresolvable


def build_region_groups(environments: list[Environment]) -> dict[str, RegionGroup]:
    members: dict[str, list[Environment]] = {}
    for env in environments:
        if env.region_group:
            members.setdefault(env.region_group, []).append(env)
    return {
        name: RegionGroup(
            name,
            tuple(
                Member(env.name, env.region, env.region_down_since is not None)
                for env in sorted(found, key=lambda e: (e.failover_order, e.name))
            ),
        )
        for name, found in members.items()
    }


def build_region_networks() -> dict[str, tuple[Network, ...]]:
    networks: dict[str, list[Network]] = {}
    for region, cidr in RegionNetwork.objects.values_list("region", "cidr"):
        try:
            networks.setdefault(region, []).append(parse_client_network(cidr))
        except ValueError:
            continue  # the service validates networks; a bad row must not stop the table from loading
    return {region: tuple(found) for region, found in networks.items()}


def _active_release(
    release: Release, route: Route, override: dict | None, vault: Vault, parents
) -> ActiveRelease:
    candidate = resolve_route(
        {name: getattr(route, name) for name in OVERRIDABLE_FIELDS},
        route,
        release.environment.name,
        {**(override or {}), **release.candidate},
        vault,
        parents,
    )
    return ActiveRelease(
        release_id=str(release.pk),
        candidate=candidate,
        weight_percent=release.weight_percent,
        threshold=int(min(max(release.weight_percent, 0.0), 100.0) / 100 * 2**64),
        salt=bytes.fromhex(release.salt),
        sticky=release.sticky,
        sticky_header=release.sticky_header.lower().encode("latin-1"),
        allow_variant_header=release.allow_variant_header,
    )


def build_active_releases(
    environments: list[Environment], overrides: dict, vault: Vault
) -> dict[tuple[str, str], ActiveRelease]:
    """The releases being served, each on its own like the routes: a candidate that cannot be resolved is
    logged and left out, and its callers stay on the stable side."""
    parents = secret_parents(environments)
    found: dict[tuple[str, str], ActiveRelease] = {}
    active = Release.objects.filter(state__in=ACTIVE_RELEASE_STATES).select_related("route", "environment")
    for release in active:
        env = release.environment
        try:
            override = overrides.get((str(release.route_id), env.pk))
            found[(str(release.route_id), env.name)] = _active_release(
                release, release.route, override, vault, parents.get(env.name, ())
            )
        except Exception as exc:  # noqa: BLE001 - one bad candidate must not stop the table from loading
            log.error("release %s: its candidate cannot be served, calls stay on stable: %s", release.pk, exc)
    return found


def build_route_table() -> RouteTable:
    version = ConfigVersion.objects.values_list("version", flat=True).filter(pk=1).first() or 0
    environments = list(Environment.objects.all())
    overrides: dict[tuple[str, int], dict] = {
        (str(o.route_id), o.environment_id): o.overridden_values() for o in RouteOverride.objects.all()
    }
    vault = load_vault()  # decrypted once per table; the values live only in this snapshot
    routes = list(Route.objects.all())
    resolved, unresolvable = _resolve_each(routes, environments, overrides, vault)
    default = next((env.name for env in environments if env.is_default), None)
    groups = build_region_groups(environments)
    return RouteTable(
        version=version,
        route_index=route_index((str(r.pk), r.name, r.slug) for r in routes),
        environments=frozenset(env.name for env in environments),
        default_environment=default,
        resolved=resolved,
        api_keys=build_api_key_index(),
        client_networks=build_client_networks(),
        unresolvable=tuple(unresolvable),
        expires_at={env.name: env.expires_at.timestamp() for env in environments if env.expires_at},
        archived=frozenset(ArchivedEnvironment.objects.values_list("name", flat=True)),
        region_groups=groups,
        group_of={m.name: g.name for g in groups.values() for m in g.members},
        region_networks=build_region_networks(),
        residency_locked=frozenset(str(r.pk) for r in routes if r.residency_locked),
        releases=build_active_releases(environments, overrides, vault),
    )


def log_problems(table: RouteTable) -> None:
    """Called once per loaded version, so a bad row is reported when it appears, not on every poll."""
    for item in table.unresolvable:
        log.error(
            "route %r (%s) cannot be served in %s and is left out of table version %s: %s",
            item.route_name,
            item.slug,
            item.environment,
            table.version,
            item.reason,
        )
    for message in table.route_index.shadowed:
        log.warning("route table version %s: %s; callers must use its slug or id", table.version, message)
