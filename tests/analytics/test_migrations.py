"""Migration 0006: old buckets keep their error count; retained logs fix their gateway error count."""

from datetime import UTC, datetime

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from analytics import histogram

BEFORE = [("analytics", "0005_request_log_error_detail")]
AFTER = [("analytics", "0006_metric_bucket_errors")]
MINUTE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NO_ROUTE = "00000000-0000-0000-0000-000000000000"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_counts_errors_once_and_adds_the_gateway_5xx_still_in_the_log(transactional_db):
    old = migrate(BEFORE)
    try:
        # Rolled up by the old rule: two 502s of an unreachable upstream were 5xx only, the 404 of an
        # unknown route a gateway error, an upstream 500 a 5xx.
        old.get_model("analytics", "MetricBucket").objects.create(
            route_id=NO_ROUTE, environment="production", minute=MINUTE, total=10, status_2xx=6,
            status_4xx=1, status_5xx=3, gateway_errors=1, latency_histogram=histogram.empty(),
        )  # fmt: skip
        logs = old.get_model("analytics", "RequestLog")
        for second, (status, code) in enumerate(
            [
                (502, "upstream_unavailable"),
                (502, "upstream_unavailable"),
                (404, "route_not_found"),
                (500, ""),
            ]
        ):
            logs.objects.create(
                request_id=f"r{second}", timestamp=MINUTE.replace(second=second), environment="production",
                method="GET", path="/", status=status, latency_ms=1, error_code=code, rolled_up=True,
            )  # fmt: skip

        bucket = migrate(AFTER).get_model("analytics", "MetricBucket").objects.get()
        assert (bucket.errors, bucket.gateway_errors, bucket.status_5xx) == (4, 3, 3)

        bucket = migrate(BEFORE).get_model("analytics", "MetricBucket").objects.get()
        assert bucket.gateway_errors == 1  # back to the old meaning
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
