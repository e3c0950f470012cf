"""/v1 endpoints of the vault: secrets' metadata and writes of values. No answer ever carries a value.

Created as KnoxCall does: a name, a `secret_type` and a first `value`, for one environment (the default
when none is named); `PUT /v1/secrets/{id}/value` sets one environment's value and answers its value_version.
"""

import uuid

from django.db import transaction
from django.http import Http404
from django.views.decorators.debug import sensitive_variables
from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer, validated
from core.http.api_schema import DeletedSerializer, api_doc
from environments.models import Environment
from environments.selectors import environment_or_404

from . import services
from .models import Secret, SecretType


def get_secret(ident: str) -> Secret:
    try:
        secret = Secret.objects.filter(pk=uuid.UUID(ident)).first()
    except ValueError:
        secret = Secret.objects.filter(name=ident).first()
    if secret is None:
        raise Http404(f"No secret '{ident}'.")
    return secret


def _environment_or_default(name: str | None) -> Environment:
    if name:
        return environment_or_404(name)
    default = Environment.objects.filter(is_default=True).first()
    if default is None:
        raise serializers.ValidationError({"environment": ["Name an environment: there is no default."]})
    return default


class SecretEnvironmentSerializer(serializers.Serializer):
    environment_name = serializers.CharField(source="environment.name")
    value_version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    expires_at_override = serializers.DateTimeField(allow_null=True, default=None, read_only=True)


class SecretSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    shortcode_name = serializers.SerializerMethodField()
    description = serializers.CharField()
    secret_type = serializers.CharField()
    base_environment = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    strict_expiry_enforcement = serializers.BooleanField(source="strict_expiry")
    environment_count = serializers.SerializerMethodField()
    environments = SecretEnvironmentSerializer(many=True, source="values.all")

    def get_shortcode_name(self, secret: Secret) -> str:
        return f"{{{{secret:{secret.name}}}}}"

    def get_base_environment(self, secret: Secret) -> str | None:
        if "base_environment" not in self.context:  # once per answer, however many secrets it lists
            default = Environment.objects.filter(is_default=True).values_list("name", flat=True).first()
            self.context["base_environment"] = default
        return self.context["base_environment"]

    def get_environment_count(self, secret: Secret) -> int:
        return len(secret.values.all())  # prefetched


class SecretCreateSerializer(WriteSerializer):
    name = serializers.CharField(max_length=100)
    secret_type = serializers.ChoiceField(
        choices=SecretType.values,
        default=SecretType.STRING,
        help_text="Every type is stored as a string value.",
    )
    value = serializers.CharField(max_length=65536, trim_whitespace=False, write_only=True)
    environment = serializers.CharField(max_length=63, required=False, help_text="Default: the default one.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    strict_expiry_enforcement = serializers.BooleanField(required=False)


class SecretUpdateSerializer(WriteSerializer):
    name = serializers.CharField(max_length=100, required=False)
    secret_type = serializers.ChoiceField(choices=SecretType.values, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    strict_expiry_enforcement = serializers.BooleanField(required=False)


class SecretValueWriteSerializer(WriteSerializer):
    value = serializers.CharField(max_length=65536, trim_whitespace=False, write_only=True)
    environment = serializers.CharField(max_length=63, required=False, help_text="Default: the default one.")


class SecretValueResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    environment = serializers.CharField()
    value_version = serializers.IntegerField()


def secret_data(secret: Secret) -> dict:
    return SecretSerializer(Secret.objects.prefetch_related("values__environment").get(pk=secret.pk)).data


class SecretListView(ApiView):
    @api_doc(response=SecretSerializer, paginated=True)
    def get(self, request):
        shared: dict = {}  # one context for the page, so per-answer lookups run once
        return self.page(
            Secret.objects.prefetch_related("values__environment"),
            lambda s: SecretSerializer(s, context=shared).data,
        )

    @sensitive_variables("fields")
    @api_doc(request=SecretCreateSerializer, response=SecretSerializer, status=201)
    @transaction.atomic
    def post(self, request):
        fields = validated(SecretCreateSerializer, request)
        environment = _environment_or_default(fields.get("environment"))
        secret = services.secret_create(
            actor=self.actor,
            name=fields["name"],
            description=fields.get("description", ""),
            secret_type=fields["secret_type"],
            expires_at=fields.get("expires_at"),
            strict_expiry=fields.get("strict_expiry_enforcement", False),
        )
        services.secret_set_value(
            actor=self.actor, secret=secret, environment=environment, value=fields["value"]
        )
        return self.ok(secret_data(secret), status=201)


class SecretDetailView(ApiView):
    @api_doc(response=SecretSerializer)
    def get(self, request, secret: str):
        return self.ok(secret_data(get_secret(secret)))

    @api_doc(request=SecretUpdateSerializer, response=SecretSerializer)
    @transaction.atomic
    def patch(self, request, secret: str):
        instance = get_secret(secret)
        fields = validated(SecretUpdateSerializer, request)
        if "strict_expiry_enforcement" in fields:
            fields["strict_expiry"] = fields.pop("strict_expiry_enforcement")
        name = fields.pop("name", None)
        if name is not None and name != instance.name:
            instance = services.secret_rename(actor=self.actor, secret=instance, name=name)
        if fields:
            instance = services.secret_update(actor=self.actor, secret=instance, **fields)
        return self.ok(secret_data(instance))

    @api_doc(response=DeletedSerializer)
    def delete(self, request, secret: str):
        services.secret_delete(actor=self.actor, secret=get_secret(secret))
        return self.ok({"deleted": True})


class SecretValueView(ApiView):
    @sensitive_variables("fields")
    @api_doc(
        request=SecretValueWriteSerializer,
        response=SecretValueResultSerializer,
        summary="Set the value in one environment; answers the environment's new value_version.",
    )
    def put(self, request, secret: str):
        instance = get_secret(secret)
        fields = validated(SecretValueWriteSerializer, request)
        environment = _environment_or_default(fields.get("environment"))
        row = services.secret_set_value(
            actor=self.actor, secret=instance, environment=environment, value=fields["value"]
        )
        return self.ok(
            {
                "id": str(instance.pk),
                "name": instance.name,
                "environment": environment.name,
                "value_version": row.value_version,
            }
        )
