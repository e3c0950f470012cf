"""The pure placeholder renderer shared by the proxy and the console."""

import uuid

import pytest

from secrets_vault.rendering import (
    Placeholder,
    RenderContext,
    TemplateError,
    masked_context,
    merge_json,
    parse_body,
    parse_headers,
    parse_template,
    render,
    render_body,
    secret_placeholders,
)

SECRET_ID = str(uuid.uuid4())


def _context(**secrets) -> RenderContext:
    return RenderContext(
        secrets={Placeholder("secret", k): v for k, v in secrets.items()},
        environment="staging",
        route_name="Pay",
        request_id="r1",
        timestamp="T",
    )


def test_it_renders_every_placeholder():
    template = parse_template("{{secret:KEY}}|{{ environment }}|{{route.name}}|{{request_id}}|{{timestamp}}")
    assert render(template, _context(KEY="k")) == "k|staging|Pay|r1|T"


def test_it_renders_secret_ids_and_literal_text():
    template = parse_template("Bearer {{secret_id:" + SECRET_ID.upper() + "}}!")
    context = RenderContext(secrets={Placeholder("secret_id", SECRET_ID): "v"})
    assert render(template, context) == "Bearer v!"


@pytest.mark.parametrize("text", ["{{secret:}}", "{{secret:a-b}}", "{{secret_id:x}}", "{{env}}", "{{}}"])
def test_it_refuses_unknown_placeholders(text):
    with pytest.raises(TemplateError):
        parse_template(text)


def test_it_lists_secret_placeholders_once_in_order():
    parsed = (
        parse_headers({"A": "{{secret:B}}{{secret:A}}", "C": "{{secret:B}}"}),
        parse_body({"x": ["{{secret:C}}", {"y": "{{environment}}"}]}),
    )
    assert [p.arg for p in secret_placeholders(parsed)] == ["B", "A", "C"]


def test_it_renders_a_body_keeping_non_string_values():
    parsed = parse_body({"key": "{{secret:KEY}}", "n": 1, "list": ["{{environment}}", True], "plain": "x"})
    assert render_body(parsed, _context(KEY="k")) == {
        "key": "k",
        "n": 1,
        "list": ["staging", True],
        "plain": "x",
    }


def test_merge_lets_injected_values_win_and_keeps_the_rest():
    merged = merge_json({"a": 1, "nested": {"b": 2, "c": 3}}, {"nested": {"c": "injected"}, "d": 4})
    assert merged == {"a": 1, "nested": {"b": 2, "c": "injected"}, "d": 4}


def test_the_preview_masks_secrets():
    parsed = parse_headers({"Authorization": "Bearer {{secret:KEY}}"})
    context = masked_context(parsed, environment="production", route_name="Pay")
    assert render(parsed[0][1], context) == "Bearer ••••(KEY)"
