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
            Error(
                "ALLOWED_HOSTS must name this server's hosts.", hint="Set ALLOWED_HOSTS.", id="knoxcall.E002"
            )
        )
    if not [key for key in settings.KNOXCALL_MASTER_KEY if key.strip()]:
        errors.append(
            Error(
                "KNOXCALL_MASTER_KEY is not set: secrets would use a generated development key.",
                hint="Set KNOXCALL_MASTER_KEY to a base64 32-byte key (e.g. `openssl rand -base64 32`).",
                id="knoxcall.E003",
            )
        )
    errors.extend(_master_key_format_errors())
    return errors


def _master_key_format_errors() -> list[Error]:
    from django.core.exceptions import ImproperlyConfigured

    from secrets_vault.cipher import decode_key

    errors = []
    for position, key in enumerate(settings.KNOXCALL_MASTER_KEY, start=1):
        try:
            decode_key(key)
        except ImproperlyConfigured as exc:
            errors.append(Error(f"{exc} (key {position} of the list)", id="knoxcall.E004"))
    return errors
