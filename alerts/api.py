"""/v1 endpoints of alerting: alert rules (through alerts.services) and their incidents (read-only)."""

import uuid

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer, validated
from core.http.api_schema import DeletedSerializer, api_doc
from core.lookups import small_id
from environments.selectors import environment_or_404
from routing.selectors import route_or_404

from . import services
from .models import AlertIncident, AlertRule, Direction, NotificationChannel, Percentile, RuleType, Severity

MAX_INT = 2**31 - 1


class AlertRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    type = serializers.CharField()
    direction = serializers.CharField()
    threshold = serializers.FloatField()
    percentile = serializers.IntegerField()
    status_codes = serializers.ListField(child=serializers.IntegerField())
    window_minutes = serializers.IntegerField()
    min_requests = serializers.IntegerField()
    severity = serializers.CharField()
    cooldown_minutes = serializers.IntegerField()
    route = serializers.CharField(source="route.slug", allow_null=True, default=None)
    environments = serializers.SerializerMethodField(help_text="Names; empty means every environment.")
    channels = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_environments(self, rule: AlertRule) -> list[str]:
        return sorted(e.name for e in rule.environments.all())

    def get_channels(self, rule: AlertRule) -> list[str]:
        return sorted(c.name for c in rule.channels.all())


class AlertRuleWriteSerializer(WriteSerializer):
    name = serializers.CharField(max_length=100)
    enabled = serializers.BooleanField(required=False)
    type = serializers.ChoiceField(choices=RuleType.choices)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    threshold = serializers.FloatField(min_value=0, max_value=1e12)
    percentile = serializers.ChoiceField(choices=Percentile.choices, required=False)
    status_codes = serializers.ListField(
        child=serializers.IntegerField(min_value=100, max_value=599), required=False, max_length=50
    )
    window_minutes = serializers.IntegerField(min_value=1, max_value=10_080, required=False)
    min_requests = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    cooldown_minutes = serializers.IntegerField(min_value=1, max_value=MAX_INT, required=False)
    route = serializers.CharField(max_length=100, required=False, allow_null=True, help_text="UUID or slug.")
    environments = serializers.ListField(
        child=serializers.CharField(max_length=63),
        required=False,
        help_text="Names; none means every environment.",
    )
    channels = serializers.ListField(child=serializers.CharField(max_length=100), required=False)


def get_rule(ident: str) -> AlertRule:
    pk = small_id(ident)
    rule = AlertRule.objects.filter(pk=pk).first() if pk is not None else None
    if rule is None:
        raise Http404(f"No alert rule '{ident}'.")
    return rule


def _channel(name: str) -> NotificationChannel:
    channel = NotificationChannel.objects.filter(name=name).first()
    if channel is None:
        raise serializers.ValidationError({"channels": [f"No notification channel '{name}'."]})
    return channel


def rule_arguments(fields: dict) -> dict:
    """Turn names (route slug, environment and channel names) into the objects the services take."""

    if "route" in fields:
        fields["route"] = route_or_404(fields["route"]) if fields["route"] else None
    if "environments" in fields:
        fields["environments"] = [environment_or_404(name) for name in fields["environments"]]
    if "channels" in fields:
        fields["channels"] = [_channel(name) for name in fields["channels"]]
    return fields


class AlertRuleListView(ApiView):
    @api_doc(response=AlertRuleSerializer, paginated=True)
    def get(self, request):
        rules = AlertRule.objects.select_related("route").prefetch_related("environments", "channels")
        return self.page(rules.order_by("name"), lambda r: AlertRuleSerializer(r).data)

    @api_doc(request=AlertRuleWriteSerializer, response=AlertRuleSerializer, status=201)
    def post(self, request):
        arguments = rule_arguments(validated(AlertRuleWriteSerializer, request))
        rule = services.alert_rule_create(actor=self.actor, **arguments)
        return self.ok(AlertRuleSerializer(rule).data, status=201)


class AlertRuleDetailView(ApiView):
    @api_doc(response=AlertRuleSerializer)
    def get(self, request, rule: str):
        return self.ok(AlertRuleSerializer(get_rule(rule)).data)

    @api_doc(request=AlertRuleWriteSerializer(partial=True), response=AlertRuleSerializer)
    def patch(self, request, rule: str):
        arguments = rule_arguments(validated(AlertRuleWriteSerializer, request, partial=True))
        updated = services.alert_rule_update(actor=self.actor, rule=get_rule(rule), **arguments)
        return self.ok(AlertRuleSerializer(updated).data)

    @api_doc(response=DeletedSerializer)
    def delete(self, request, rule: str):
        services.alert_rule_delete(actor=self.actor, rule=get_rule(rule))
        return self.ok({"deleted": True})


class AlertIncidentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    rule_id = serializers.IntegerField()
    rule_name = serializers.CharField(source="rule.name")
    environment = serializers.CharField(source="environment_name")
    route = serializers.CharField(source="route.slug", allow_null=True, default=None)
    observed_value = serializers.FloatField()
    threshold = serializers.FloatField()
    opened_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    last_notified_at = serializers.DateTimeField(allow_null=True)
    is_open = serializers.BooleanField()


INCIDENT_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "resolved"]),
    OpenApiParameter("environment", OpenApiTypes.STR),
]


def _incidents():
    return AlertIncident.objects.select_related("rule", "environment", "route").order_by("-opened_at", "id")


class AlertIncidentListView(ApiView):
    @api_doc(response=AlertIncidentSerializer, paginated=True, parameters=INCIDENT_FILTERS)
    def get(self, request):
        incidents = _incidents()
        status = request.query_params.get("status")
        if status in ("open", "resolved"):
            incidents = incidents.filter(resolved_at__isnull=status == "open")
        if request.query_params.get("environment"):
            incidents = incidents.filter(environment_name=request.query_params["environment"])
        return self.page(incidents, lambda i: AlertIncidentSerializer(i).data)


class AlertIncidentDetailView(ApiView):
    @api_doc(response=AlertIncidentSerializer)
    def get(self, request, incident: str):
        try:
            found = _incidents().filter(pk=uuid.UUID(incident)).first()
        except ValueError:
            found = None
        if found is None:
            raise Http404(f"No incident '{incident}'.")
        return self.ok(AlertIncidentSerializer(found).data)
