"""Filter sets: one definition of a list's filters, shared by its console page and its /v1 endpoint.

As netbox's filtersets: each field is a query parameter, cleaned like any form field, and `lookups` says
which column it filters. The console renders (a subclass of) the set as its filter form; the API documents
the fields it takes as query parameters (core.http.api_schema.filter_parameters) and answers 400 naming a
field whose value does not clean (core.http.api.filtered).
"""

from typing import Any, ClassVar

from django import forms
from django.db.models import QuerySet

from .models import AuditEntry


class FilterSet(forms.Form):
    # Field name -> ORM lookup; a field that needs more than one lookup is handled in filter().
    lookups: ClassVar[dict[str, str]] = {}

    def values(self) -> dict[str, Any]:
        """The cleaned filters that were given; none when the set does not validate (the console then
        shows the errors next to the fields, above the unfiltered list)."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}

    def filter(self, queryset: QuerySet) -> QuerySet:
        values = self.values()
        for name, lookup in self.lookups.items():
            if name in values:
                queryset = queryset.filter(**{lookup: values[name]})
        return queryset


def _text(help_text: str = "") -> forms.CharField:
    return forms.CharField(required=False, strip=True, help_text=help_text)


class AuditFilterSet(FilterSet):
    """The audit log's filters: the console's Audit log page and /v1/audit-logs."""

    actor = _text("Part of the actor's name.")
    resource_type = _text("e.g. route, environment, secret.")
    action = _text("e.g. create, update, delete, override.")
    environment = _text()
    resource_id = _text()

    lookups = {
        "actor": "actor_label__icontains",
        "resource_type": "resource_type",
        "action": "action",
        "environment": "environment",
        "resource_id": "resource_id",
    }

    def entries(self) -> QuerySet[AuditEntry]:
        return self.filter(AuditEntry.objects.all())
