"""Reads of the vault. `load_vault` is the only place that decrypts, for the proxy's route table."""

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch
from django.views.decorators.debug import sensitive_variables

from environments.models import Environment
from environments.selectors import secret_parents

from . import cipher
from .injection import SecretInfo, Vault
from .models import Secret, SecretValue
from .rendering import SECRET, SECRET_ID, Placeholder

log = logging.getLogger(__name__)


@sensitive_variables("values")
def load_vault(secret_ids: Collection[str] | None = None) -> Vault:
    """Every secret (or those of `secret_ids`) and its values decrypted; a value that will not decrypt is
    recorded, not raised."""
    found = Secret.objects.all() if secret_ids is None else Secret.objects.filter(pk__in=list(secret_ids))
    secrets = {str(s.pk): SecretInfo(str(s.pk), s.name, s.expires_at, s.strict_expiry) for s in found}
    values: dict[tuple[str, str], str] = {}
    failures: dict[tuple[str, str], str] = {}
    rows = SecretValue.objects.select_related("environment").only(
        "secret_id", "environment__name", "ciphertext", "key_id"
    )
    if secret_ids is not None:
        rows = rows.filter(secret_id__in=list(secrets))
    for row in rows:
        key = (str(row.secret_id), row.environment.name)
        try:
            values[key] = cipher.decrypt(
                row.ciphertext, row.key_id, secret_id=key[0], environment_id=row.environment_id
            )
        except cipher.DecryptionError as exc:
            failures[key] = str(exc)
            log.error("secret %s in %s cannot be decrypted: %s", secrets[key[0]].name, key[1], exc)
    return Vault(
        by_name={info.name: info for info in secrets.values()},
        by_id=secrets,
        values=values,
        failures=failures,
    )


@dataclass(frozen=True)
class ValueState:
    """What the console may know about one value: whether it exists and its history, never the value."""

    environment: Environment
    has_value: bool
    value_version: int = 0
    updated_at: datetime | None = None
    updated_by: str = ""
    key_id: str = ""


def value_states(secret: Secret, environments: list[Environment]) -> list[ValueState]:
    rows = {v.environment_id: v for v in secret.values.all()}
    states = []
    for environment in environments:
        row = rows.get(environment.pk)
        if row is None:
            states.append(ValueState(environment, False))
        else:
            states.append(
                ValueState(environment, True, row.value_version, row.updated_at, row.updated_by, row.key_id)
            )
    return states


def secret_matrix() -> tuple[list[Environment], list[tuple[Secret, list[ValueState]]]]:
    """Secrets x environments: the console's "has value" matrix."""
    environments = list(Environment.objects.all())
    secrets = list(
        Secret.objects.prefetch_related(Prefetch("values", SecretValue.objects.defer("ciphertext")))
    )
    return environments, [(secret, value_states(secret, environments)) for secret in secrets]


def missing_references(uses: dict[str, list[Placeholder]]) -> list[str]:
    """What the placeholders used per environment lack: unknown secrets and environments without a value.

    `uses` maps an environment name to the secret placeholders its effective templates contain.
    """
    wanted = {p for found in uses.values() for p in found}
    by_name = {s.name: s for s in Secret.objects.filter(name__in=[p.arg for p in wanted if p.kind == SECRET])}
    by_id = {
        str(s.pk): s for s in Secret.objects.filter(pk__in=[p.arg for p in wanted if p.kind == SECRET_ID])
    }
    with_value = set(SecretValue.objects.values_list("secret_id", "environment__name"))
    parents = secret_parents(list(Environment.objects.all()))  # a feature environment inherits values
    problems: list[str] = []
    for environment, found in sorted(uses.items()):
        chain = (environment, *parents.get(environment, ()))
        for placeholder in found:
            secret = (by_name if placeholder.kind == SECRET else by_id).get(placeholder.arg)
            if secret is None:
                problem = f"{placeholder}: no such secret"
            elif not any((secret.pk, name) in with_value for name in chain):
                problem = f"{placeholder}: no value in environment {environment}"
            else:
                continue
            if problem not in problems:
                problems.append(problem)
    return problems
