"""Revision 1 for every route that exists when revisions arrive, so each has something to roll back to."""

from django.db import migrations

from routing.document import SECRET_REFS, canonical, document_digest, route_document, secret_refs


def _secrets(apps) -> list[tuple[str, str, dict]]:
    Secret, SecretValue = (
        apps.get_model("secrets_vault", "Secret"),
        apps.get_model("secrets_vault", "SecretValue"),
    )
    versions: dict[str, dict] = {}
    for sid, env, version in SecretValue.objects.values_list(
        "secret_id", "environment__name", "value_version"
    ):
        versions.setdefault(str(sid), {})[env] = version
    return [
        (str(sid), name, versions.get(str(sid), {})) for sid, name in Secret.objects.values_list("pk", "name")
    ]


def first_revisions(apps, schema_editor) -> None:
    Route, RouteRevision = apps.get_model("routing", "Route"), apps.get_model("routing", "RouteRevision")
    environments = list(apps.get_model("environments", "Environment").objects.values_list("name", flat=True))
    secrets = _secrets(apps)
    for route in Route.objects.all():
        if RouteRevision.objects.filter(route_id=route.pk).exists():
            continue
        document = canonical(route_document(route))
        document[SECRET_REFS] = secret_refs(document, environments, secrets)
        RouteRevision.objects.create(
            route_id=route.pk,
            number=1,
            document=document,
            digest=document_digest(document),
            action="initial",
            actor_label="system",
            fields=[],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0004_route_revisions"),
        ("secrets_vault", "0002_secret_type"),
        ("environments", "0004_audit_append_only"),
    ]

    operations = [migrations.RunPython(first_revisions, migrations.RunPython.noop)]
