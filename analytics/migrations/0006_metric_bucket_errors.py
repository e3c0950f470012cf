"""MetricBucket.errors (each failed call once), and gateway_errors now counts the gateway's 5xx too.

Before, gateway_errors counted only gateway errors answered below 500 (a 502 of an unreachable upstream was
a 5xx only), so errors = status_5xx + gateway_errors held exactly: that is what `errors` starts from. The
gateway's own 5xx are then added to gateway_errors from the request logs still retained (rolled up, so
already in their bucket); buckets whose logs were purged keep the old, lower gateway count.
"""

from datetime import UTC

from django.db import migrations, models
from django.db.models import Count, F
from django.db.models.functions import TruncMinute

NO_ROUTE = "00000000-0000-0000-0000-000000000000"
# analytics.rollup.NOT_GATEWAY_ERRORS when this migration was written.
NOT_GATEWAY_ERRORS = ["", "rate_limited", "invalid_api_key", "ip_not_authorized", "client_disconnected"]


def count_errors_once(apps, schema_editor) -> None:
    MetricBucket = apps.get_model("analytics", "MetricBucket")
    RequestLog = apps.get_model("analytics", "RequestLog")
    MetricBucket.objects.update(errors=F("status_5xx") + F("gateway_errors"))
    gateway_5xx = (
        RequestLog.objects.filter(rolled_up=True, status__gte=500)
        .exclude(error_code__in=NOT_GATEWAY_ERRORS)
        .annotate(bucket_minute=TruncMinute("timestamp", tzinfo=UTC))
        .values("route_id", "environment", "bucket_minute")
        .annotate(n=Count("id"))
    )
    for row in gateway_5xx:
        MetricBucket.objects.filter(
            route_id=row["route_id"] or NO_ROUTE, environment=row["environment"], minute=row["bucket_minute"]
        ).update(gateway_errors=F("gateway_errors") + row["n"])


def restore_gateway_errors_below_500(apps, schema_editor) -> None:
    MetricBucket = apps.get_model("analytics", "MetricBucket")
    MetricBucket.objects.update(gateway_errors=F("errors") - F("status_5xx"))


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_request_log_error_detail"),
    ]

    operations = [
        migrations.AddField(
            model_name="metricbucket",
            name="errors",
            field=models.BigIntegerField(
                default=0,
                help_text="Failed calls, each once: answered 5xx or a gateway error (analytics.health).",
            ),
        ),
        migrations.AlterField(
            model_name="metricbucket",
            name="gateway_errors",
            field=models.BigIntegerField(
                default=0,
                help_text="Calls the gateway failed itself (any status, its 502s and 504s included).",
            ),
        ),
        migrations.RunPython(count_errors_once, restore_gateway_errors_below_500),
    ]
