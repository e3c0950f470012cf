"""The Releases tab's start form: the candidate and the plan in plain fields, turned into the service's spec.

The service (routing.releases.start_release) checks everything that matters; the form only parses what a
person types (weights as "5, 25, 50, 100", headers as JSON) so its messages land next to the right field.
"""

import json

from django import forms

from routing.models import ReleaseStrategy, StickyBy


def _json_object(value: str, what: str) -> dict | None:
    if not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise forms.ValidationError(f"{what} must be a JSON object.") from None
    if not isinstance(parsed, dict):
        raise forms.ValidationError(f"{what} must be a JSON object.")
    return parsed


class ReleaseStartForm(forms.Form):
    strategy = forms.ChoiceField(choices=ReleaseStrategy.choices, initial=ReleaseStrategy.CANARY)
    target_base_url = forms.CharField(max_length=2048, label="Candidate target URL")
    timeout_ms = forms.IntegerField(
        required=False, label="Candidate timeout (ms)", help_text="Empty: as stable."
    )
    inject_headers_json = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Candidate injected headers (JSON)"
    )
    weights = forms.CharField(
        initial="5, 25, 50, 100",
        label="Steps (% of callers)",
        help_text="Canary only; blue-green is 0 then 100.",
    )
    hold_seconds = forms.IntegerField(min_value=0, initial=600, label="Hold per step (s)")
    sticky = forms.ChoiceField(
        choices=StickyBy.choices, initial=StickyBy.API_KEY, label="Keep callers on one side by"
    )
    sticky_header = forms.CharField(required=False, max_length=100, label="Sticky header (x-…)")
    allow_variant_header = forms.BooleanField(required=False, label="Allow x-knoxcall-variant to pick a side")

    def clean_weights(self) -> list[float]:
        try:
            return [
                float(part)
                for part in self.cleaned_data["weights"].replace("%", "").split(",")
                if part.strip()
            ]
        except ValueError:
            raise forms.ValidationError(
                "Give the weights as numbers separated by commas, e.g. 5, 25, 50, 100."
            ) from None

    def clean_inject_headers_json(self) -> dict | None:
        return _json_object(self.cleaned_data["inject_headers_json"], "Injected headers")

    def spec(self) -> dict:
        """The start_release keywords from the cleaned fields."""
        data = self.cleaned_data
        candidate = {"target_base_url": data["target_base_url"]}
        if data["timeout_ms"] is not None:
            candidate["timeout_ms"] = data["timeout_ms"]
        if data["inject_headers_json"] is not None:
            candidate["inject_headers_json"] = data["inject_headers_json"]
        spec = {
            "strategy": data["strategy"],
            "candidate": candidate,
            "sticky": data["sticky"],
            "sticky_header": data["sticky_header"],
            "allow_variant_header": data["allow_variant_header"],
        }
        if data["strategy"] == ReleaseStrategy.CANARY:
            hold = data["hold_seconds"]
            spec["steps"] = [{"weight_percent": w, "hold_seconds": hold} for w in data["weights"]]
        return spec
