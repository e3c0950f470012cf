"""/v1 endpoints of promotions (propose, read, tick the checklist, approve, reject, apply, cancel) and of the
deployments they become (list, and one with its watch figures); read-only, as the watch page's actions
are the console's.
"""

import uuid
from collections.abc import Callable
from typing import Any

from django.http import Http404
from django.urls import reverse
from rest_framework import serializers

from core.audit import Actor
from core.http.api import ApiView, WriteSerializer, filterset_of, validated
from core.http.api_schema import api_doc, filter_parameters
from environments.selectors import environment_or_404
from routing.models import BEHAVIOUR_FIELDS
from routing.selectors import route_or_404

from . import services
from .filters import DeploymentFilterSet
from .models import Deployment, DeploymentKind, Promotion
from .selectors import (
    checklist_state,
    deployment_routes,
    deployment_status,
    deployment_watch,
    deployments_visible_to,
    promotion_current_plan,
    promotion_list,
)


class ChecklistItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    evidence = serializers.CharField(help_text="Empty: ticked by a person.")
    done = serializers.BooleanField()
    detail = serializers.CharField()
    by = serializers.CharField()
    at = serializers.CharField(allow_null=True)


class ApprovalSerializer(serializers.Serializer):
    decision = serializers.CharField()
    reviewer = serializers.CharField(source="reviewer_label")
    plan_digest = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class PromotionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField(source="source.name")
    target = serializers.CharField(source="target.name")
    fields = serializers.ListField(child=serializers.CharField())
    routes = serializers.ListField(child=serializers.CharField(), source="route_ids")
    plan = serializers.JSONField(help_text="Per route: will_change, expected_differences, pinned, writes.")
    plan_digest = serializers.CharField()
    plan_current = serializers.SerializerMethodField(help_text="False: the environments moved since.")
    required_approvals = serializers.IntegerField()
    approvals = ApprovalSerializer(many=True, source="approvals.all")
    checklist = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by_label")
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True)
    applied_by = serializers.CharField(source="applied_by_label")
    break_glass_reason = serializers.CharField()
    deployment = serializers.SerializerMethodField()

    def get_plan_current(self, promotion: Promotion) -> bool:
        return not promotion.is_open or promotion_current_plan(promotion).digest == promotion.plan_digest

    def get_checklist(self, promotion: Promotion) -> ChecklistItemSerializer(many=True):
        return ChecklistItemSerializer(checklist_state(promotion), many=True).data

    def get_deployment(self, promotion: Promotion) -> str | None:
        deployment = promotion.deployments.filter(kind="promotion").first()
        return str(deployment.pk) if deployment else None


class PromotionCreateSerializer(WriteSerializer):
    source = serializers.CharField(max_length=63)
    target = serializers.CharField(max_length=63)
    title = serializers.CharField(max_length=200)
    routes = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=500,
        help_text="UUIDs or slugs; default: every route that differs.",
    )
    fields = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=20,
        help_text=f"Default: {', '.join(BEHAVIOUR_FIELDS)}.",
    )
    auto_rollback_error_rate = serializers.FloatField(
        required=False, min_value=0, max_value=1, allow_null=True
    )


class ChecklistTickSerializer(WriteSerializer):
    items = serializers.DictField(child=serializers.BooleanField())


class DecisionSerializer(WriteSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ApplySerializer(WriteSerializer):
    break_glass_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def promotion_or_404(ident: str) -> Promotion:
    try:
        found = promotion_list().filter(pk=uuid.UUID(ident)).first()
    except ValueError:
        found = None
    if found is None:
        raise Http404(f"No promotion '{ident}'.")
    return found


class PromotionListView(ApiView):
    @api_doc(response=PromotionSerializer, paginated=True)
    def get(self, request):
        return self.page(promotion_list(), lambda p: PromotionSerializer(p).data)

    @api_doc(request=PromotionCreateSerializer, response=PromotionSerializer, status=201)
    def post(self, request):
        data = validated(PromotionCreateSerializer, request)
        routes = data.get("routes")
        promotion = services.promotion_create(
            actor=self.actor,
            source=environment_or_404(data["source"]),
            target=environment_or_404(data["target"]),
            title=data["title"],
            route_ids=[str(route_or_404(r).pk) for r in routes] if routes is not None else None,
            fields=data.get("fields"),
            auto_rollback_error_rate=data.get("auto_rollback_error_rate"),
        )
        return self.ok(PromotionSerializer(promotion).data, status=201)


class PromotionDetailView(ApiView):
    @api_doc(response=PromotionSerializer)
    def get(self, request, promotion: str):
        return self.ok(PromotionSerializer(promotion_or_404(promotion)).data)


class PromotionChecklistView(ApiView):
    @api_doc(request=ChecklistTickSerializer, response=PromotionSerializer)
    def patch(self, request, promotion: str):
        items = validated(ChecklistTickSerializer, request)["items"]
        found = services.promotion_checklist_tick(
            actor=self.actor, promotion=promotion_or_404(promotion), items=items
        )
        return self.ok(PromotionSerializer(found).data)


def _promotion_action(
    name: str, service: Callable[..., Any], body: type[WriteSerializer] | None, summary: str
):
    """POST /v1/promotions/{id}/<action>: validate the body, hand its fields to the service (they are named
    as its keyword arguments), answer with the promotion as it now is."""

    class PromotionActionView(ApiView):
        @api_doc(request=body, response=PromotionSerializer, summary=summary)
        def post(self, request, promotion: str):
            fields = validated(body, request) if body else {}
            service(actor=self.actor, promotion=promotion_or_404(promotion), **fields)
            return self.ok(PromotionSerializer(promotion_or_404(promotion)).data)

    PromotionActionView.__name__ = PromotionActionView.__qualname__ = name
    return PromotionActionView


PromotionApproveView = _promotion_action(
    "PromotionApproveView",
    services.promotion_approve,
    DecisionSerializer,
    "Approve the plan as it is now (bound to its digest); never the requester's own.",
)
PromotionRejectView = _promotion_action(
    "PromotionRejectView", services.promotion_reject, DecisionSerializer, "Reject: any one rejection rejects."
)
PromotionApplyView = _promotion_action(
    "PromotionApplyView",
    services.promotion_apply,
    ApplySerializer,
    "Write every route of the plan in one transaction, or nothing; a break-glass reason applies without "
    "approvals.",
)
PromotionCancelView = _promotion_action(
    "PromotionCancelView", services.promotion_cancel, None, "Withdraw a pending or approved promotion."
)


# --- Deployments --------------------------------------------------------------------------------------------


class TouchedRouteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="Its name now; a deleted route's id.")
    revision = serializers.IntegerField(allow_null=True, help_text="The revision the deployment wrote.")


class DeploymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(DeploymentKind.values)
    environment = serializers.CharField(
        source="environment.name", allow_null=True, default=None, help_text="null: a whole-route rollback."
    )
    routes = serializers.SerializerMethodField()
    applied_by = serializers.CharField(source="actor_label")
    applied_at = serializers.DateTimeField(source="started_at")
    status = serializers.SerializerMethodField(help_text="watching (30 minutes), watch_ended or rolled_back.")
    auto_rollback_error_rate = serializers.FloatField(
        allow_null=True, help_text="Rolls back by itself past this error rate (0-1) while watched."
    )
    promotion = serializers.UUIDField(source="promotion_id", allow_null=True)
    reason = serializers.CharField()
    rolled_back_at = serializers.DateTimeField(allow_null=True)
    rolled_back_by = serializers.UUIDField(source="rolled_back_by_id", allow_null=True)
    link = serializers.SerializerMethodField(help_text="Its page in the console.")

    def get_routes(self, deployment: Deployment) -> TouchedRouteSerializer(many=True):
        routes = deployment_routes(deployment)
        touched = [{**r, "revision": deployment.revisions.get(r["id"])} for r in routes]
        return TouchedRouteSerializer(touched, many=True).data

    def get_status(self, deployment: Deployment) -> str:
        return deployment_status(deployment)

    def get_link(self, deployment: Deployment) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("deployments:deployment", args=[deployment.pk])
        )


class WatchFiguresSerializer(serializers.Serializer):
    calls = serializers.IntegerField(source="total")
    error_rate = serializers.FloatField(allow_null=True, help_text="0-1; null without calls.")
    p95_ms = serializers.FloatField(source="p95", allow_null=True)


class WatchSerializer(serializers.Serializer):
    watching = serializers.BooleanField()
    ends = serializers.DateTimeField(help_text="The end of the 30-minute watch.")
    before = WatchFiguresSerializer(help_text="The hour before the change.")
    after = WatchFiguresSerializer(help_text="Since the change, until now or the end of the watch.")


class DeploymentDetailSerializer(DeploymentSerializer):
    watch = serializers.SerializerMethodField(
        help_text="Its routes in its environment (every one for a whole-route rollback), as its page shows."
    )

    def get_watch(self, deployment: Deployment) -> WatchSerializer:
        return WatchSerializer(deployment_watch(deployment)).data


def deployment_or_404(ident: str, actor: Actor) -> Deployment:
    """A deployment the actor may see (deployments_visible_to); any other is 404, as one that never was."""
    try:
        found = deployments_visible_to(actor).filter(pk=uuid.UUID(ident)).first()
    except ValueError:
        found = None
    if found is None:
        raise Http404(f"No deployment '{ident}'.")
    return found


DEPLOYMENT_FILTERS = filter_parameters(
    DeploymentFilterSet, route="route", environment="environment", status="status"
)


class DeploymentListView(ApiView):
    @api_doc(
        response=DeploymentSerializer,
        paginated=True,
        parameters=DEPLOYMENT_FILTERS,
        summary="Applied promotions and rollbacks, newest first; a deployment into a protected environment "
        "only for Administrators.",
    )
    def get(self, request):
        deployments = filterset_of(DeploymentFilterSet, request).filter(deployments_visible_to(self.actor))
        context = {"request": request}
        return self.page(
            deployments.order_by("-started_at", "-pk"),
            lambda d: DeploymentSerializer(d, context=context).data,
        )


class DeploymentDetailView(ApiView):
    @api_doc(response=DeploymentDetailSerializer, summary="A deployment with its watch figures.")
    def get(self, request, deployment: str):
        found = deployment_or_404(deployment, self.actor)
        return self.ok(DeploymentDetailSerializer(found, context={"request": request}).data)
