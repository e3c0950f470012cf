"""Effective configuration of a (route, environment): the base values with the environment's overrides.

Pure: takes plain values, returns plain values. The proxy's route table, the console's override matrix and
the API all call this one function, so they can never disagree about what an environment inherits.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INHERITED = "inherited"
OVERRIDDEN = "overridden"


@dataclass(frozen=True)
class EffectiveConfig:
    values: Mapping[str, Any]
    overridden: frozenset[str]

    def __getitem__(self, field: str) -> Any:
        return self.values[field]

    def provenance(self, field: str) -> str:
        return OVERRIDDEN if field in self.overridden else INHERITED


def effective_config(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> EffectiveConfig:
    """Each field takes the override's value unless it is None (NULL = inherit from the base route)."""
    override = override or {}
    values = {}
    overridden = set()
    for field, base_value in base.items():
        value = override.get(field)
        if value is None:
            values[field] = base_value
        else:
            values[field] = value
            overridden.add(field)
    return EffectiveConfig(values=values, overridden=frozenset(overridden))


def serves_change(
    base: Mapping[str, Any], override: Mapping[str, Any] | None, changes: Mapping[str, Any]
) -> bool:
    """Whether changing the base values `changes` alters what an environment with this override serves.

    An environment where the route is disabled before and after the change serves nothing either way, so a
    change that leaves it disabled does not reach it; one that enables it does. `base` may carry keys an
    override never sets (the route's name, a key callers select it by): those are always inherited.
    """
    before = effective_config(base, override)
    after = effective_config({**base, **{k: v for k, v in changes.items() if k in base}}, override)
    if not before["enabled"] and not after["enabled"]:
        return False
    return before.values != after.values
