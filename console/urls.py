"""Console pages that belong to no single app: home, sign-in, the audit log and the colour stylesheet."""

from django.urls import path

from knoxcall.lib.throttle import throttle_by_client_ip

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    # Brute-force protection per trusted client IP, like the admin login.
    path("login/", throttle_by_client_ip("console-login")(views.ConsoleLoginView.as_view()), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("audit/", views.audit_log, name="audit_log"),
    # Deleting an environment lists what goes with it from every app, so the page lives here, on top.
    path("environments/<slug:name>/delete/", views.environment_delete, name="environment_delete"),
    path("theme/environments.css", views.environment_colors, name="environment_colors"),
]
