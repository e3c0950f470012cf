"""Console forms for routes and single override cells, built from OVERRIDABLE_FIELDS so they never drift."""

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from .models import OVERRIDABLE_FIELDS, SLUG_RE


class MethodsField(forms.CharField):
    """HTTP methods typed as "GET, POST"; empty means every method. The service checks the names."""

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list | tuple) else (value or "")

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [m.strip().upper() for m in text.replace(",", " ").split() if m.strip()]


def form_field(name: str) -> forms.Field:
    """The form field for one overridable field, with a label and help a person understands."""
    if name == "allowed_methods":
        return MethodsField(
            required=False,
            label="Allowed methods",
            help_text="Comma-separated, e.g. GET, POST. Empty: every method.",
        )
    model_field = OVERRIDABLE_FIELDS[name]
    field = model_field.formfield(**_bounds(model_field))
    if isinstance(field, forms.JSONField):
        field.widget = forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"})
        field.help_text = "JSON object; use {{secret:NAME}} placeholders for secret values."
    if name == "target_base_url":
        field.widget.attrs.update({"placeholder": "https://api.example.com/v1", "class": "mono"})
    return field


def _bounds(model_field: Any) -> dict[str, int]:
    """min_value/max_value from the model field's validators, so the browser (min/max attributes) and the
    form refuse what the service would refuse (a timeout below 100 ms) before anything is posted."""
    # The database's integer range is among the validators too; the tightest bound wins.
    lows = [v.limit_value for v in model_field.validators if isinstance(v, MinValueValidator)]
    highs = [v.limit_value for v in model_field.validators if isinstance(v, MaxValueValidator)]
    return ({"min_value": max(lows)} if lows else {}) | ({"max_value": min(highs)} if highs else {})


class RouteForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.RegexField(
        SLUG_RE,
        max_length=63,
        required=False,
        help_text="Callers send it in x-knoxcall-route. Empty: made from the name.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in OVERRIDABLE_FIELDS:
            self.fields[name] = form_field(name)
        if editing:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = "A route's slug cannot change: callers put it in their headers."


class OverrideCellForm(forms.Form):
    """One cell of the Environment Overrides matrix: a value for one field in one environment."""

    def __init__(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"] = form_field(field_name)
        self.fields["value"].label = field_name


class TestRequestForm(forms.Form):
    __test__ = False  # not a pytest test class
    METHODS = [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")]

    environment = forms.ChoiceField()
    method = forms.ChoiceField(choices=METHODS, initial="GET")
    path = forms.CharField(initial="/", max_length=2048, widget=forms.TextInput(attrs={"class": "mono"}))
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "placeholder": "Accept: application/json"}),
        help_text="One per line, Name: value. The route and environment headers are added for you.",
    )
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}))

    def __init__(self, *args: Any, environments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["environment"].choices = environments

    def clean_path(self) -> str:
        path = self.cleaned_data["path"].strip()
        if not path.startswith("/"):
            raise forms.ValidationError("Start the path with /.")
        return path

    def clean_headers(self) -> list[tuple[str, str]]:
        headers = []
        for line in self.cleaned_data["headers"].splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(f"Write each header as Name: value (got {line.strip()!r}).")
            headers.append((name.strip(), value.strip()))
        return headers
