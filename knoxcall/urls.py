from django.contrib import admin
from django.urls import include, path

from knoxcall import health
from knoxcall.lib.throttle import throttle_by_client_ip

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Brute-force protection of the admin login, per trusted client IP, ahead of admin.site.urls.
    path("admin/login/", throttle_by_client_ip("admin-login")(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    # Console pages, one include per app (each app's urls.py owns its prefix below this line).
    path("environments/", include("environments.urls")),
    path("routes/", include("routing.urls")),
    path("secrets/", include("secrets_vault.urls")),
    path("analytics/", include("analytics.urls")),
    path("alerts/", include("alerts.urls")),
    path("deployments/", include("deployments.urls")),
    # Home, sign-in/out, the audit log: the console's own pages (console/urls.py).
    path("", include("console.urls")),
    # The management API (DRF) with its OpenAPI schema and docs.
    path("v1/", include("knoxcall.api_urls")),
]
