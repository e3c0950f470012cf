"""/v1 endpoints of promotions: propose, read, tick the checklist, approve, reject, apply, cancel."""

import uuid
from collections.abc import Callable
from typing import Any

from django.http import Http404
from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer, validated
from core.http.api_schema import api_doc
from environments.selectors import environment_or_404
from routing.models import BEHAVIOUR_FIELDS
from routing.selectors import route_or_404

from . import services
from .models import Promotion
from .selectors import checklist_state, promotion_current_plan, promotion_list


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
