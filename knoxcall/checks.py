"""System checks that refuse the embedded development defaults when DEBUG is off."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_production_defaults(app_configs, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error("SECRET_KEY is the development default.", hint="Set SECRET_KEY.", id="knoxcall.E001")
        )
    if not settings.ALLOWED_HOSTS or "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error("ALLOWED_HOSTS must name this server's hosts.", hint="Set ALLOWED_HOSTS.", id="knoxcall.E002")
        )
    return errors
