"""The promotion plan: what to write so a target environment behaves like a source, for chosen routes.

Pure: takes route documents (plain values) and returns plain values. A route document is
`{"id", "slug", "name", "base": {field: value}, "overrides": {environment: {field: value}} (only the
fields an override sets), "clients": {environment: [client id, …]}}`; deployments.selectors builds them.

Fields are classed in routing.models (BEHAVIOUR_FIELDS promoted by default, ENVIRONMENT_SPECIFIC_FIELDS shown
as expected differences). Writing into the default environment writes base values, which every environment
without an override inherits; the plan pins the current value into each of those, so only the target moves.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.compare import compare_views
from routing.effective import effective_config
from routing.models import BEHAVIOUR_FIELDS, CLIENT_ASSIGNMENTS, OVERRIDABLE_FIELDS

BEHAVIOUR, ENVIRONMENT_SPECIFIC = "behaviour", "environment"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def served(doc: Mapping[str, Any], environment: str) -> dict[str, Any]:
    """What the route serves in an environment: its effective values and the clients assigned there."""
    config = effective_config(doc["base"], doc["overrides"].get(environment))
    return {**config.values, CLIENT_ASSIGNMENTS: sorted(doc["clients"].get(environment, []))}


def served_digest(doc: Mapping[str, Any], environment: str) -> str:
    return sha256_of({"route": doc["id"], "name": doc["name"], "served": served(doc, environment)})


@dataclass(frozen=True)
class FieldChange:
    field: str
    kind: str  # BEHAVIOUR or ENVIRONMENT_SPECIFIC
    source: Any
    target: Any
    promote: bool


@dataclass(frozen=True)
class Pin:
    environment: str
    field: str
    value: Any


@dataclass(frozen=True)
class RoutePlan:
    route_id: str
    slug: str
    name: str
    changes: tuple[FieldChange, ...]
    pins: tuple[Pin, ...]
    writes: dict[str, Any]  # {"base": {f: v}, "overrides": {env: {f: v | None}}, "clients": {...}}
    source_digest: str
    target_digest: str

    @property
    def will_change(self) -> list[FieldChange]:
        return [c for c in self.changes if c.promote]

    @property
    def expected_differences(self) -> list[FieldChange]:
        return [c for c in self.changes if not c.promote]


@dataclass(frozen=True)
class Plan:
    source: str
    target: str
    fields: tuple[str, ...]
    routes: tuple[RoutePlan, ...] = field(default=())

    @property
    def digest(self) -> str:
        return sha256_of(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "fields": list(self.fields),
            "routes": [route_plan_dict(r) for r in self.routes],
        }


def route_plan_dict(plan: RoutePlan) -> dict[str, Any]:
    return {
        "route_id": plan.route_id,
        "slug": plan.slug,
        "name": plan.name,
        "will_change": [_change_dict(c) for c in plan.will_change],
        "expected_differences": [_change_dict(c) for c in plan.expected_differences],
        "pinned": [{"environment": p.environment, "field": p.field, "value": p.value} for p in plan.pins],
        "writes": plan.writes,
        "source_digest": plan.source_digest,
        "target_digest": plan.target_digest,
    }


def _change_dict(change: FieldChange) -> dict[str, Any]:
    return {"field": change.field, "kind": change.kind, "source": change.source, "target": change.target}


def field_kind(name: str) -> str:
    return BEHAVIOUR if name in BEHAVIOUR_FIELDS else ENVIRONMENT_SPECIFIC


PROMOTABLE = frozenset((*OVERRIDABLE_FIELDS, CLIENT_ASSIGNMENTS))


def differences(doc: Mapping[str, Any], source: str, target: str, chosen: Iterable[str]) -> list[FieldChange]:
    """Every field whose served value differs between the two environments, marked promote if chosen:
    routing.compare's rows, the ones the History, Compare and /v1 compare show too."""
    chosen = set(chosen)
    document = {**doc["base"], "overrides": doc["overrides"], "clients": doc["clients"]}
    return [
        FieldChange(row.field, field_kind(row.field), row.before, row.after, row.field in chosen)
        for row in compare_views(document, source, document, target)
        if row.changed and row.field in PROMOTABLE
    ]


def _base_write(
    doc: Mapping[str, Any],
    target: str,
    others: Iterable[str],
    name: str,
    value: Any,
    writes: dict[str, Any],
    pins: list[Pin],
) -> None:
    """Into the default environment: a new base value, pinned at its current value everywhere else that
    inherits it, and the target's own override of the field (if any) removed so it inherits the new one."""
    current = doc["base"][name]
    if value != current:
        writes["base"][name] = value
        for environment in others:
            if name not in doc["overrides"].get(environment, {}):
                writes["overrides"].setdefault(environment, {})[name] = current
                pins.append(Pin(environment, name, current))
    if name in doc["overrides"].get(target, {}):
        writes["overrides"].setdefault(target, {})[name] = None


def _override_write(
    doc: Mapping[str, Any], source: str, target: str, name: str, value: Any, writes: dict[str, Any]
) -> None:
    """Into any other environment: the target's override takes the source's value, or inherits like the
    source does when the source inherits it from the base."""
    source_inherits = name not in doc["overrides"].get(source, {})
    new = None if source_inherits and value == doc["base"][name] else value
    writes["overrides"].setdefault(target, {})[name] = new


def _client_writes(doc: Mapping[str, Any], source: str, target: str) -> dict[str, list[str]]:
    wanted, present = set(doc["clients"].get(source, [])), set(doc["clients"].get(target, []))
    return {"assign": sorted(wanted - present), "unassign": sorted(present - wanted)}


def route_plan(
    doc: Mapping[str, Any],
    *,
    source: str,
    target: str,
    default: str,
    environments: Iterable[str],
    fields: Iterable[str],
) -> RoutePlan:
    """The writes that make one route's target serve what its source serves in the chosen fields."""
    changes = differences(doc, source, target, fields)
    writes: dict[str, Any] = {"base": {}, "overrides": {}, "clients": {"assign": [], "unassign": []}}
    pins: list[Pin] = []
    others = [e for e in environments if e != target]
    for change in changes:
        if not change.promote:
            continue
        if change.field == CLIENT_ASSIGNMENTS:
            writes["clients"] = _client_writes(doc, source, target)
        elif target == default:
            _base_write(doc, target, others, change.field, change.source, writes, pins)
        else:
            _override_write(doc, source, target, change.field, change.source, writes)
    return RoutePlan(
        route_id=doc["id"],
        slug=doc["slug"],
        name=doc["name"],
        changes=tuple(changes),
        pins=tuple(pins),
        writes=writes,
        source_digest=served_digest(doc, source),
        target_digest=served_digest(doc, target),
    )


def promotion_plan(
    docs: Iterable[Mapping[str, Any]],
    *,
    source: str,
    target: str,
    default: str,
    environments: Iterable[str],
    fields: Iterable[str] = BEHAVIOUR_FIELDS,
    route_ids: Iterable[str] | None = None,
) -> Plan:
    """The plan for the chosen routes, or (route_ids None) every route a chosen field differs on."""
    if source == target:
        raise ValueError("The source and target environments must differ.")
    fields, environments = tuple(sorted(set(fields))), list(environments)
    chosen = None if route_ids is None else {str(r) for r in route_ids}
    plans = []
    for doc in sorted(docs, key=lambda d: d["slug"]):
        if chosen is not None and doc["id"] not in chosen:
            continue
        plan = route_plan(
            doc, source=source, target=target, default=default, environments=environments, fields=fields
        )
        if chosen is not None or plan.will_change:
            plans.append(plan)
    return Plan(source=source, target=target, fields=fields, routes=tuple(plans))


def apply_writes(doc: Mapping[str, Any], writes: Mapping[str, Any], target: str = "") -> dict[str, Any]:
    """The route document after a plan's writes (client assignments change in `target`), for previews and
    for tests of the plan itself."""
    overrides = {env: dict(values) for env, values in doc["overrides"].items()}
    for environment, values in writes["overrides"].items():
        row = {**overrides.get(environment, {}), **values}
        overrides[environment] = {k: v for k, v in row.items() if v is not None}
    clients = {env: list(ids) for env, ids in doc["clients"].items()}
    if target:
        kept = set(clients.get(target, [])) - set(writes["clients"]["unassign"])
        clients[target] = sorted(kept | set(writes["clients"]["assign"]))
    return {**doc, "base": {**doc["base"], **writes["base"]}, "overrides": overrides, "clients": clients}
