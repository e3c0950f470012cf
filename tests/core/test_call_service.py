"""core.http.console.call_service: the one way a console view runs a service write and shows its refusal."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from core.http.console import call_service


class NameForm(forms.Form):
    name = forms.CharField()


def _raise(exc: Exception):
    def service(**kwargs):
        raise exc

    return service


def test_it_answers_the_result_when_the_service_succeeds():
    assert call_service(lambda **kw: kw["x"] * 2, x=21) == (42, [], 200)


def test_a_refusal_is_403_with_its_reason():
    assert call_service(_raise(PermissionDenied("Not in production."))) == (None, ["Not in production."], 403)


def test_a_refusal_that_names_its_status_keeps_it():
    class Conflict(Exception):
        api_status = 409

    class SelfApproval(PermissionDenied):
        api_status = 451

    assert call_service(_raise(Conflict("The plan changed."))) == (None, ["The plan changed."], 409)
    assert call_service(_raise(SelfApproval("Not your own.")))[2] == 451


def test_validation_messages_go_next_to_the_form_fields_they_name():
    form = NameForm({"name": "x"})
    assert form.is_valid()
    exc = ValidationError({"name": "Taken.", "other": "Broken."})
    result, errors, status = call_service(_raise(exc), form=form)
    assert (result, status) == (None, 400)
    assert form.errors["name"] == ["Taken."]
    assert errors == ["other: Broken."]


def test_any_other_error_is_not_swallowed():
    try:
        call_service(_raise(KeyError("bug")))
    except KeyError:
        pass
    else:
        raise AssertionError("call_service hid a programming error")
