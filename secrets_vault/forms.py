"""Console forms. The value field is a password input that never renders a value back."""

from django import forms

from .models import SECRET_NAME_RE, SecretType


class SecretCreateForm(forms.Form):
    name = forms.RegexField(
        regex=SECRET_NAME_RE,
        max_length=100,
        error_messages={"invalid": "Use letters, digits and underscores only."},
    )
    secret_type = forms.TypedChoiceField(
        choices=SecretType.choices, initial=SecretType.STRING, required=False, empty_value=SecretType.STRING
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM (UTC)")
    strict_expiry = forms.BooleanField(required=False, help_text="Refuse calls once expired (else warn).")


class SecretEditForm(forms.Form):
    secret_type = forms.TypedChoiceField(choices=SecretType.choices, required=False, empty_value=None)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM (UTC)")
    strict_expiry = forms.BooleanField(required=False)

    def clean(self) -> dict:
        """A form posted without the type (an older page, a script) keeps the stored one."""
        cleaned = super().clean()
        if cleaned.get("secret_type") is None:
            cleaned.pop("secret_type", None)
        return cleaned


class SecretRenameForm(forms.Form):
    name = forms.RegexField(
        regex=SECRET_NAME_RE,
        max_length=100,
        error_messages={"invalid": "Use letters, digits and underscores only."},
    )


class SecretValueForm(forms.Form):
    value = forms.CharField(
        strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
    )
