"""How callers name a route in `x-knoxcall-route`: its slug or UUID, else its name when that is unambiguous.

A slug and a UUID are keys: each picks exactly one route. A name is a convenience and picks a route only
when no slug or UUID matches and no other route has the same name (letter case ignored). Writes refuse a
name or slug that would shadow another route's key (Route.clean), and the route table applies the same
order to whatever rows the database holds, so an old row can never take another route's traffic.
Pure functions: the table, the model's validation and the tests share them.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# (route id, name, slug): what a route contributes to the lookup.
RouteKeys = tuple[str, str, str]


def fold(text: str) -> str:
    """The form lookups compare: callers may write a slug, UUID or name in any letter case."""
    return text.strip().casefold()


@dataclass(frozen=True)
class RouteIndex:
    keys: dict[str, str]  # folded slug or UUID -> route id
    names: dict[str, str]  # folded name -> route id, for names that select one route only
    shadowed: tuple[str, ...] = ()  # why some names select nothing (for the log)

    def find(self, key: str) -> str | None:
        found = self.keys.get(key)  # the usual call: a slug as stored, without folding
        if found is None:
            folded = fold(key)
            found = self.keys.get(folded) or self.names.get(folded)
        return found


def route_index(routes: Iterable[RouteKeys]) -> RouteIndex:
    routes = list(routes)
    keys: dict[str, str] = {}
    for route_id, _, slug in routes:
        keys[fold(slug)] = route_id
    for route_id, _, _ in routes:  # a UUID outranks a slug spelled like one
        keys[fold(route_id)] = route_id
    counts = Counter(fold(name) for _, name, _ in routes)
    names: dict[str, str] = {}
    shadowed = []
    for route_id, name, _ in routes:
        folded = fold(name)
        if keys.get(folded, route_id) != route_id:
            shadowed.append(f"the name of route {route_id} ({name!r}) is another route's slug or id")
        elif counts[folded] > 1:
            shadowed.append(f"the name {name!r} is shared by {counts[folded]} routes (letter case ignored)")
        else:
            names[folded] = route_id
    return RouteIndex(keys=keys, names=names, shadowed=tuple(shadowed))


def _name_conflict(name: str, other: RouteKeys) -> str | None:
    other_id, other_name, other_slug = other
    if fold(name) in (fold(other_slug), fold(other_id)):
        return (
            f"{name.strip()!r} is how callers select route {other_name!r} (its slug or id); "
            "choose a name that no route uses as its slug or id."
        )
    if fold(name) == fold(other_name) and name != other_name:
        return (
            f"Route {other_name!r} has the same name apart from letter case; callers could not tell "
            "the two apart."
        )
    return None


def _slug_conflict(slug: str, other: RouteKeys) -> str | None:
    other_id, other_name, _ = other
    if fold(slug) in (fold(other_name), fold(other_id)):
        return f"{slug!r} is the name or id of route {other_name!r}; choose a slug no route is called by."
    return None


def key_conflicts(route_id: str, name: str, slug: str, others: Iterable[RouteKeys]) -> dict[str, str]:
    """Field -> message for a name or slug that would shadow, or be shadowed by, another route's key.

    An exact duplicate name or slug is left to the unique constraints, which say so themselves; an empty
    name or slug (one not being changed) is not checked.
    """
    problems: dict[str, str] = {}
    for other in others:
        if other[0] == route_id:
            continue
        if fold(name) and "name" not in problems and (message := _name_conflict(name, other)):
            problems["name"] = message
        if fold(slug) and "slug" not in problems and (message := _slug_conflict(slug, other)):
            problems["slug"] = message
    return problems
