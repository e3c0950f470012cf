"""/v1 endpoints of the environments app: account, environments, clients, API keys and the audit log."""

import uuid

from django.conf import settings
from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from api.base import ApiView
from api.lookups import client_or_404, environment_or_404, route_or_404
from api.schema import DeletedSerializer, api_doc

from . import services
from .models import ApiKey, AuditEntry, Client, Environment
from .permissions import ROLES

MAX_INT = 2**31 - 1


# --- account ----------------------------------------------------------------------------------------------
class AccountSerializer(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    region = serializers.CharField()
    subscription_plan = serializers.CharField()
    subscription_status = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    limits = serializers.DictField(child=serializers.IntegerField(allow_null=True))


class AccountView(ApiView):
    @api_doc(response=AccountSerializer, summary="This installation: slug, name, limits.")
    def get(self, request):
        first = Environment.objects.order_by("created_at").values_list("created_at", flat=True).first()
        account = {
            "id": settings.KNOXCALL_ACCOUNT_SLUG,
            "slug": settings.KNOXCALL_ACCOUNT_SLUG,
            "name": settings.KNOXCALL_ACCOUNT_NAME,
            "region": "self-hosted",
            "subscription_plan": "self-hosted",
            "subscription_status": "active",
            "created_at": first,
            "limits": {
                "routes": None,
                "environments": None,
                "secrets": None,
                "clients": None,
                "per_page_max": 100,
                "max_body_bytes": settings.PROXY_MAX_BODY_BYTES,
                "log_retention_days": settings.ANALYTICS_RETENTION_DAYS,
            },
        }
        return self.ok(AccountSerializer(account).data)


# --- environments -----------------------------------------------------------------------------------------
class EnvironmentSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk")
    name = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    color = serializers.CharField()
    is_default = serializers.BooleanField()
    is_protected = serializers.BooleanField()
    region = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    required_approvals = serializers.IntegerField(help_text="Approvals a promotion into it needs.")
    changes_require_approval = serializers.BooleanField(help_text="Direct route changes answer 409.")
    checklist = serializers.ListField(child=serializers.DictField(), help_text="Pre-deployment checklist.")
    created_at = serializers.DateTimeField()


class EnvironmentWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    color = serializers.CharField(max_length=7, required=False)
    is_default = serializers.BooleanField(required=False)
    is_protected = serializers.BooleanField(required=False)
    region = serializers.CharField(max_length=63, required=False, allow_blank=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    required_approvals = serializers.IntegerField(required=False, min_value=0, max_value=10)
    changes_require_approval = serializers.BooleanField(required=False)
    checklist = serializers.ListField(
        child=serializers.DictField(), required=False, max_length=50,
        help_text='Items {"key", "label"}, plus "evidence" (source_healthy, monitoring_ready, '
        'rollback_ready, team_notified) for those checked from data.',
    )


def _valid(serializer_class, request, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class EnvironmentListView(ApiView):
    @api_doc(response=EnvironmentSerializer, many=True, summary="Every environment (not paginated).")
    def get(self, request):
        return self.ok(EnvironmentSerializer(Environment.objects.all(), many=True).data)

    @api_doc(request=EnvironmentWriteSerializer, response=EnvironmentSerializer, status=201)
    def post(self, request):
        fields = _valid(EnvironmentWriteSerializer, request)
        environment = services.environment_create(actor=self.actor, **fields)
        return self.ok(EnvironmentSerializer(environment).data, status=201)


class EnvironmentDetailView(ApiView):
    @api_doc(response=EnvironmentSerializer)
    def get(self, request, env: str):
        return self.ok(EnvironmentSerializer(environment_or_404(env)).data)

    @api_doc(
        request=EnvironmentWriteSerializer(partial=True),
        response=EnvironmentSerializer,
        summary="Change an environment; is_default: true makes it the default.",
    )
    def patch(self, request, env: str):
        environment = environment_or_404(env)
        fields = _valid(EnvironmentWriteSerializer, request, partial=True)
        if fields.pop("name", environment.name) != environment.name:
            raise serializers.ValidationError({"name": ["An environment cannot be renamed."]})
        make_default = fields.pop("is_default", None)
        with transaction.atomic():
            if fields:
                environment = services.environment_update(actor=self.actor, environment=environment, **fields)
            if make_default and not environment.is_default:
                environment = services.environment_make_default(actor=self.actor, environment=environment)
            elif make_default is False and environment.is_default:
                raise serializers.ValidationError(
                    {"is_default": ["Make another environment the default instead."]}
                )
        return self.ok(EnvironmentSerializer(environment).data)

    @api_doc(response=DeletedSerializer, summary="Delete an environment with its overrides and assignments.")
    def delete(self, request, env: str):
        services.environment_delete(actor=self.actor, environment=environment_or_404(env))
        return self.ok({"deleted": True})


# --- clients ----------------------------------------------------------------------------------------------
class AssignmentSerializer(serializers.Serializer):
    """One assignment; `route` and `environment` are the fields a write takes, the rest describe them."""

    route = serializers.CharField(
        source="route.slug", help_text="The route's slug (a write takes it or the UUID)."
    )
    environment = serializers.CharField(source="environment.name")
    route_id = serializers.UUIDField(source="route.pk")
    route_slug = serializers.CharField(source="route.slug")
    route_name = serializers.CharField(source="route.name")
    environment_name = serializers.CharField(source="environment.name")


class ClientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField()
    ip_address = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    route_assignments = AssignmentSerializer(many=True, source="assignments.all")


class AssignmentWriteSerializer(serializers.Serializer):
    route = serializers.CharField(max_length=100, help_text="Route UUID or slug.")
    environment = serializers.CharField(max_length=63)


class ClientWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    ip_address = serializers.CharField(max_length=64, help_text="One IP address or a CIDR network.")
    type = serializers.ChoiceField(choices=[Client.SERVER, Client.USER], required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    enabled = serializers.BooleanField(required=False)
    route_assignments = AssignmentWriteSerializer(
        many=True, required=False, help_text="Routes and environments this client may call (replaces all)."
    )


def _clients():
    return Client.objects.prefetch_related("assignments__route", "assignments__environment")


def get_client(ident: str) -> Client:
    """The client with its assignments loaded."""
    return _clients().get(pk=client_or_404(ident).pk)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def set_assignments(actor, client: Client, wanted: list[dict]) -> None:
    """Make the client's (route, environment) assignments exactly `wanted`, through the routing services."""
    from routing.services import route_client_assign, route_client_unassign

    targets = {(route_or_404(w["route"]).pk, environment_or_404(w["environment"]).pk): w for w in wanted}
    for assignment in client.assignments.select_related("route", "environment"):
        if (assignment.route.pk, assignment.environment.pk) not in targets:
            route_client_unassign(
                actor=actor, route=assignment.route, environment=assignment.environment, client=client
            )
    for w in targets.values():
        route_client_assign(
            actor=actor,
            route=route_or_404(w["route"]),
            environment=environment_or_404(w["environment"]),
            client=client,
        )


class ClientListView(ApiView):
    @api_doc(response=ClientSerializer, paginated=True)
    def get(self, request):
        return self.page(_clients(), lambda c: ClientSerializer(c).data)

    @api_doc(request=ClientWriteSerializer, response=ClientSerializer, status=201)
    @transaction.atomic
    def post(self, request):
        fields = _valid(ClientWriteSerializer, request)
        assignments = fields.pop("route_assignments", [])
        client = services.client_create(actor=self.actor, **fields)
        set_assignments(self.actor, client, assignments)
        return self.ok(ClientSerializer(get_client(str(client.pk))).data, status=201)


class ClientDetailView(ApiView):
    @api_doc(response=ClientSerializer)
    def get(self, request, client: str):
        return self.ok(ClientSerializer(get_client(client)).data)

    @api_doc(request=ClientWriteSerializer(partial=True), response=ClientSerializer)
    @transaction.atomic
    def patch(self, request, client: str):
        instance = get_client(client)
        fields = _valid(ClientWriteSerializer, request, partial=True)
        assignments = fields.pop("route_assignments", None)
        if fields:
            instance = services.client_update(actor=self.actor, client=instance, **fields)
        if assignments is not None:
            set_assignments(self.actor, instance, assignments)
        return self.ok(ClientSerializer(get_client(str(instance.pk))).data)

    @api_doc(response=DeletedSerializer)
    def delete(self, request, client: str):
        services.client_delete(actor=self.actor, client=get_client(client))
        return self.ok({"deleted": True})


def _assignments_of(client: Client):
    return client.assignments.select_related("route", "environment").order_by(
        "route__name", "environment__name"
    )


class ClientAssignmentListView(ApiView):
    @api_doc(
        response=AssignmentSerializer, many=True, summary="The routes and environments the client may call."
    )
    def get(self, request, client: str):
        return self.ok(AssignmentSerializer(_assignments_of(client_or_404(client)), many=True).data)

    @api_doc(
        request=AssignmentWriteSerializer,
        response=AssignmentSerializer,
        status=201,
        summary="Add one assignment, keeping the others (idempotent: an existing one answers 200).",
    )
    def post(self, request, client: str):
        from routing.services import route_client_assign

        instance = client_or_404(client)
        fields = _valid(AssignmentWriteSerializer, request)
        route, environment = route_or_404(fields["route"]), environment_or_404(fields["environment"])
        existed = instance.assignments.filter(route=route, environment=environment).exists()
        assignment = route_client_assign(
            actor=self.actor, route=route, environment=environment, client=instance
        )
        return self.ok(AssignmentSerializer(assignment).data, status=200 if existed else 201)


class ClientAssignmentDetailView(ApiView):
    @api_doc(response=DeletedSerializer, summary="Remove one assignment, keeping the others.")
    def delete(self, request, client: str, route: str, env: str):
        from routing.services import route_client_unassign

        instance = client_or_404(client)
        found_route, environment = route_or_404(route), environment_or_404(env)
        if not instance.assignments.filter(route=found_route, environment=environment).exists():
            raise Http404(
                f"Client '{instance.name}' is not assigned to '{found_route.slug}' in '{environment.name}'."
            )
        route_client_unassign(actor=self.actor, route=found_route, environment=environment, client=instance)
        return self.ok({"deleted": True})


class ClientCredentialSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    client_id = serializers.UUIDField()
    kind = serializers.CharField()
    label = serializers.CharField(allow_null=True)
    data = serializers.DictField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ClientCredentialListView(ApiView):
    @api_doc(
        response=ClientCredentialSerializer,
        many=True,
        summary="A client's credentials (bare array): here one of kind ip, its address or network.",
    )
    def get(self, request, client: str):
        instance = get_client(client)
        credential = {
            "id": instance.pk,
            "client_id": instance.pk,
            "kind": "ip",
            "label": None,
            "data": {"ip_address": instance.ip_address},
            "enabled": instance.enabled,
            "expires_at": None,
            "created_at": instance.created_at,
        }
        return self.ok([ClientCredentialSerializer(credential).data])


# --- API keys ---------------------------------------------------------------------------------------------
class ApiKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    key_id = serializers.UUIDField(source="pk")
    key_prefix = serializers.CharField(source="display_prefix")
    key_type = serializers.SerializerMethodField()
    name = serializers.CharField()
    role = serializers.CharField()
    may_invoke = serializers.BooleanField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.SerializerMethodField(help_text="Keys do not expire here; revoke them.")
    rate_limit_requests = serializers.IntegerField(allow_null=True)
    rate_limit_window_sec = serializers.IntegerField(allow_null=True)

    def get_key_type(self, key: ApiKey) -> str:
        return "standard" if key.is_live else "test"

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_expires_at(self, key: ApiKey) -> None:
        return None


class ApiKeyCreatedSerializer(ApiKeySerializer):
    api_key = serializers.CharField(help_text="The key itself: shown only in this answer.")
    message = serializers.CharField()


class ApiKeyWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=ROLES, default="viewer")
    may_invoke = serializers.BooleanField(default=True)
    live = serializers.BooleanField(default=True, help_text="tk_live_ (default) or tk_test_.")
    rate_limit_requests = serializers.IntegerField(
        min_value=1, max_value=MAX_INT, required=False, allow_null=True
    )
    rate_limit_window_sec = serializers.IntegerField(
        min_value=1, max_value=86_400, required=False, allow_null=True
    )


class RevokedSerializer(serializers.Serializer):
    revoked = serializers.BooleanField()


def get_api_key(ident: str) -> ApiKey:
    api_key = ApiKey.objects.filter(pk=ident).first() if _is_uuid(ident) else None
    if api_key is None:
        raise Http404(f"No API key '{ident}'.")
    return api_key


class ApiKeyListView(ApiView):
    @api_doc(response=ApiKeySerializer, paginated=True)
    def get(self, request):
        return self.page(ApiKey.objects.all(), lambda k: ApiKeySerializer(k).data)

    @api_doc(
        request=ApiKeyWriteSerializer,
        response=ApiKeyCreatedSerializer,
        status=201,
        summary="Create a key (Administrators); the key is in this answer only.",
    )
    def post(self, request):
        api_key, raw_key = services.api_key_create(actor=self.actor, **_valid(ApiKeyWriteSerializer, request))
        data = {
            **ApiKeySerializer(api_key).data,
            "api_key": raw_key,
            "message": "Store this key now: it is not shown again.",
        }
        return self.ok(data, status=201)


class ApiKeyDetailView(ApiView):
    @api_doc(response=ApiKeySerializer)
    def get(self, request, key: str):
        return self.ok(ApiKeySerializer(get_api_key(key)).data)

    @api_doc(response=RevokedSerializer, summary="Revoke a key for good (Administrators).")
    def delete(self, request, key: str):
        services.api_key_revoke(actor=self.actor, api_key=get_api_key(key))
        return self.ok({"revoked": True})


# --- audit log --------------------------------------------------------------------------------------------
class AuditLogSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    action = serializers.CharField()
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    resource_name = serializers.CharField()
    environment = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    details = serializers.SerializerMethodField()
    ip_address = serializers.IPAddressField(source="client_ip", allow_null=True)
    created_at = serializers.DateTimeField(source="timestamp")

    def get_details(self, entry: AuditEntry) -> dict:
        return {"before": entry.before, "after": entry.after}


AUDIT_FILTERS = [
    OpenApiParameter("action", OpenApiTypes.STR, description="e.g. create, update, delete, override."),
    OpenApiParameter("resource_type", OpenApiTypes.STR, description="e.g. route, environment, secret."),
    OpenApiParameter("environment", OpenApiTypes.STR),
]


class AuditLogListView(ApiView):
    @api_doc(
        response=AuditLogSerializer,
        paginated=True,
        parameters=AUDIT_FILTERS,
        summary="Who changed what, newest first.",
    )
    def get(self, request):
        entries = AuditEntry.objects.all()
        for name in ("action", "resource_type", "environment"):
            if request.query_params.get(name):
                entries = entries.filter(**{name: request.query_params[name]})
        return self.page(entries.order_by("-timestamp", "-id"), lambda e: AuditLogSerializer(e).data)
