"""A route as one document, and its digest.

`route_document()` is the one canonical shape of a route: base values, each environment's sparse override,
client assignments by client name. Export writes it (configuration/document.py), apply reads it back, and
revisions, diffs, rollback and promotion plans compare it. It lives here, below `configuration`, so routing's
own services can capture revisions without importing upwards.

`revision_document()` adds `secret_refs`: per environment, the secrets its effective templates use and the
value version in force there. They are kept apart from the digest, which compares configuration only: a
secret's value is shared by every route and is never rolled back with one.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from secrets_vault.rendering import SECRET, parse_body, parse_headers, secret_placeholders

from .effective import effective_config
from .models import OVERRIDABLE_FIELDS

ROUTE_KEYS = ["name", "description", *OVERRIDABLE_FIELDS]
BASE_KEYS = ROUTE_KEYS  # what a document holds at its top level besides slug, overrides and clients
SECRET_REFS = "secret_refs"
INJECTION_FIELDS = ("inject_headers_json", "inject_body_json")


def _override_values(override) -> dict[str, Any]:
    """The fields an override row sets (works on historical models in migrations, which lack methods)."""
    values = {name: getattr(override, name) for name in OVERRIDABLE_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def route_document(route) -> dict:
    """A route as one document: its base values, each environment's sparse override, its client assignments.

    Keys are sorted, so equal configurations give equal documents.
    """
    overrides = {
        o.environment.name: _override_values(o) for o in route.overrides.select_related("environment")
    }
    clients: dict[str, list[str]] = {}
    for a in route.client_assignments.select_related("environment", "client"):
        clients.setdefault(a.environment.name, []).append(a.client.name)
    return {
        "slug": route.slug,
        **{k: getattr(route, k) for k in ROUTE_KEYS},
        "overrides": dict(sorted(overrides.items())),
        "clients": {env: sorted(names) for env, names in sorted(clients.items())},
    }


def canonical(document: Mapping[str, Any]) -> Any:
    """The document as plain JSON values (what a JSONField gives back), so stored and fresh ones compare."""
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


def document_digest(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the configuration; `secret_refs` (value versions) are left out."""
    configuration = {k: v for k, v in document.items() if k != SECRET_REFS}
    text = json.dumps(configuration, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def base_values(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in OVERRIDABLE_FIELDS if k in document}


def used_secrets(document: Mapping[str, Any], environment_names: Iterable[str]) -> dict[str, list]:
    """Per environment, the secret placeholders its effective injection templates contain."""
    base = {k: document.get(k) for k in INJECTION_FIELDS}
    uses = {}
    for name in environment_names:
        config = effective_config(base, document.get("overrides", {}).get(name))
        try:
            parsed = (
                parse_headers(config["inject_headers_json"]),
                parse_body(config["inject_body_json"] or {}),
            )
        except ValueError:  # a template stored before today's validation: it references nothing usable
            parsed = ()
        uses[name] = secret_placeholders(parsed)
    return uses


def secret_refs(
    document: Mapping[str, Any], environment_names: Iterable[str], secrets: Iterable[tuple[str, str, dict]]
) -> dict[str, list[dict]]:
    """Pure: per environment, each referenced secret with the value version in force there (None: no value,
    or no such secret). `secrets` holds (id, name, {environment name: value_version}) of every secret."""
    entries = [(sid, name, versions) for sid, name, versions in secrets]
    by_name = {entry[1]: entry for entry in entries}
    by_id = {entry[0]: entry for entry in entries}
    refs = {}
    for environment, placeholders in used_secrets(document, environment_names).items():
        found = []
        for p in placeholders:
            sid, name, versions = (by_name if p.kind == SECRET else by_id).get(p.arg, (None, None, {}))
            found.append({"ref": str(p), "id": sid, "name": name, "value_version": versions.get(environment)})
        if found:
            refs[environment] = found
    return refs


def current_secrets() -> list[tuple[str, str, dict]]:
    from secrets_vault.models import Secret, SecretValue

    versions: dict[str, dict] = {}
    for sid, env, version in SecretValue.objects.values_list(
        "secret_id", "environment__name", "value_version"
    ):
        versions.setdefault(str(sid), {})[env] = version
    return [
        (str(sid), name, versions.get(str(sid), {})) for sid, name in Secret.objects.values_list("pk", "name")
    ]


def revision_document(route) -> dict:
    """route_document plus the secret references and their value versions in force per environment."""
    from environments.models import Environment

    document = canonical(route_document(route))
    names = list(Environment.objects.values_list("name", flat=True))
    document[SECRET_REFS] = secret_refs(document, names, current_secrets())
    return document
