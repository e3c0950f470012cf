"""Fixtures of the management API tests: one API key per role and a small JSON client using them."""

import json

import pytest
from django.test import Client as DjangoClient

from core.audit import SYSTEM
from environments.services import api_key_create


class Api:
    """Django's test client speaking JSON with an API key (Authorization: Bearer …)."""

    def __init__(self, raw_key: str | None, **headers: str) -> None:
        self.client = DjangoClient()
        self.headers = dict(headers)
        if raw_key:
            self.headers["Authorization"] = f"Bearer {raw_key}"

    def call(self, method: str, path: str, body=None, headers: dict | None = None, **params):
        kwargs = {"headers": {**self.headers, **(headers or {})}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        elif params:
            kwargs["data"] = params
        response = getattr(self.client, method.lower())(path, **kwargs)
        response.body = response.json() if response.content else None
        return response

    def get(self, path: str, **params):
        return self.call("GET", path, **params)

    def post(self, path: str, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def put(self, path: str, body=None, **kw):
        return self.call("PUT", path, body if body is not None else {}, **kw)

    def patch(self, path: str, body=None, **kw):
        return self.call("PATCH", path, body if body is not None else {}, **kw)

    def delete(self, path: str, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def raw_keys(environments) -> dict[str, str]:
    keys = {}
    for role in ("administrator", "developer", "viewer"):
        _, keys[role] = api_key_create(actor=SYSTEM, name=f"{role} key", role=role)
    return keys


@pytest.fixture
def admin(raw_keys) -> Api:
    return Api(raw_keys["administrator"])


@pytest.fixture
def developer(raw_keys) -> Api:
    return Api(raw_keys["developer"])


@pytest.fixture
def viewer(raw_keys) -> Api:
    return Api(raw_keys["viewer"])
