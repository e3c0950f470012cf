"""Console pages of the secrets_vault app (mounted at /secrets/)."""

from django.urls import path

from . import views

app_name = "secrets_vault"
urlpatterns = [
    path("", views.secret_list, name="list"),
    path("<uuid:secret_id>/", views.secret_detail, name="detail"),
    path("<uuid:secret_id>/edit", views.secret_edit, name="edit"),
    path("<uuid:secret_id>/rename", views.secret_rename, name="rename"),
    path("<uuid:secret_id>/delete", views.secret_delete, name="delete"),
    path("<uuid:secret_id>/values/<str:environment>/set", views.secret_set_value, name="set_value"),
    path("<uuid:secret_id>/values/<str:environment>/delete", views.secret_delete_value, name="delete_value"),
]
