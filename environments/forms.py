"""The environment form of the console; the service validates again and decides who may save it."""

from django import forms

from .models import Environment


class EnvironmentForm(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["name", "display_name", "description", "color", "is_protected", "region", "expires_at"]
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
        if self.instance.pk:
            self.fields["name"].disabled = True
            self.fields["name"].help_text = "Callers send this name; it cannot change."

    def validate_unique(self) -> None:
        """Uniqueness (and the one-default rule) is the service's to check, inside its transaction."""
