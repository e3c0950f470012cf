"""Console pages of the environments app."""

from django.urls import path

from . import access_views, views

app_name = "environments"
urlpatterns = [
    path("clients/", access_views.clients, name="clients"),
    path("clients/<uuid:client_id>/", access_views.client_edit, name="client_edit"),
    path("api-keys/", access_views.api_keys, name="api_keys"),
    path("api-keys/<uuid:key_id>/revoke/", access_views.api_key_revoke_view, name="api_key_revoke"),
    path("", views.environment_list, name="list"),
    path("new/", views.environment_create, name="create"),
    path("<slug:name>/edit/", views.environment_edit, name="edit"),
    path("<slug:name>/make-default/", views.environment_make_default, name="make_default"),
    path("<slug:name>/extend/", views.environment_extend, name="extend"),
]
