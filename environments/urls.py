"""Console pages of the environments app."""

from django.urls import path

from . import views

app_name = "environments"
urlpatterns = [
    path("clients/", views.clients, name="clients"),
    path("clients/<uuid:client_id>/", views.client_edit, name="client_edit"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<uuid:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
