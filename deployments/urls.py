"""Console pages of the deployments app, mounted at /deployments/."""

from django.urls import path

from . import release_views, views

app_name = "deployments"
urlpatterns = [
    path("", views.promote, name="promote"),
    path("approvals/", views.approvals, name="approvals"),
    path("promotions/<uuid:pk>/", views.promotion_detail, name="promotion"),
    path("promotions/<uuid:pk>/<str:action>/", views.promotion_action, name="promotion_action"),
    path("<uuid:pk>/", views.deployment_detail, name="deployment"),
    path("<uuid:pk>/rollback/", views.deployment_rollback, name="rollback"),
    path("routes/<uuid:route_id>/releases/", release_views.route_releases, name="releases"),
    path("releases/<uuid:pk>/<str:action>/", release_views.release_action, name="release_action"),
]
