"""Console pages of the analytics app (mounted at /analytics/); its JSON is analytics/api.py under /v1/."""

from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.compare, name="compare"),
    path("compare/", views.compare, name="compare-environments"),
    path("health/", views.health, name="health"),
    path("requests/", views.request_list, name="requests"),
    path("requests/export.csv", views.request_export, name="requests-export"),
    path("requests/<str:request_id>/", views.request_detail, name="request-detail"),
]
