"""Filter forms of the analytics pages (GET only; they read, never write)."""

from django import forms

from environments.models import Environment
from environments.selectors import deleted_environment_names
from routing.models import Route

from .selectors import STATUS_CLASSES, WINDOWS


def _route_choices() -> list[tuple[str, str]]:
    return [("", "All routes"), *((str(r.id), r.name) for r in Route.objects.only("id", "name"))]


class CompareForm(forms.Form):
    window = forms.ChoiceField(choices=[(w, w) for w in WINDOWS], required=False, initial="1h")
    route = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["route"].choices = _route_choices()


class RequestLogFilterForm(forms.Form):
    environment = forms.ChoiceField(required=False)
    route = forms.ChoiceField(required=False)
    status_class = forms.ChoiceField(
        choices=[("", "Any status"), *((c, c) for c in STATUS_CLASSES)], required=False
    )
    method = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any method"),
            *((m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
        ],
    )
    client_ip = forms.GenericIPAddressField(required=False, label="Client IP")
    min_latency_ms = forms.FloatField(required=False, min_value=0, label="Latency ≥ (ms)")
    max_latency_ms = forms.FloatField(required=False, min_value=0, label="Latency ≤ (ms)")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    order = forms.ChoiceField(
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")], required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["route"].choices = _route_choices()
        self.fields["environment"].choices = [
            ("", "All environments"),
            *((e.name, e.label) for e in Environment.objects.only("name", "display_name")),
            *((name, f"{name} (deleted)") for name in deleted_environment_names()),
        ]
