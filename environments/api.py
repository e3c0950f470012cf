"""/v1 endpoints of the environments app: account, environments, API keys and the audit log.

Clients are served by routing.client_api: a client is written together with its route assignments."""

import uuid

from django.conf import settings
from django.db import transaction
from django.http import Http404
from rest_framework import serializers

from core.filters import AuditFilterSet
from core.http.api import ApiView, WriteSerializer, filterset_of, validated
from core.http.api_schema import DeletedSerializer, api_doc, filter_parameters
from core.lookups import small_id
from core.models import AuditEntry
from core.permissions import ROLES
from environments.selectors import environment_or_404

from . import lifecycle, regions, services
from .models import ApiKey, Environment, RegionNetwork
from .services import MAX_TTL_HOURS

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
    parent = serializers.CharField(source="parent.name", allow_null=True, default=None)
    region_group = serializers.CharField()
    failover_order = serializers.IntegerField()
    region_down = serializers.SerializerMethodField()
    required_approvals = serializers.IntegerField(help_text="Approvals a promotion into it needs.")
    changes_require_approval = serializers.BooleanField(help_text="Direct route changes answer 409.")
    checklist = serializers.ListField(child=serializers.DictField(), help_text="Pre-deployment checklist.")
    created_at = serializers.DateTimeField()

    def get_region_down(self, environment: Environment) -> bool:
        return environment.region_down_since is not None


class EnvironmentWriteSerializer(WriteSerializer):
    name = serializers.CharField(max_length=63)
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    color = serializers.CharField(max_length=7, required=False)
    is_default = serializers.BooleanField(required=False)
    is_protected = serializers.BooleanField(required=False)
    region = serializers.CharField(max_length=63, required=False, allow_blank=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    region_group = serializers.CharField(max_length=63, required=False, allow_blank=True)
    failover_order = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    required_approvals = serializers.IntegerField(required=False, min_value=0, max_value=10)
    changes_require_approval = serializers.BooleanField(required=False)
    checklist = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        max_length=50,
        help_text='Items {"key", "label"}, plus "evidence" (source_healthy, monitoring_ready, '
        "rollback_ready, team_notified) for those checked from data.",
    )


class EnvironmentCreateSerializer(EnvironmentWriteSerializer):
    clone_from = serializers.CharField(
        max_length=63,
        required=False,
        help_text="Parent environment: its overrides and client assignments are copied, and its secret "
        "values fill the new environment's gaps.",
    )
    ttl_hours = serializers.FloatField(
        min_value=0.01,
        max_value=MAX_TTL_HOURS,
        required=False,
        help_text="Temporary: expires this many hours from now.",
    )


class ExtendSerializer(WriteSerializer):
    ttl_hours = serializers.FloatField(
        min_value=0.01, max_value=MAX_TTL_HOURS, required=False, help_text="From now."
    )
    expires_at = serializers.DateTimeField(required=False)


class EnvironmentListView(ApiView):
    @api_doc(response=EnvironmentSerializer, many=True, summary="Every environment (not paginated).")
    def get(self, request):
        return self.ok(EnvironmentSerializer(Environment.objects.all(), many=True).data)

    @api_doc(
        request=EnvironmentCreateSerializer,
        response=EnvironmentSerializer,
        status=201,
        summary="Create an environment; with clone_from, the same name and parent again answers 200.",
    )
    def post(self, request):
        fields = validated(EnvironmentCreateSerializer, request)
        if "clone_from" in fields:
            fields["clone_from"] = environment_or_404(fields["clone_from"])
            existing = Environment.objects.filter(name=fields["name"], parent=fields["clone_from"]).first()
            if existing is not None:  # a CI job re-running its create step
                return self.ok(EnvironmentSerializer(existing).data)
        environment = services.environment_create(actor=self.actor, **fields)
        return self.ok(EnvironmentSerializer(environment).data, status=201)


class EnvironmentExtendView(ApiView):
    @api_doc(
        request=ExtendSerializer,
        response=EnvironmentSerializer,
        summary="Move a temporary environment's expiry (ttl_hours from now, or expires_at).",
    )
    def post(self, request, env: str):
        environment = lifecycle.environment_extend(
            actor=self.actor, environment=environment_or_404(env), **validated(ExtendSerializer, request)
        )
        return self.ok(EnvironmentSerializer(environment).data)


# --- region networks --------------------------------------------------------------------------------------
class RegionNetworkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    region = serializers.CharField(help_text="Matches the `region` of a region group's member.")
    cidr = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()


class RegionNetworkWriteSerializer(WriteSerializer):
    region = serializers.CharField(max_length=63)
    cidr = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


def _region_network_or_404(ident: str) -> RegionNetwork:
    network = RegionNetwork.objects.filter(pk=ident).first() if small_id(ident) is not None else None
    if network is None:
        raise Http404(f"No region network '{ident}'.")
    return network


class RegionNetworkListView(ApiView):
    @api_doc(response=RegionNetworkSerializer, many=True, summary="Caller networks per region (bare array).")
    def get(self, request):
        return self.ok(RegionNetworkSerializer(RegionNetwork.objects.all(), many=True).data)

    @api_doc(request=RegionNetworkWriteSerializer, response=RegionNetworkSerializer, status=201)
    def post(self, request):
        fields = validated(RegionNetworkWriteSerializer, request)
        network = regions.region_network_create(actor=self.actor, **fields)
        return self.ok(RegionNetworkSerializer(network).data, status=201)


class RegionNetworkDetailView(ApiView):
    @api_doc(response=RegionNetworkSerializer)
    def get(self, request, network: str):
        return self.ok(RegionNetworkSerializer(_region_network_or_404(network)).data)

    @api_doc(response=DeletedSerializer)
    def delete(self, request, network: str):
        regions.region_network_delete(actor=self.actor, network=_region_network_or_404(network))
        return self.ok({"deleted": True})


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
        fields = validated(EnvironmentWriteSerializer, request, partial=True)
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


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


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
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the key stops working (null: never)."
    )
    rate_limit_requests = serializers.IntegerField(allow_null=True)
    rate_limit_window_sec = serializers.IntegerField(allow_null=True)

    def get_key_type(self, key: ApiKey) -> str:
        return "standard" if key.is_live else "test"


class ApiKeyCreatedSerializer(ApiKeySerializer):
    api_key = serializers.CharField(
        allow_null=True,
        help_text="The key itself: shown only in this answer. A replay (same X-Idempotency-Key) has null.",
    )
    message = serializers.CharField()


class ApiKeyWriteSerializer(WriteSerializer):
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
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the key stops working; in the future (null: never)."
    )


class RevokedSerializer(serializers.Serializer):
    revoked = serializers.BooleanField()


def get_api_key(ident: str) -> ApiKey:
    api_key = ApiKey.objects.filter(pk=ident).first() if _is_uuid(ident) else None
    if api_key is None:
        raise Http404(f"No API key '{ident}'.")
    return api_key


class ApiKeyListView(ApiView):
    # The raw key exists only in the first answer: a replay of the creation answers without it.
    shown_once_fields = ("api_key",)
    replay_message = (
        "Replayed answer: the key is shown only once and was not kept. If you did not store it, revoke this "
        "key and create another."
    )

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
        api_key, raw_key = services.api_key_create(
            actor=self.actor, **validated(ApiKeyWriteSerializer, request)
        )
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


# The console's audit page filters with the same set; /v1 takes these three of its fields.
AUDIT_FILTERS = filter_parameters(
    AuditFilterSet, action="action", resource_type="resource_type", environment="environment"
)


class AuditLogListView(ApiView):
    @api_doc(
        response=AuditLogSerializer,
        paginated=True,
        parameters=AUDIT_FILTERS,
        summary="Who changed what, newest first.",
    )
    def get(self, request):
        entries = filterset_of(AuditFilterSet, request).entries()
        return self.page(entries.order_by("-timestamp", "-id"), lambda e: AuditLogSerializer(e).data)
