"""The /v1 management API: one URL list wiring every app's api.py, plus the OpenAPI schema and its docs.

Paths follow KnoxCall's public API (and its SDKs); `{route}` is a UUID or a slug, `{env}` a name or id.
"""

from django.conf import settings
from django.urls import path
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from alerts import api as alerts
from analytics import api as analytics
from deployments import api as deployments
from deployments import release_api
from environments import api as environments
from routing import api as routing
from routing import client_api
from routing import revision_api as revisions
from secrets_vault import api as secrets

# Swagger UI and Redoc (served from drf-spectacular-sidecar, no CDN) style themselves with inline styles, and
# Redoc runs its search in a blob: worker; only these two pages get that much, and still no foreign origin
# (Redoc's footer logo from cdn.redoc.ly is refused by img-src, harmlessly).
DOCS_CSP = {
    **settings.SECURE_CSP,
    "style-src": ["'self'", "'unsafe-inline'"],
    "worker-src": ["'self'", "blob:"],
    "img-src": ["'self'", "data:"],
}

app_name = "api"
urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),
    path(
        "docs",
        csp_override(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "redoc",
        csp_override(DOCS_CSP)(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
        ),
        name="redoc",
    ),
    path("account", environments.AccountView.as_view()),
    path("environments", environments.EnvironmentListView.as_view()),
    path("environments/<str:env>/extend", environments.EnvironmentExtendView.as_view()),
    path("region-networks", environments.RegionNetworkListView.as_view()),
    path("region-networks/<str:network>", environments.RegionNetworkDetailView.as_view()),
    path("environments/<str:env>", environments.EnvironmentDetailView.as_view()),
    path("clients", client_api.ClientListView.as_view()),
    path("clients/<str:client>", client_api.ClientDetailView.as_view()),
    path("clients/<str:client>/credentials", client_api.ClientCredentialListView.as_view()),
    path("clients/<str:client>/assignments", client_api.ClientAssignmentListView.as_view()),
    path(
        "clients/<str:client>/assignments/<str:route>/<str:env>",
        client_api.ClientAssignmentDetailView.as_view(),
    ),
    path("api-keys", environments.ApiKeyListView.as_view()),
    path("api-keys/<str:key>", environments.ApiKeyDetailView.as_view()),
    path("audit-logs", environments.AuditLogListView.as_view()),
    path("routes", routing.RouteListView.as_view()),
    path("routes/<str:route>", routing.RouteDetailView.as_view()),
    path("routes/<str:route>/environments", routing.RouteEnvironmentListView.as_view()),
    path("routes/<str:route>/environments/<str:env>", routing.RouteEnvironmentDetailView.as_view()),
    path("routes/<str:route>/logs", analytics.RouteLogView.as_view()),
    path("routes/<str:route>/revisions", revisions.RevisionListView.as_view()),
    path("routes/<str:route>/revisions/<str:n>", revisions.RevisionDetailView.as_view()),
    path("routes/<str:route>/revisions/<str:n>/diff", revisions.RevisionDiffView.as_view()),
    path("routes/<str:route>/rollback", revisions.RollbackView.as_view()),
    path("routes/<str:route>/compare", revisions.CompareView.as_view()),
    path("routes/<str:route>/environments/<str:env>/releases", release_api.RouteReleaseListView.as_view()),
    path("releases/<str:release>", release_api.ReleaseDetailView.as_view()),
    path("releases/<str:release>/analysis", release_api.ReleaseAnalysisView.as_view()),
    *(path(f"releases/<str:release>/{name}", view.as_view()) for name, view in release_api.ACTIONS.items()),
    path("secrets", secrets.SecretListView.as_view()),
    path("secrets/<str:secret>", secrets.SecretDetailView.as_view()),
    path("secrets/<str:secret>/value", secrets.SecretValueView.as_view()),
    path("logs", analytics.LogFeedView.as_view()),
    path("logs/<str:request_id>", analytics.LogDetailView.as_view()),
    path("analytics/environments", analytics.AnalyticsEnvironmentsView.as_view()),
    path("alert-rules", alerts.AlertRuleListView.as_view()),
    path("alert-rules/<str:rule>", alerts.AlertRuleDetailView.as_view()),
    path("alert-incidents", alerts.AlertIncidentListView.as_view()),
    path("alert-incidents/<str:incident>", alerts.AlertIncidentDetailView.as_view()),
    path("promotions", deployments.PromotionListView.as_view()),
    path("promotions/<str:promotion>", deployments.PromotionDetailView.as_view()),
    path("promotions/<str:promotion>/checklist", deployments.PromotionChecklistView.as_view()),
    path("promotions/<str:promotion>/approve", deployments.PromotionApproveView.as_view()),
    path("promotions/<str:promotion>/reject", deployments.PromotionRejectView.as_view()),
    path("promotions/<str:promotion>/apply", deployments.PromotionApplyView.as_view()),
    path("promotions/<str:promotion>/cancel", deployments.PromotionCancelView.as_view()),
    path("deployments", deployments.DeploymentListView.as_view()),
    path("deployments/<str:deployment>", deployments.DeploymentDetailView.as_view()),
]
