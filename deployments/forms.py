"""Forms of the Promote page and the promotion actions."""

from django import forms

from environments.models import Environment
from routing.models import ENVIRONMENT_SPECIFIC_FIELDS


class PromoteForm(forms.Form):
    source = forms.ModelChoiceField(Environment.objects.all(), to_field_name="name")
    target = forms.ModelChoiceField(Environment.objects.all(), to_field_name="name")
    title = forms.CharField(max_length=200, required=False)
    also = forms.MultipleChoiceField(
        choices=[(f, f) for f in ENVIRONMENT_SPECIFIC_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Also promote (environment-specific)",
    )
    auto_rollback_percent = forms.FloatField(
        min_value=0,
        max_value=100,
        required=False,
        label="Roll back by itself when the error rate passes (%)",
    )

    def clean(self):
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            raise forms.ValidationError("Pick two different environments.")
        return data


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2000)


class ApplyForm(forms.Form):
    break_glass_reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class WatchForm(forms.Form):
    auto_rollback_percent = forms.FloatField(
        min_value=0,
        max_value=100,
        required=False,
        label="Roll back by itself when the error rate passes (%)",
    )
