from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "actor_label", "action", "resource_type", "resource_name", "environment"]
    list_filter = ["action", "resource_type", "environment"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the audit trail is append-only

    has_add_permission = has_delete_permission = has_change_permission
