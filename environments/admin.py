from django.contrib import admin

from .models import Environment


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "is_default", "is_protected", "region", "expires_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # writes go through the services (audit + configuration version): use the console

    has_add_permission = has_delete_permission = has_change_permission
