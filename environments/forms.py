"""The environment form of the console; the service validates again and decides who may save it."""

from django import forms

from .models import Environment


class EnvironmentForm(forms.ModelForm):
    # Only when creating: a feature environment cloned from a parent, living ttl_hours (or to expires_at).
    clone_from = forms.ModelChoiceField(
        queryset=Environment.objects.filter(is_protected=False),
        required=False,
        to_field_name="name",
        label="Clone from (copies its overrides and client assignments; its secret values fill gaps)",
    )
    ttl_hours = forms.FloatField(
        required=False, min_value=0.01, label="Time to live in hours (temporary environment)"
    )

    class Meta:
        model = Environment
        fields = [
            "name",
            "display_name",
            "description",
            "color",
            "is_protected",
            "region",
            "region_group",
            "failover_order",
            "expires_at",
        ]
        widgets = {
            "color": forms.TextInput(attrs={"type": "color"}),
            "description": forms.Textarea(attrs={"rows": 2}),
            "expires_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        labels = {
            "is_protected": "Protected (only Administrators change it)",
            "expires_at": "Expires at (temporary environment)",
        }
        help_texts = {
            "color": "Charts and badges use it unless an older environment already shows a colour this "
            "close; then this one is drawn in a distinct colour of its own.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["failover_order"].required = False
        if self.instance.pk:
            del self.fields["clone_from"], self.fields["ttl_hours"]
            self.fields["name"].disabled = True
            self.fields["name"].help_text = "Callers send this name; it cannot change."

    def clean_failover_order(self) -> int:
        return self.cleaned_data.get("failover_order") or 0

    def validate_unique(self) -> None:
        """Uniqueness (and the one-default rule) is the service's to check, inside its transaction."""
