"""Filter forms of the analytics pages (GET only; they read, never write)."""

from django import forms

from environments.models import Environment
from environments.selectors import deleted_environment_names
from routing.models import Route

from .filters import METHODS, RequestLogFilterSet
from .selectors import WINDOWS


def _route_choices() -> list[tuple[str, str]]:
    return [("", "All routes"), *((str(r.id), r.name) for r in Route.objects.only("id", "name"))]


class CompareForm(forms.Form):
    window = forms.ChoiceField(choices=[(w, w) for w in WINDOWS], required=False, initial="1h")
    route = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["route"].choices = _route_choices()


class RequestLogFilterForm(RequestLogFilterSet):
    """The Requests page's filter form: RequestLogFilterSet with choices to pick from."""

    environment = forms.ChoiceField(required=False)
    route = forms.ChoiceField(required=False)
    method = forms.ChoiceField(required=False, choices=[("", "Any method"), *((m, m) for m in METHODS)])
    status_code = None  # the page filters by status class; /v1/logs takes an exact code

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["route"].choices = _route_choices()
        self.fields["environment"].choices = [
            ("", "All environments"),
            *((e.name, e.label) for e in Environment.objects.only("name", "display_name")),
            *((name, f"{name} (deleted)") for name in deleted_environment_names()),
        ]
