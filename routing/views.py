"""Console pages of the routing app: a route's Environment Clients (plain markup; issue 5 styles it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from environments.audit import Actor
from environments.models import Client, Environment
from knoxcall.lib.throttle import client_ip_of_request

from .models import Route, RouteClient
from .services import route_client_assign, route_client_unassign


@login_required
def route_clients(request: HttpRequest, route_id) -> HttpResponse:
    """Which clients may call the route in each environment; POST assigns or unassigns one."""
    route = get_object_or_404(Route, pk=route_id)
    if request.method == "POST":
        environment = get_object_or_404(Environment, pk=request.POST.get("environment"))
        client = get_object_or_404(Client, pk=request.POST.get("client"))
        change = route_client_unassign if request.POST.get("action") == "unassign" else route_client_assign
        try:
            change(actor=Actor.for_user(request.user, client_ip_of_request(request)), route=route,
                   environment=environment, client=client)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        return redirect("routing:route_clients", route_id=route.pk)
    assigned = RouteClient.objects.filter(route=route).select_related("client")
    by_environment = {env: [a.client for a in assigned if a.environment_id == env.pk]
                      for env in Environment.objects.all()}
    context = {"route": route, "by_environment": by_environment, "clients": Client.objects.all()}
    return render(request, "routing/route_clients.html", context)
