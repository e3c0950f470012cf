from django.contrib import admin

from .models import Secret, SecretValue


class SecretValueInline(admin.TabularInline):
    """Shows that a value exists and its history; the ciphertext is left out on purpose."""

    model = SecretValue
    fields = ["environment", "value_version", "key_id", "updated_at", "updated_by"]
    readonly_fields = fields
    extra = 0


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    """Read-only: writes go through secrets_vault.services (encryption, audit, configuration version)."""

    list_display = ["name", "expires_at", "strict_expiry", "updated_at"]
    search_fields = ["name"]
    inlines = [SecretValueInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    has_add_permission = has_delete_permission = has_change_permission
