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
    secret_type = forms.ChoiceField(choices=SecretType.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM (UTC)")
    strict_expiry = forms.BooleanField(required=False)


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
