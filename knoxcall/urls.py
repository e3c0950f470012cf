from django.contrib import admin
from django.urls import include, path

from analytics.urls import api_urlpatterns as analytics_api
from knoxcall import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Console pages, one include per app (each app's urls.py owns its prefix below this line).
    path("environments/", include("environments.urls")),
    path("routes/", include("routing.urls")),
    path("secrets/", include("secrets_vault.urls")),
    path("analytics/", include("analytics.urls")),
    path("alerts/", include("alerts.urls")),
    path("v1/analytics/", include((analytics_api, "analytics_api"))),
]
