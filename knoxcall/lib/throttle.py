"""Brute-force protection keyed by the trusted client IP, on django-ratelimit (counters in the Django cache).

`throttle_by_client_ip` decorates a login-like view: past the rate, POSTs from that IP get 429 without
reaching the view. `client_ip_throttled` is the same check for code that decides for itself, e.g. the
management API counting authentication failures. The IP is resolved with TRUSTED_PROXIES, like the proxy's.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited

from .client_ip import client_ip_of_request


def client_ip_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit key function: the caller's trusted IP."""
    return client_ip_of_request(request)


def client_ip_throttled(request: HttpRequest, group: str, rate: str, *, increment: bool = True) -> bool:
    """True when this IP has used up `rate` (e.g. "10/m") in `group`; counts this attempt if incrementing."""
    return is_ratelimited(request, group=group, key=client_ip_key, rate=rate, method=ALL, increment=increment)


def throttle_by_client_ip(
    group: str, rate: str | None = None, methods: tuple[str, ...] = ("POST",)
) -> Callable:
    """Decorate a view: past `rate` (default LOGIN_THROTTLE_RATE) its POSTs from one IP get 429."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            chosen = rate or settings.LOGIN_THROTTLE_RATE
            if request.method in methods and client_ip_throttled(request, group, chosen):
                return HttpResponse(
                    "Too many attempts from your address; wait a minute and try again.",
                    status=429,
                    content_type="text/plain",
                    headers={"Retry-After": "60"},
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
