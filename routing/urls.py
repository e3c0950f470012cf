"""Console pages of the routing app."""

from django.urls import path

from . import views

app_name = "routing"
urlpatterns = [
    path("<uuid:route_id>/clients/", views.route_clients, name="route_clients"),
]
