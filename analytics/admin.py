from django.contrib import admin

from .models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = [
        "timestamp",
        "request_id",
        "environment",
        "route_slug",
        "method",
        "path",
        "status",
        "latency_ms",
    ]
    list_filter = ["environment", "status"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    has_add_permission = has_delete_permission = has_change_permission
