"""The filters of /v1/deployments (core.filters): by route, environment and status."""

import uuid

from django import forms
from django.db.models import QuerySet
from django.http import Http404

from core.filters import FilterSet
from routing.selectors import revision_route_id

from .models import Deployment
from .selectors import DEPLOYMENT_STATUSES, deployments_in_status


class DeploymentFilterSet(FilterSet):
    route = forms.CharField(required=False, help_text="Route UUID or slug (a deleted route by its UUID).")
    environment = forms.CharField(required=False, help_text="Environment name.")
    status = forms.ChoiceField(
        choices=[("", "Any status"), *((s, s) for s in DEPLOYMENT_STATUSES)],
        required=False,
        help_text="watching: within 30 minutes of the change; watch_ended: after; rolled_back: undone.",
    )

    lookups = {"environment": "environment__name"}

    def clean_route(self) -> uuid.UUID | str:
        """The route's id; a route that never existed is a 404 (as /v1 paths naming one), not an empty
        list that would look like a route nobody deployed."""
        ident = self.cleaned_data["route"]
        if not ident:
            return ""
        route_id = revision_route_id(ident)
        if route_id is None:
            raise Http404(f"No route '{ident}'.")
        return route_id

    def filter(self, queryset: QuerySet[Deployment]) -> QuerySet[Deployment]:
        deployments, values = super().filter(queryset), self.values()
        if values.get("route"):
            # Every route a deployment touched is a key of its revisions (a JSON key lookup, which SQLite
            # supports where a list's `contains` is not).
            deployments = deployments.filter(revisions__has_key=str(values["route"]))
        if values.get("status"):
            deployments = deployments_in_status(deployments, values["status"])
        return deployments
