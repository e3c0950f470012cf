"""The route table: an immutable, in-memory snapshot of everything the proxy needs to decide a call.

The proxy only ever reads it, so a proxied call touches no database. Every (route, environment) pair is
resolved ahead of the calls, each on its own: a pair that cannot be resolved (a row written before today's
validation, say) is left out and listed in `unresolvable`, and everything else in the table is still current.

A process builds the whole table once (`build_route_table`, at start-up or when it cannot tell what
changed). After that, each new configuration version is applied from the change log that core.audit
writes with it (`route_table_update`): only the routes, environments, secrets, API keys, clients or
region networks those versions name are read and resolved again, and the new table shares every other
entry with the previous one. One changed route of 1,000 in 20 environments is 20 pairs, not 20,000, so a
change never takes the event loop's GIL for long; a long whole build pauses now and then for the same
reason (`Pacer`).
"""

import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings

from core.audit import EVERYTHING
from core.lookups import as_uuid
from core.selectors import config_scopes_between, config_version
from environments.api_keys import hash_api_key
from environments.models import ArchivedEnvironment, Environment, RegionNetwork
from environments.selectors import secret_parents
from knoxcall.lib.client_ip import Network, parse_client_network
from knoxcall.lib.targets import TargetAddress, target_address
from secrets_vault.injection import Injection, Templates, Vault, bind_injection, parse_templates
from secrets_vault.rendering import SECRET, SECRET_ID, Placeholder
from secrets_vault.selectors import load_vault

from .access_table import KeyInfo, build_api_key_index, build_client_networks
from .effective import EffectiveConfig, effective_config
from .keys import RouteIndex, route_index
from .models import ACTIVE_RELEASE_STATES, OVERRIDABLE_FIELDS, Release, Route, RouteOverride
from .regions import Member, RegionGroup

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
Pair = tuple[str, str]  # (route id, environment name)


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
    # The proxy's rate limits of this object per calling API key id (routing/proxy/ratelimit.py). Kept on
    # the object so each one, a stable route and its release's candidate alike, has its own, and they are
    # dropped with it (with an old table's decrypted values). Never compared, copied or set by a caller.
    limits_by_key: dict[str, tuple[Any, list]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )


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


@dataclass(frozen=True, slots=True)
class RouteSource:
    """One route as the table read it: what its (route, environment) pairs are resolved from."""

    id: str
    name: str
    slug: str
    residency_locked: bool
    base: Mapping[str, Any]  # the overridable fields' base values
    overrides: Mapping[int, Mapping[str, Any]]  # environment id -> the fields overridden there


@dataclass(frozen=True, slots=True)
class EnvironmentSource:
    id: int
    name: str
    parents: tuple[str, ...]  # whose secret values fill this one's gaps, nearest first


@dataclass(frozen=True)
class PairPart:
    """A map keyed by (route id, environment name) that the table holds beside `resolved`, built by its
    own function: `build(None)` builds it for every route, `build(route_ids)` only those routes' entries.
    A change to a route rebuilds that route's entries; a new or deleted environment, or a change of a kind
    in `whole_on`, rebuilds the whole map."""

    field: str  # the RouteTable attribute
    build: Callable[[frozenset[str] | None], dict[Pair, Any]]
    whole_on: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RouteTable:
    version: int
    route_index: RouteIndex = field(default_factory=lambda: route_index(()))  # slug, UUID, name -> id
    environments: frozenset[str] = frozenset()
    default_environment: str | None = None
    resolved: dict[Pair, ResolvedRoute] = field(default_factory=dict)
    api_keys: dict[str, KeyInfo] = field(default_factory=dict)  # sha256 of active keys (access_table.py)
    client_networks: dict[Pair, tuple[Network, ...]] = field(default_factory=dict)
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
    # What the next version is applied to (route_table_update); the proxy does not read these.
    counted_since: datetime | None = field(default=None, repr=False)  # core.selectors.config_version
    origin: str = field(default="whole build", repr=False, compare=False)  # for the log: how it was made
    sources: dict[str, RouteSource] = field(default_factory=dict, repr=False)
    environment_sources: dict[str, EnvironmentSource] = field(default_factory=dict, repr=False)
    vault: Vault = field(default_factory=Vault, repr=False)
    secret_refs: dict[str, frozenset[Placeholder]] = field(default_factory=dict, repr=False)  # route id ->

    def find_route_id(self, key: str) -> str | None:
        return self.route_index.find(key)

    def resolve(self, route_id: str, environment: str) -> ResolvedRoute | None:
        """None for a pair listed in `unresolvable` (the route exists but cannot be served there)."""
        return self.resolved.get((route_id, environment))

    def find_api_key(self, raw_key: str) -> KeyInfo | None:
        return self.api_keys.get(hash_api_key(raw_key))

    def networks_of(self, route: ResolvedRoute) -> tuple[Network, ...]:
        return self.client_networks.get((route.route_id, route.environment), ())


# A build in the watcher thread offers the GIL to the event loop this often (see Pacer).
PAUSE_EVERY_SECONDS = 0.001
PAUSE_SECONDS = 0.0


class Pacer:
    """Offers the GIL to the event loop every millisecond of a build in the watcher thread.

    Without it a build keeps the GIL until the interpreter's switch interval (5 ms) forces a switch, each
    time the event loop wants it back: calls wait 5-10 ms meanwhile. `time.sleep(0)` releases the GIL, and
    a waiting event loop takes it then. Measured on a loaded 2-core machine (an asyncio timer's lateness
    while a thread computes): p50 about 9 ms without pauses, about 1 ms with one every millisecond, at a
    small cost to the build; real sleeps did no better and cost the build a rescheduling each time."""

    def __init__(self) -> None:
        self.due = time.perf_counter() + PAUSE_EVERY_SECONDS

    def __call__(self) -> None:
        if time.perf_counter() >= self.due:
            self.pause()
            self.due = time.perf_counter() + PAUSE_EVERY_SECONDS

    @staticmethod
    def pause() -> None:
        time.sleep(PAUSE_SECONDS)


def _is_gateway_itself(netloc_host: str, port: int | None) -> bool:
    """A target aimed back at this gateway would proxy to the console or recurse: refuse it as a loop."""
    return netloc_host in LOOPBACK_HOSTS and port == settings.GATEWAY_PORT


# Pure and called for every pair: most pairs of a route share one target (and many routes share a host).
_target_address: Callable[[str], TargetAddress] = lru_cache(maxsize=8192)(target_address)


def _resolve_pair(
    source: RouteSource,
    environment: EnvironmentSource,
    vault: Vault,
    parsed: dict[tuple[int, int], Templates | None],
) -> ResolvedRoute:
    """One (route, environment). `parsed` caches the route's parsed templates by the identity of their
    JSON values, which every environment inheriting them shares with the base route."""
    config = effective_config(source.base, source.overrides.get(environment.id))
    target = config["target_base_url"].rstrip("/")
    address = _target_address(target)  # raises InvalidTargetError for a port or host it cannot call
    headers_json, body_json = config["inject_headers_json"], config["inject_body_json"]
    key = (id(headers_json), id(body_json))
    if key not in parsed:
        parsed[key] = parse_templates(headers_json, body_json)
    templates = parsed[key]
    return ResolvedRoute(
        route_id=source.id,
        route_name=source.name,
        slug=source.slug,
        environment=environment.name,
        config=config,
        enabled=bool(config["enabled"]),
        target_base_url=target,
        host_header=address.host_header,
        allowed_methods=frozenset(config["allowed_methods"] or ()),
        timeout_seconds=config["timeout_ms"] / 1000,
        is_loop=_is_gateway_itself(address.hostname, address.port),
        injection=None
        if templates is None
        else bind_injection(templates, environment.name, source.name, vault, environment.parents),
    )


def resolve_route(
    route_values: dict,
    route: Route,
    environment: str,
    override: dict | None,
    vault: Vault | None = None,
    parents: tuple[str, ...] = (),
) -> ResolvedRoute:
    """One (route, environment) from values in hand (the proxy harness's tables are made of these)."""
    source = RouteSource(str(route.pk), route.name, route.slug, False, route_values, {0: override or {}})
    return _resolve_pair(source, EnvironmentSource(0, environment, parents), vault or Vault(), {})


@dataclass
class Resolution:
    """Pairs resolved in one pass, what could not be, and the secrets each route's templates name."""

    resolved: dict[Pair, ResolvedRoute] = field(default_factory=dict)
    unresolvable: list[Unresolvable] = field(default_factory=list)
    secret_refs: dict[str, frozenset[Placeholder]] = field(default_factory=dict)


def resolve_pairs(
    sources: Iterable[RouteSource],
    environments: Collection[EnvironmentSource],
    vault: Vault,
    pacer: Pacer,
) -> Resolution:
    """Each route in each of these environments, each pair on its own: one bad row costs only itself."""
    done = Resolution()
    for source in sources:
        parsed: dict[tuple[int, int], Templates | None] = {}
        for environment in environments:
            try:
                pair = (source.id, environment.name)
                done.resolved[pair] = _resolve_pair(source, environment, vault, parsed)
            except Exception as exc:  # noqa: BLE001 - whatever it is, it must not stop the other routes
                reason = str(exc) or type(exc).__name__
                done.unresolvable.append(
                    Unresolvable(source.id, source.name, source.slug, environment.name, reason)
                )
        done.secret_refs[source.id] = frozenset(p for t in parsed.values() if t for p in t.secrets)
        pacer()
    return done


def route_sources(route_ids: Collection[str] | None, pacer: Pacer) -> dict[str, RouteSource]:
    """Every route (or those of `route_ids` that still exist) with its overrides, read as plain values."""
    routes = Route.objects.all() if route_ids is None else Route.objects.filter(pk__in=list(route_ids))
    overrides = RouteOverride.objects.all()
    if route_ids is not None:
        overrides = overrides.filter(route_id__in=list(route_ids))
    by_route: dict[str, dict[int, dict]] = {}
    for row in overrides.values("route_id", "environment_id", *OVERRIDABLE_FIELDS).iterator(chunk_size=2000):
        by_route.setdefault(str(row.pop("route_id")), {})[row.pop("environment_id")] = {
            name: value for name, value in row.items() if value is not None
        }
        pacer()
    sources = {}
    for row in routes.values("id", "name", "slug", "residency_locked", *OVERRIDABLE_FIELDS):
        route_id = str(row["id"])
        base = {name: row[name] for name in OVERRIDABLE_FIELDS}
        sources[route_id] = RouteSource(
            route_id, row["name"], row["slug"], row["residency_locked"], base, by_route.get(route_id, {})
        )
    return sources


def environment_sources(environments: list[Environment]) -> dict[str, EnvironmentSource]:
    parents = secret_parents(environments)
    return {env.name: EnvironmentSource(env.pk, env.name, parents[env.name]) for env in environments}


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


def build_active_releases(route_ids: frozenset[str] | None) -> dict[tuple[str, str], ActiveRelease]:
    """The releases being served (on every route, or on `route_ids`), each on its own like the routes: a
    candidate that cannot be resolved is logged and left out, and its callers stay on the stable side."""
    active = Release.objects.filter(state__in=ACTIVE_RELEASE_STATES)
    if route_ids is not None:
        active = active.filter(route_id__in=list(route_ids))
    # The common case is no release: asked first without the joins, whose query takes the ORM about five
    # times as long to build (most of a one-route change's apply time, which the event loop shares).
    if not active.values_list("pk", flat=True)[:1]:
        return {}
    active = list(active.select_related("route", "environment"))
    parents = secret_parents(list(Environment.objects.all()))
    vault = load_vault()
    overrides = {
        (str(o.route_id), o.environment_id): o.overridden_values()
        for o in RouteOverride.objects.filter(route_id__in={r.route_id for r in active})
    }
    found: dict[tuple[str, str], ActiveRelease] = {}
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


# Per-pair maps built beside `resolved`. A feature that keeps something per (route, environment) in the
# table adds a field to RouteTable and its PairPart here, and names the route in its audit entries
# (core.audit.record_change(scopes=[scope("route", route_id)])) so a change rebuilds that route's entries.
PAIR_PARTS: list[PairPart] = [
    PairPart("client_networks", build_client_networks, frozenset({"client"})),
    # A candidate is resolved with the vault and the environments' secret parents, like its route.
    PairPart("releases", build_active_releases, frozenset({"secret"})),
]


def environment_fields(environments: list[Environment]) -> dict[str, Any]:
    """The RouteTable fields read from the environments themselves (and the archived names)."""
    groups = build_region_groups(environments)
    return {
        "environments": frozenset(env.name for env in environments),
        "default_environment": next((env.name for env in environments if env.is_default), None),
        "expires_at": {env.name: env.expires_at.timestamp() for env in environments if env.expires_at},
        "archived": frozenset(ArchivedEnvironment.objects.values_list("name", flat=True)),
        "region_groups": groups,
        "group_of": {m.name: g.name for g in groups.values() for m in g.members},
        "environment_sources": environment_sources(environments),
    }


def route_fields(sources: dict[str, RouteSource]) -> dict[str, Any]:
    """The RouteTable fields read from the routes' names and keys rather than from their pairs."""
    in_order = sorted(sources.values(), key=lambda s: (s.name, s.id))  # the log names problems in order
    return {
        "sources": sources,
        "route_index": route_index((s.id, s.name, s.slug) for s in in_order),
        "residency_locked": frozenset(s.id for s in sources.values() if s.residency_locked),
    }


def _in_order(items: Iterable[Unresolvable]) -> tuple[Unresolvable, ...]:
    return tuple(sorted(items, key=lambda u: (u.route_name, u.slug, u.environment)))


def build_route_table() -> RouteTable:
    """The whole table, from the database, in one pass (start-up, or when the change log cannot say)."""
    pacer = Pacer()
    version, counted_since = config_version()
    environments = list(Environment.objects.all())
    fields = environment_fields(environments)
    sources = route_sources(None, pacer)
    vault = load_vault()  # decrypted once per table; the values live only in this snapshot
    done = resolve_pairs(sources.values(), fields["environment_sources"].values(), vault, pacer)
    return RouteTable(
        version=version,
        counted_since=counted_since,
        resolved=done.resolved,
        unresolvable=_in_order(done.unresolvable),
        secret_refs=done.secret_refs,
        vault=vault,
        api_keys=build_api_key_index(),
        region_networks=build_region_networks(),
        **fields,
        **route_fields(sources),
        **{part.field: part.build(None) for part in PAIR_PARTS},
    )


def route_table_update(table: RouteTable | None) -> RouteTable:
    """The table of the configuration's current version: `table` itself when that is still current, the
    versions since applied to it when the change log names them all, else a whole new build."""
    version, counted_since = config_version()
    if table is not None and (version, counted_since) == (table.version, table.counted_since):
        return table
    if table is None or counted_since != table.counted_since or version < table.version:
        return build_route_table()  # no table yet, or a reset or restored database counting again
    scopes = config_scopes_between(table.version, version)
    changes = None if scopes is None else Changes.parse(scopes)
    if changes is None:
        return build_route_table()
    return apply_changes(table, changes, version)


@dataclass
class Changes:
    """What some versions changed, by kind: route, secret, environment, api_key, client, region_network."""

    keys: dict[str, set[str]]

    KINDS = frozenset({"route", "environment", "secret", "api_key", "client", "region_network"})

    @classmethod
    def parse(cls, scopes: Iterable[str]) -> "Changes | None":
        """None when only a whole build is safe: everything changed, or a scope this release cannot read."""
        keys: dict[str, set[str]] = {}
        for entry in scopes:
            kind, _, key = entry.partition(":")
            if entry == EVERYTHING or kind not in cls.KINDS:
                return None
            keys.setdefault(kind, set()).add(key)
        if "route" in keys:
            if any(as_uuid(key) is None for key in keys["route"]):
                return None
            keys["route"] = {str(as_uuid(key)) for key in keys["route"]}
        return cls(keys)

    def __contains__(self, kind: str) -> bool:
        return kind in self.keys

    def __str__(self) -> str:
        return ", ".join(f"{kind} x{len(keys)}" for kind, keys in sorted(self.keys.items()))


def apply_changes(table: RouteTable, changes: Changes, version: int) -> RouteTable:
    """A new table for `version`: what `changes` names read again, everything else shared with `table`."""
    pacer = Pacer()
    env_fields: dict[str, Any] = {}
    if "environment" in changes:
        env_fields = environment_fields(list(Environment.objects.all()))
    step = Step.begin(table, env_fields.get("environment_sources", table.environment_sources))
    step.read_routes(changes.keys.get("route", set()), pacer)
    vault = table.vault
    if step.new_environments or step.gone_environments:
        vault = load_vault()  # values went with a deleted environment, and a new one may reuse its name
    if "secret" in changes:
        vault = step.read_secrets(changes.keys["secret"], vault)
    done = step.resolve(vault, pacer)
    fields: dict[str, Any] = {**env_fields, "sources": step.sources}
    if step.keys_changed():  # names, slugs or residency changed, or routes came or went
        fields |= route_fields(step.sources)
    if "api_key" in changes:
        fields["api_keys"] = build_api_key_index()
    if "region_network" in changes:
        fields["region_networks"] = build_region_networks()
    fields |= {part.field: step.part(part, changes) for part in PAIR_PARTS}
    return replace(
        table,
        version=version,
        origin=f"applied {changes}, {len(done.resolved)} pairs resolved",
        vault=vault,
        resolved=step.merged(table.resolved, done.resolved, step.stale_routes, step.stale_environments),
        unresolvable=_in_order(step.kept(table.unresolvable) + done.unresolvable),
        secret_refs=step.merged_refs(done.secret_refs),
        **fields,
    )


@dataclass
class Step:
    """One application of changes to a table: which routes and environments to resolve again, which
    pairs to drop. Built up by `apply_changes`, then merged into copies of the table's maps."""

    table: RouteTable
    environments: dict[str, EnvironmentSource]
    sources: dict[str, RouteSource]
    new_environments: set[str]  # new names, or a name now of another environment (deleted and recreated)
    reparented: set[str]  # environments whose secret parents changed: their pairs bind other values
    gone_environments: set[str]
    changed_routes: set[str] = field(default_factory=set)  # read again: changed, created or deleted
    rebound_routes: set[str] = field(default_factory=set)  # whose secrets changed

    @classmethod
    def begin(cls, table: RouteTable, environments: dict[str, EnvironmentSource]) -> "Step":
        before = table.environment_sources
        new = {name for name, env in environments.items() if name not in before or before[name].id != env.id}
        reparented = {
            name
            for name, env in environments.items()
            if name not in new and env.parents != before[name].parents
        }
        gone = set(before) - set(environments) | {name for name in new if name in before}
        step = cls(table, environments, dict(table.sources), new, reparented, gone)
        if gone or new:
            step.read_new_environment_overrides()
        return step

    def read_new_environment_overrides(self) -> None:
        """Overrides are keyed by environment id: drop the deleted environments', read the new ones'."""
        gone_ids = {self.table.environment_sources[name].id for name in self.gone_environments}
        new_ids = {self.environments[name].id for name in self.new_environments}
        added: dict[str, dict[int, dict]] = {}
        rows = RouteOverride.objects.filter(environment_id__in=new_ids)
        for row in rows.values("route_id", "environment_id", *OVERRIDABLE_FIELDS):
            values = {name: row[name] for name in OVERRIDABLE_FIELDS if row[name] is not None}
            added.setdefault(str(row["route_id"]), {})[row["environment_id"]] = values
        for route_id, source in self.sources.items():
            if route_id in added or gone_ids & source.overrides.keys():
                kept = {env: values for env, values in source.overrides.items() if env not in gone_ids}
                self.sources[route_id] = replace(source, overrides=kept | added.get(route_id, {}))

    def read_routes(self, route_ids: set[str], pacer: Pacer) -> None:
        """Read these routes again; one that no longer exists leaves the table."""
        if not route_ids:
            return
        fresh = route_sources(route_ids, pacer)
        for route_id in route_ids:
            if route_id in fresh:
                self.sources[route_id] = fresh[route_id]
            else:
                self.sources.pop(route_id, None)
        self.changed_routes |= route_ids

    def read_secrets(self, secret_ids: set[str], vault: Vault) -> Vault:
        """`vault` with the changed secrets decrypted again (all of them for "*", a new master key), and
        the routes whose templates name them, by id or by name before or after a rename, marked."""
        before = self.table.vault
        if "*" in secret_ids or any(as_uuid(key) is None for key in secret_ids):
            vault = load_vault()
            named = None
        else:
            secret_ids = {str(as_uuid(key)) for key in secret_ids}
            vault = vault.replacing(secret_ids, load_vault(secret_ids))
            named = {Placeholder(SECRET_ID, key) for key in secret_ids} | {
                Placeholder(SECRET, found.by_id[key].name)
                for found in (before, vault)
                for key in secret_ids
                if key in found.by_id
            }
        self.rebound_routes = {
            route_id
            for route_id, refs in self.table.secret_refs.items()
            if refs and (named is None or refs & named)
        }
        return vault

    def resolve(self, vault: Vault, pacer: Pacer) -> Resolution:
        """Whole routes that changed (or whose secrets did), then every other route in the environments
        that are new or reparented."""
        whole = (self.changed_routes | self.rebound_routes) & self.sources.keys()
        done = resolve_pairs((self.sources[r] for r in whole), self.environments.values(), vault, pacer)
        new_here = [self.environments[name] for name in self.new_environments | self.reparented]
        if new_here:
            others = (source for route_id, source in self.sources.items() if route_id not in whole)
            more = resolve_pairs(others, new_here, vault, pacer)
            done.resolved |= more.resolved
            done.unresolvable += more.unresolvable
            for route_id, refs in more.secret_refs.items():  # the other environments' refs still hold
                done.secret_refs[route_id] = refs | self.table.secret_refs.get(route_id, frozenset())
        return done

    @property
    def stale_routes(self) -> set[str]:
        """Routes whose pairs of the old table this step replaces or drops, in every environment."""
        return self.changed_routes | self.rebound_routes

    @property
    def stale_environments(self) -> set[str]:
        """Environments whose pairs of the old table this step replaces or drops, for every route."""
        return self.gone_environments | self.new_environments | self.reparented

    def keys_changed(self) -> bool:
        """Whether a changed route came, went, or changed how callers select it (or its residency)."""
        before = self.table.sources

        def keys(source: RouteSource | None) -> tuple | None:
            return source and (source.name, source.slug, source.residency_locked)

        return any(keys(before.get(r)) != keys(self.sources.get(r)) for r in self.changed_routes)

    def merged(
        self, old: dict[Pair, Any], fresh: dict[Pair, Any], routes: set[str], environments: set[str]
    ) -> dict[Pair, Any]:
        """A copy of a per-pair map without the pairs of `routes` and of `environments`, plus `fresh`.
        The usual step names a few routes and no environment: their pairs are dropped by key, not by a
        scan of the whole map."""
        if environments:
            kept = {p: value for p, value in old.items() if p[0] not in routes and p[1] not in environments}
        else:
            kept = old.copy()
            every_environment = self.table.environments | self.environments.keys()
            for route_id in routes:
                for environment in every_environment:
                    kept.pop((route_id, environment), None)
        kept.update(fresh)
        return kept

    def kept(self, unresolvable: tuple[Unresolvable, ...]) -> list[Unresolvable]:
        routes, environments = self.stale_routes, self.stale_environments
        return [u for u in unresolvable if u.route_id not in routes and u.environment not in environments]

    def merged_refs(self, fresh: dict[str, frozenset[Placeholder]]) -> dict[str, frozenset[Placeholder]]:
        refs = self.table.secret_refs.copy()
        for route_id in self.changed_routes - self.sources.keys():
            refs.pop(route_id, None)
        refs.update(fresh)
        return refs

    def part(self, part: PairPart, changes: Changes) -> dict[Pair, Any]:
        """A per-pair map: rebuilt whole when environments came or went (or its own kinds changed), else
        only the changed routes' entries."""
        old = getattr(self.table, part.field)
        if self.new_environments or self.gone_environments or part.whole_on & changes.keys.keys():
            return part.build(None)
        if not self.changed_routes:
            return old
        return self.merged(old, part.build(frozenset(self.changed_routes)), self.changed_routes, set())


def log_problems(table: RouteTable, previous: RouteTable | None = None) -> None:
    """Called once per loaded version with the table it replaces, so a bad row is reported when it appears,
    not on every poll or every later version."""
    known = set(previous.unresolvable) if previous is not None else set()
    for item in table.unresolvable:
        if item in known:
            continue
        log.error(
            "route %r (%s) cannot be served in %s and is left out of table version %s: %s",
            item.route_name,
            item.slug,
            item.environment,
            table.version,
            item.reason,
        )
    shadowed = set(previous.route_index.shadowed) if previous is not None else set()
    for message in table.route_index.shadowed:
        if message not in shadowed:
            log.warning("route table version %s: %s; callers must use its slug or id", table.version, message)
