from django.contrib import admin

from .models import Route, RouteOverride


class RouteOverrideInline(admin.TabularInline):
    model = RouteOverride
    extra = 0


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    """Read-only: every write goes through routing.services (audit + configuration version)."""

    list_display = ["name", "slug", "target_base_url", "enabled"]
    search_fields = ["name", "slug"]
    inlines = [RouteOverrideInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    has_add_permission = has_delete_permission = has_change_permission
