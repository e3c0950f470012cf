"""Console pages of the routing app."""

from django.urls import path

from . import views

app_name = "routing"
cell = "<uuid:route_id>/overrides/<slug:environment_name>/<str:field>/"
urlpatterns = [
    path("", views.route_list, name="list"),
    path("new/", views.route_create, name="create"),
    path("deleted/", views.deleted_route_list, name="deleted"),
    path("<uuid:route_id>/", views.route_detail, name="detail"),
    path("<uuid:route_id>/edit/", views.route_edit, name="edit"),
    path("<uuid:route_id>/duplicate/", views.route_duplicate, name="duplicate"),
    path("<uuid:route_id>/toggle/", views.route_toggle, name="toggle"),
    path("<uuid:route_id>/delete/", views.route_delete, name="delete"),
    path("<uuid:route_id>/overrides/", views.route_overrides, name="overrides"),
    path(cell, views.override_cell, name="override_cell"),
    path(cell + "reset/", views.override_reset, name="override_reset"),
    path("<uuid:route_id>/clients/", views.route_clients, name="clients"),
    path("<uuid:route_id>/secrets/", views.route_secrets, name="secrets"),
    path("<uuid:route_id>/test/", views.route_test, name="test"),
    path("<uuid:route_id>/history/", views.route_history, name="history"),
    path("<uuid:route_id>/history/<int:number>/", views.route_revision, name="revision"),
    path("<uuid:route_id>/history/<int:number>/rollback/", views.route_rollback, name="rollback"),
]
