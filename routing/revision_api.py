"""/v1 endpoints of route revisions: history, one revision, diffs, rollback and environment compare.

A deleted route stays addressable by its UUID here, so its history can be read and the route brought back.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer
from core.http.api_schema import api_doc
from environments.models import Environment
from environments.selectors import environment_or_404
from routing.selectors import route_or_404

from .compare import environment_compare, revision_diff
from .models import RouteRevision
from .revisions import current_document
from .rollback import SCOPES, revision_get, route_rollback
from .selectors import revision_route_id, route_revisions

N_PARAMETER = OpenApiParameter("n", OpenApiTypes.INT, OpenApiParameter.PATH, description="Revision number.")


# Where a field's value comes from (routing.compare); one choice set, named once in the OpenAPI schema.
PROVENANCES = ["inherited", "overridden", "assigned", "absent"]


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    route_id = serializers.UUIDField()
    digest = serializers.CharField()
    action = serializers.CharField()
    environment = serializers.CharField(
        help_text="The environment the change aimed at; empty: base or several."
    )
    fields = serializers.ListField(child=serializers.CharField())
    actor = serializers.CharField(source="actor_label")
    reason = serializers.CharField()
    restored_from = serializers.IntegerField(allow_null=True)
    deleted = serializers.BooleanField(help_text="The route was deleted by this revision.")
    created_at = serializers.DateTimeField()


class RevisionDetailSerializer(RevisionSerializer):
    document = serializers.DictField(
        help_text="The route document: base values, sparse overrides and clients per environment, and "
        "secret_refs (secret names and the value version in force, never values)."
    )


class RollbackAnswerSerializer(RevisionDetailSerializer):
    deployment = serializers.UUIDField(
        allow_null=True,
        help_text="The deployment watching the change (GET /v1/deployments/{id}); null when the route "
        "already was that revision and nothing was written.",
    )


class FieldDiffSerializer(serializers.Serializer):
    environment = serializers.CharField()
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    provenance_before = serializers.ChoiceField(PROVENANCES)
    provenance_after = serializers.ChoiceField(PROVENANCES)
    changed = serializers.BooleanField()


class RevisionDiffSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    against = serializers.CharField(help_text='"current" or a revision number.')
    changes = FieldDiffSerializer(many=True)


class CompareSerializer(serializers.Serializer):
    source = serializers.CharField(source="from_env")
    target = serializers.CharField(source="to_env")
    fields = FieldDiffSerializer(many=True)


class RollbackSerializer(WriteSerializer):
    to_revision = serializers.IntegerField(min_value=1)
    scope = serializers.ChoiceField(SCOPES, default="route")
    environment = serializers.CharField(required=False, allow_blank=True, max_length=63)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _route_id(ident: str):
    route_id = revision_route_id(ident)
    if route_id is None:
        raise Http404(f"No route '{ident}'.")
    return route_id


def _revision(route_id, n: str) -> RouteRevision:
    try:
        return revision_get(route_id, int(n))
    except (ValueError, ObjectDoesNotExist):
        raise Http404(f"No revision '{n}' of this route.") from None


def _environment_names() -> list[str]:
    return list(Environment.objects.values_list("name", flat=True))


class RevisionListView(ApiView):
    @api_doc(response=RevisionSerializer, paginated=True, summary="The route's revisions, newest first.")
    def get(self, request, route: str):
        return self.page(route_revisions(_route_id(route)), lambda r: RevisionSerializer(r).data)


class RevisionDetailView(ApiView):
    @api_doc(response=RevisionDetailSerializer, parameters=[N_PARAMETER])
    def get(self, request, route: str, n: str):
        return self.ok(RevisionDetailSerializer(_revision(_route_id(route), n)).data)


AGAINST = OpenApiParameter(
    "against", OpenApiTypes.STR, description='"current" (default) or another revision number.'
)


class RevisionDiffView(ApiView):
    @api_doc(
        response=RevisionDiffSerializer,
        parameters=[N_PARAMETER, AGAINST],
        summary="Per environment and field, what revision n served (before) against the current route or "
        "revision `against` (after), with provenance. Only what differs.",
    )
    def get(self, request, route: str, n: str):
        route_id = _route_id(route)
        revision = _revision(route_id, n)
        against = request.query_params.get("against", "current") or "current"
        other = current_document(route_id) if against == "current" else _revision(route_id, against).document
        changes = revision_diff(revision.document, other, _environment_names())
        data = {"revision": revision.number, "against": against, "changes": [c.as_dict() for c in changes]}
        return self.ok(RevisionDiffSerializer(data).data)


class RollbackView(ApiView):
    @api_doc(
        request=RollbackSerializer,
        response=RollbackAnswerSerializer,
        summary="Make the route (scope route) or one environment's view of it (scope environment) what it "
        "was in revision to_revision: one new revision, one audit entry. Secret values are not rolled back; "
        "a template whose secret no longer exists is refused with secret_missing. A rollback that changes "
        "something is a deployment too: watched for 30 minutes (console: its deployment page) and sent to "
        "the notification channels.",
    )
    def post(self, request, route: str):
        route_id = _route_id(route)
        serializer = RollbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        environment = values.get("environment") or None
        if environment:
            environment = environment_or_404(environment).name
        try:
            done = route_rollback(
                actor=self.actor,
                route_id=route_id,
                to_revision=values["to_revision"],
                scope=values["scope"],
                environment=environment,
                reason=values.get("reason", ""),
            )
        except ObjectDoesNotExist as exc:
            raise Http404(str(exc)) from None
        return self.ok({**RevisionDetailSerializer(done.revision).data, "deployment": done.watch})


class CompareView(ApiView):
    @api_doc(
        response=CompareSerializer,
        parameters=[
            OpenApiParameter("from", OpenApiTypes.STR, required=True, description="Environment name."),
            OpenApiParameter("to", OpenApiTypes.STR, required=True, description="Environment name."),
        ],
        summary="The route's effective configuration in two environments side by side, every field, with "
        "provenance (inherited or overridden) and whether it differs (drift).",
    )
    def get(self, request, route: str):
        instance = route_or_404(route)
        names = {}
        for side in ("from", "to"):
            if not request.query_params.get(side):
                raise serializers.ValidationError({side: ["Name an environment."]})
            names[side] = environment_or_404(request.query_params[side]).name
        rows = environment_compare(instance, names["from"], names["to"])
        data = {"from_env": names["from"], "to_env": names["to"], "fields": [r.as_dict() for r in rows]}
        return self.ok(CompareSerializer(data).data)
