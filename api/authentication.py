"""API-key authentication of the management API: `Authorization: Bearer tk_…` or `x-api-key: tk_…`.

Repeated failures from one client IP are throttled (knoxcall.lib.throttle): keys cannot be guessed fast.
"""

from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from environments.models import ApiKey
from environments.selectors import api_key_authenticate
from knoxcall.lib.throttle import client_ip_throttled

THROTTLE_GROUP = "api-auth"


@dataclass(frozen=True)
class ApiKeyUser:
    """What DRF calls request.user when an API key authenticated; the key itself is request.auth."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return str(self.api_key.pk)


def presented_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.META.get("HTTP_X_API_KEY", "").strip() or None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw_key = presented_key(request)
        if raw_key is None:
            return None
        rate = settings.API_AUTH_THROTTLE_RATE
        if client_ip_throttled(request, THROTTLE_GROUP, rate, increment=False):
            raise exceptions.Throttled(wait=60, detail="Too many failed authentications; wait a minute.")
        api_key = api_key_authenticate(raw_key)
        if api_key is None:
            client_ip_throttled(request, THROTTLE_GROUP, rate)  # count this failure
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="knoxcall"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyHeader"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"apiKeyHeader": []}]  # either header, not both

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "tk_…"},
            {"type": "apiKey", "in": "header", "name": "x-api-key"},
        ]
