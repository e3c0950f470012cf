"""Adding an overridable field is one line in OVERRIDABLE_FIELDS plus its migration: every surface that shows
or writes a route's configuration reads the field list (and its limits) from the model declaration.

Nothing here names a field: each check walks OVERRIDABLE_FIELDS, so a new field is checked too.
"""

import pytest
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.test import Client

from core.audit import SYSTEM
from environments.services import api_key_create
from routing.api import (
    OverrideWriteSerializer,
    RouteDetailSerializer,
    RouteEnvironmentChangeSerializer,
    RouteEnvironmentSerializer,
    RouteSerializer,
    RouteWriteSerializer,
)
from routing.forms import OverrideCellForm, RouteForm
from routing.models import OVERRIDABLE_FIELDS
from routing.selectors import override_matrix
from tests.api.conftest import Api
from tests.support.console import make_user, seed_world

WRITE = (RouteWriteSerializer, OverrideWriteSerializer)
READ = (RouteSerializer, RouteDetailSerializer, RouteEnvironmentSerializer, RouteEnvironmentChangeSerializer)


@pytest.mark.parametrize("serializer", [*WRITE, *READ], ids=lambda s: s.__name__)
def test_every_serializer_has_every_overridable_field(serializer):
    assert set(OVERRIDABLE_FIELDS) <= set(serializer().fields)


def test_the_write_serializers_take_their_limits_from_the_model():
    for name, model_field in OVERRIDABLE_FIELDS.items():
        for serializer in WRITE:
            field = serializer().fields[name]
            if isinstance(model_field, models.CharField):
                assert field.max_length == model_field.max_length, name
            for validator in model_field.validators:
                if isinstance(validator, MinValueValidator):
                    assert field.min_value >= validator.limit_value, name
                if isinstance(validator, MaxValueValidator):
                    assert field.max_value <= validator.limit_value, name


def test_a_base_route_needs_only_what_the_model_gives_no_default_and_an_override_needs_nothing():
    base, override = RouteWriteSerializer().fields, OverrideWriteSerializer().fields
    for name, model_field in OVERRIDABLE_FIELDS.items():
        assert base[name].required is not model_field.has_default(), name
        assert not base[name].allow_null, name
        assert not override[name].required and override[name].allow_null, name


def test_the_console_forms_have_every_overridable_field():
    assert set(OVERRIDABLE_FIELDS) <= set(RouteForm().fields)
    for name in OVERRIDABLE_FIELDS:
        assert "value" in OverrideCellForm(name).fields


def test_the_override_matrix_has_a_row_per_overridable_field(db):
    world = seed_world("http://127.0.0.1:9")
    rows = override_matrix(world["route"], editable={})
    assert [row["field"] for row in rows] == list(OVERRIDABLE_FIELDS)
    client = Client()
    client.force_login(make_user("viewer", password=None))
    html = client.get(f"/routes/{world['route'].pk}/overrides/").content.decode()
    for name in OVERRIDABLE_FIELDS:
        for environment in world["environments"]:
            assert f'id="cell-{name}-{environment}"' in html


def test_the_openapi_schema_has_every_overridable_field(db):
    admin = Api(api_key_create(actor=SYSTEM, name="docs", role="administrator")[1])
    schemas = admin.get("/v1/openapi.json").json()["components"]["schemas"]
    components = [s.__name__.removesuffix("Serializer") for s in READ]
    for serializer in WRITE:  # requests are split from answers, and PATCH bodies have their own schema
        name = serializer.__name__.removesuffix("Serializer")
        components += [f"{name}Request", f"Patched{name}Request"]
    for component in components:
        assert set(OVERRIDABLE_FIELDS) <= set(schemas[component]["properties"]), component
