"""Console forms for rules and channels; the services do the real validation."""

from typing import Any

from django import forms

from .models import AlertRule, ChannelKind, NotificationChannel


class AlertRuleForm(forms.ModelForm):
    status_codes = forms.CharField(
        required=False, help_text="Request failures only: codes separated by commas, e.g. 500, 502, 503."
    )

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "enabled",
            "environments",
            "route",
            "type",
            "direction",
            "threshold",
            "percentile",
            "status_codes",
            "window_minutes",
            "min_requests",
            "severity",
            "cooldown_minutes",
            "channels",
        ]
        widgets = {"environments": forms.CheckboxSelectMultiple, "channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["status_codes"] = ", ".join(str(c) for c in self.instance.status_codes)

    def clean_status_codes(self) -> list[int]:
        raw = self.cleaned_data.get("status_codes") or ""
        try:
            return [int(part) for part in raw.replace(" ", "").split(",") if part]
        except ValueError as exc:
            raise forms.ValidationError("Use numbers separated by commas.") from exc

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["environments"] = list(data["environments"])
        data["channels"] = list(data["channels"])
        data["route_id"] = data.pop("route").pk if data.get("route") else None
        return data


class NotificationChannelForm(forms.Form):
    """One form for every kind; the fields that do not apply to the chosen kind are ignored.

    Secret fields are never filled in when editing: leave them empty to keep the current value.
    """

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ChannelKind.choices)
    enabled = forms.BooleanField(required=False, initial=True)
    webhook_url = forms.CharField(
        required=False, label="Slack incoming-webhook URL", widget=forms.PasswordInput(render_value=False)
    )
    routing_key = forms.CharField(
        required=False, label="PagerDuty routing key", widget=forms.PasswordInput(render_value=False)
    )
    addresses = forms.CharField(required=False, label="Email addresses (one a line)", widget=forms.Textarea)
    url = forms.CharField(required=False, label="Webhook URL")
    secret = forms.CharField(
        required=False, label="Webhook signing secret", widget=forms.PasswordInput(render_value=False)
    )

    @classmethod
    def for_channel(cls, channel: NotificationChannel, data: Any = None) -> "NotificationChannelForm":
        config = channel.config
        initial = {
            "name": channel.name,
            "kind": channel.kind,
            "enabled": channel.enabled,
            "addresses": "\n".join(config.get("addresses", [])),
            "url": config.get("url", ""),
        }
        form = cls(data, initial=initial)
        form.fields["kind"].disabled = True
        return form

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("webhook_url", "routing_key", "addresses", "url", "secret")
        return {key: data.get(key, "") for key in keys}
