"""Console pages of the environments app."""

from django.urls import path

from . import views

app_name = "environments"
urlpatterns = [
    path("", views.environment_list, name="list"),
    path("new/", views.environment_create, name="create"),
    path("<slug:name>/edit/", views.environment_edit, name="edit"),
    path("<slug:name>/delete/", views.environment_delete, name="delete"),
    path("<slug:name>/make-default/", views.environment_make_default, name="make_default"),
]
