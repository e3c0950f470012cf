"""/v1 clients: callers by IP or CIDR, read and written with their (route, environment) assignments.

Client is an environments model, but a client's assignments belong to routes, so these endpoints live with
routing, which may use both (environments sits below routing and cannot import it).
"""

from django.db import transaction
from django.http import Http404
from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer, validated
from core.http.api_schema import DeletedSerializer, api_doc
from environments import services
from environments.models import Client
from environments.selectors import client_or_404, environment_or_404

from .revisions import revision_scope
from .selectors import route_or_404
from .services import route_client_assign, route_client_unassign


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


class AssignmentWriteSerializer(WriteSerializer):
    route = serializers.CharField(max_length=100, help_text="Route UUID or slug.")
    environment = serializers.CharField(max_length=63)


class ClientWriteSerializer(WriteSerializer):
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


def set_assignments(actor, client: Client, wanted: list[dict]) -> None:
    """Make the client's (route, environment) assignments exactly `wanted`, through the routing services."""
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
        fields = validated(ClientWriteSerializer, request)
        assignments = fields.pop("route_assignments", [])
        with revision_scope(action="client_create", actor=self.actor):  # one revision per route reached
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
        fields = validated(ClientWriteSerializer, request, partial=True)
        assignments = fields.pop("route_assignments", None)
        with revision_scope(action="client_update", actor=self.actor):  # one revision per route reached
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
        instance = client_or_404(client)
        fields = validated(AssignmentWriteSerializer, request)
        route, environment = route_or_404(fields["route"]), environment_or_404(fields["environment"])
        existed = instance.assignments.filter(route=route, environment=environment).exists()
        assignment = route_client_assign(
            actor=self.actor, route=route, environment=environment, client=instance
        )
        return self.ok(AssignmentSerializer(assignment).data, status=200 if existed else 201)


class ClientAssignmentDetailView(ApiView):
    @api_doc(response=DeletedSerializer, summary="Remove one assignment, keeping the others.")
    def delete(self, request, client: str, route: str, env: str):
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
