"""Request logs written by the proxy's recorder."""

import uuid

from django.db import models


class RequestLog(models.Model):
    id = models.BigAutoField(primary_key=True)
    request_id = models.CharField(max_length=128)
    timestamp = models.DateTimeField(db_index=True)
    route_id = models.UUIDField(null=True, blank=True)
    route_slug = models.CharField(max_length=100, blank=True)
    environment = models.CharField(max_length=63, blank=True)
    method = models.CharField(max_length=16)
    path = models.CharField(max_length=2048)
    query = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    latency_ms = models.FloatField()
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    upstream_host = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    # What went wrong in the gateway's words (e.g. the upstream's connection error). Callers only get the
    # code and a generic message: the detail can name internal addresses, so it stays here and in the log.
    error_detail = models.CharField(max_length=500, blank=True, default="")
    api_key_id = models.UUIDField(null=True, blank=True, help_text="The API key that authenticated the call.")
    secrets_used = models.JSONField(
        default=list, blank=True, help_text="Names of secrets injected; never values."
    )
    # The member of a region group the call was meant for, when it was served by another (failover).
    failover_from = models.CharField(max_length=63, blank=True, default="")
    # The release that split the call's (route, environment) when it was served, and the side it was sent
    # to ("stable" or "candidate"); empty when no release was running.
    release_id = models.UUIDField(null=True, blank=True)
    variant = models.CharField(max_length=16, blank=True, default="")
    # Set in the same transaction that folds the row into its MetricBucket, so a row is counted exactly
    # once whatever order ids commit in (PostgreSQL sequences do not commit in order).
    rolled_up = models.BooleanField(default=False)

    class Meta:
        ordering = ["-timestamp"]
        # Every index costs each of the recorder's inserts, so only what a page or a task reads by
        # (bench/request_logs.py --explain, 10 million rows): one request by its id, the newest-first lists
        # and time ranges (timestamp), a rare environment, route or caller without scanning the table.
        # Status, method, latency and error-code filters match enough rows to be read off the timestamp
        # order, and a Meta index has no varchar_pattern_ops twin (nothing searches these with LIKE).
        indexes = [
            models.Index(fields=["request_id"], name="log_request_id"),
            models.Index(fields=["environment", "timestamp"], name="log_env_time"),
            models.Index(fields=["route_id", "environment", "timestamp"], name="log_route_env_time"),
            models.Index(fields=["client_ip", "timestamp"], name="log_ip_time"),
            # Small (only rows not yet rolled up) so the rollup finds its work without scanning the table.
            models.Index(fields=["id"], condition=models.Q(rolled_up=False), name="log_pending_rollup"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.method} {self.path} {self.status}"


class MetricBucket(models.Model):
    """Per (route, environment, release side, minute) totals folded from request logs by the rollup task.

    Calls that matched no route are counted under NO_ROUTE, and calls outside any release under the empty
    release and variant, so the unique key never holds a NULL. Readers that want an environment's totals sum
    every side (analytics.selectors does), so a release splits a minute's calls without changing its figures.
    """

    NO_ROUTE = uuid.UUID(int=0)

    route_id = models.UUIDField()
    environment = models.CharField(max_length=63)
    release_id = models.CharField(max_length=36, blank=True, default="")
    variant = models.CharField(max_length=16, blank=True, default="")
    minute = models.DateTimeField()
    total = models.BigIntegerField(default=0)
    status_2xx = models.BigIntegerField(default=0)
    status_3xx = models.BigIntegerField(default=0)
    status_4xx = models.BigIntegerField(default=0)
    status_5xx = models.BigIntegerField(default=0)
    gateway_errors = models.BigIntegerField(
        default=0, help_text="Calls the gateway failed itself (any status, its 502s and 504s included)."
    )
    errors = models.BigIntegerField(
        default=0, help_text="Failed calls, each once: answered 5xx or a gateway error (analytics.health)."
    )
    rate_limited = models.BigIntegerField(default=0)
    unauthorized = models.BigIntegerField(default=0)
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0)
    latency_histogram = models.JSONField(default=list, help_text="Counts per analytics.histogram bucket.")

    class Meta:
        ordering = ["minute"]
        constraints = [
            models.UniqueConstraint(
                fields=["route_id", "environment", "release_id", "variant", "minute"],
                name="one_bucket_per_route_env_side_minute",
            )
        ]
        indexes = [
            models.Index(fields=["environment", "minute"], name="bucket_env_minute"),
            # Small: only the minutes of releases, which the release judge reads every 15 s.
            models.Index(
                fields=["release_id", "minute"],
                condition=~models.Q(release_id=""),
                name="bucket_release_minute",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment} {self.route_id} {self.minute:%Y-%m-%d %H:%M} n={self.total}"


class RollupState(models.Model):
    """A single row bumped after every rollup that folded rows: the cheap marker live pages poll."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollup v{self.version} at {self.rolled_at}"
