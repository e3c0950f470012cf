"""How each kind of change of a configuration plan is carried out: through the owning app's services."""

from typing import Any

from django.db import transaction

from alerts import services as alert_services
from alerts.models import AlertRule, NotificationChannel
from environments import services as env_services
from environments.models import Client, Environment
from routing import services as route_services
from routing.models import OVERRIDABLE_FIELDS, Route
from routing.revisions import revision_scope
from secrets_vault import services as secret_services
from secrets_vault.models import Secret

from .document import CLIENT_KEYS, ENVIRONMENT_KEYS, RULE_KEYS, Change, parse_expiry


def _only(values: dict[str, Any], keys: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keys}


def _environment_fields(values: dict[str, Any]) -> dict[str, Any]:
    fields = _only(values, ENVIRONMENT_KEYS)
    if "expires_at" in fields:
        fields["expires_at"] = parse_expiry(fields["expires_at"])
    return fields


def apply_environment(change: Change, actor) -> None:
    if change.action == "create":
        env_services.environment_create(actor=actor, name=change.name, **_environment_fields(change.fields))
        return
    environment = Environment.objects.get(name=change.name)
    if change.action == "delete":
        env_services.environment_delete(actor=actor, environment=environment)
        return
    fields = _environment_fields(change.fields)
    make_default = fields.pop("is_default", None)
    if fields:
        env_services.environment_update(actor=actor, environment=environment, **fields)
    if make_default:
        env_services.environment_make_default(actor=actor, environment=environment)


def apply_secret(change: Change, actor) -> None:
    fields = _only(change.fields, ["description", "secret_type"])
    if change.action == "create":
        secret_services.secret_create(actor=actor, name=change.name, **fields)
    elif fields:
        secret = Secret.objects.get(name=change.name)
        secret_services.secret_update(actor=actor, secret=secret, **fields)


def apply_client(change: Change, actor) -> None:
    if change.action == "create":
        fields = _only(change.fields, CLIENT_KEYS)
        env_services.client_create(actor=actor, name=change.name, **fields)
        return
    client = Client.objects.get(name=change.name)
    if change.action == "delete":
        env_services.client_delete(actor=actor, client=client)
    else:
        env_services.client_update(actor=actor, client=client, **_only(change.fields, CLIENT_KEYS))


def _set_overrides(actor, route: Route, wanted: dict, current: dict) -> None:
    for name in sorted(set(wanted) | set(current)):
        if wanted.get(name) != current.get(name):
            environment = Environment.objects.get(name=name)
            values = _only(wanted.get(name) or {}, list(OVERRIDABLE_FIELDS))
            route_services.route_override_replace(actor=actor, route=route, environment=environment, **values)


def _set_clients(actor, route: Route, wanted: dict, current: dict) -> None:
    pairs = {(env, c) for env, names in wanted.items() for c in names}
    have = {(env, c) for env, names in current.items() for c in names}
    for env, client in sorted(have - pairs):
        route_services.route_client_unassign(
            actor=actor,
            route=route,
            environment=Environment.objects.get(name=env),
            client=Client.objects.get(name=client),
        )
    for env, client in sorted(pairs - have):
        route_services.route_client_assign(
            actor=actor,
            route=route,
            environment=Environment.objects.get(name=env),
            client=Client.objects.get(name=client),
        )


def apply_route(change: Change, actor) -> None:
    if change.action == "delete":
        route_services.route_delete(actor=actor, route=Route.objects.get(slug=change.name))
        return
    base = _only(change.fields, ["name", "description", *OVERRIDABLE_FIELDS])
    if change.action == "create":
        route = route_services.route_create(actor=actor, slug=change.name, **base)
    else:
        route = Route.objects.get(slug=change.name)
        if base:
            route = route_services.route_update(actor=actor, route=route, **base)
    if "overrides" in change.fields:
        _set_overrides(actor, route, change.fields["overrides"] or {}, change.before.get("overrides", {}))
    if "clients" in change.fields:
        _set_clients(actor, route, change.fields["clients"] or {}, change.before.get("clients", {}))


def _rule_relations(values: dict[str, Any]) -> dict[str, Any]:
    related = {}
    if "route" in values:
        related["route"] = Route.objects.get(slug=values["route"]) if values["route"] else None
    if "environments" in values:
        related["environments"] = [Environment.objects.get(name=n) for n in values["environments"] or []]
    if "channels" in values:
        related["channels"] = [NotificationChannel.objects.get(name=n) for n in values["channels"] or []]
    return related


def apply_alert_rule(change: Change, actor) -> None:
    if change.action == "delete":
        alert_services.alert_rule_delete(actor=actor, rule=AlertRule.objects.get(name=change.name))
        return
    fields = {**_only(change.fields, RULE_KEYS), **_rule_relations(change.fields)}
    if change.action == "create":
        alert_services.alert_rule_create(actor=actor, name=change.name, **fields)
    else:
        alert_services.alert_rule_update(actor=actor, rule=AlertRule.objects.get(name=change.name), **fields)


APPLIERS = {
    "environment": apply_environment,
    "secret": apply_secret,
    "client": apply_client,
    "route": apply_route,
    "alert_rule": apply_alert_rule,
}


@transaction.atomic
def apply_plan(changes: list[Change], actor) -> None:
    """Carry out a plan through the services, all of it or (on the first refusal) none of it; each route it
    touches gets one revision, labelled "apply"."""
    with revision_scope(action="apply", actor=actor):
        for change in changes:
            APPLIERS[change.kind](change, actor)
