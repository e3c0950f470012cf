"""Console pages that belong to no single app: home, sign-in, the audit log and the colour stylesheet."""

from django.urls import path

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("audit/", views.audit_log, name="audit_log"),
    path("theme/environments.css", views.environment_colors, name="environment_colors"),
]
