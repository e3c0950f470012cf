"""Compare and drift: what two environments, or two revisions, serve, field by field, with provenance.

Pure: documents in (routing/document.py), rows out. The console's History and Compare views, the /v1
diff and compare endpoints and promotion plans all use these, so they can never disagree.
"""

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .effective import INHERITED, effective_config
from .models import OVERRIDABLE_FIELDS

ABSENT = "absent"  # the route does not exist in that document (deleted, or not yet created)
ASSIGNED = "assigned"  # provenance of client assignments: they are per environment, never inherited
CLIENTS = "clients"
ROUTE_FIELDS = ("name", "description")  # served or shown by every environment alike; never overridden


@dataclass(frozen=True)
class FieldDiff:
    """One field of one environment: its value and provenance before and after."""

    environment: str
    field: str
    before: Any
    after: Any
    provenance_before: str
    provenance_after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


def _view(document: Mapping[str, Any], environment: str) -> dict[str, tuple[Any, str]]:
    """Field -> (value, provenance) of a route document as one environment sees it."""
    if not document:
        fields = [*ROUTE_FIELDS, *OVERRIDABLE_FIELDS, CLIENTS]
        return dict.fromkeys(fields, (None, ABSENT))
    base = {k: document.get(k) for k in OVERRIDABLE_FIELDS}
    config = effective_config(base, document.get("overrides", {}).get(environment))
    view = {k: (document.get(k), INHERITED) for k in ROUTE_FIELDS}
    view |= {k: (config[k], config.provenance(k)) for k in OVERRIDABLE_FIELDS}
    view[CLIENTS] = (sorted(document.get("clients", {}).get(environment, [])), ASSIGNED)
    return view


def compare_views(
    before: Mapping[str, Any], env_before: str, after: Mapping[str, Any], env_after: str, *, label: str = ""
) -> list[FieldDiff]:
    """Every field of `before` as `env_before` sees it against `after` as `env_after` sees it."""
    a, b = _view(before, env_before), _view(after, env_after)
    return [FieldDiff(label or env_after, f, a[f][0], b[f][0], a[f][1], b[f][1]) for f in a]


def revision_diff(
    doc_a: Mapping[str, Any], doc_b: Mapping[str, Any], environment_names: Iterable[str], *, changed_only=True
) -> list[FieldDiff]:
    """Per (environment, field): what the route served in revision A and serves in B, with provenance.

    A field whose value is the same but whose provenance moved (an override now equal to the base) counts
    as a difference too: the next base change would reach one and not the other.
    """
    rows = []
    for environment in environment_names:
        for row in compare_views(doc_a, environment, doc_b, environment):
            moved = row.provenance_before != row.provenance_after
            if not changed_only or row.changed or moved:
                rows.append(row)
    return rows


def environment_compare(route: Any, env_a: Any, env_b: Any, *, changed_only: bool = False) -> list[FieldDiff]:
    """The effective configuration of `route` in env_a ("before") against env_b ("after"), field by field.

    `route` is a Route or a route document; environments are Environment rows or names. Rows are labelled
    with env_b, the side a promotion would write.
    """
    from .document import canonical, route_document

    document = route if isinstance(route, Mapping) else canonical(route_document(route))
    name_a, name_b = getattr(env_a, "name", env_a), getattr(env_b, "name", env_b)
    rows = compare_views(document, name_a, document, name_b)
    return [r for r in rows if r.changed] if changed_only else rows
