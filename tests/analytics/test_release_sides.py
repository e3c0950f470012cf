"""A release's two sides in analytics: the log rows carry the release and side, the per-minute buckets keep
them apart, and everything that read an environment's totals before reads the same figures now."""

import uuid
from datetime import UTC, datetime, timedelta

from alerts.metrics import metric_totals_for_window, observed_value
from alerts.models import RuleType
from analytics import recorder
from analytics.models import MetricBucket, RequestLog
from analytics.rollup import rollup
from analytics.selectors import (
    environment_comparison,
    environment_health,
    release_metrics_by_side,
    time_series,
    window_metrics,
)
from tests.analytics.concurrency import ROUTE, make_logs
from tests.analytics.test_recorder import a_record

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RELEASE = uuid.UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")


def split_over_two_sides(logs: list[RequestLog]) -> list[RequestLog]:
    """The same calls, every third one sent to the candidate side of RELEASE, the rest to its stable side."""
    for i, log in enumerate(logs):
        log.release_id = RELEASE
        log.variant = "candidate" if i % 3 == 0 else "stable"
    return logs


def figures(now: datetime) -> dict:
    """Every figure dashboards, health cards and alert rules read, over the traffic of make_logs."""
    until = START + timedelta(minutes=10)
    by_env = window_metrics(environments=["production", "staging"], since=START, until=until)
    series = time_series(environments=["production"], since=START, until=until, step=timedelta(minutes=2))
    totals = metric_totals_for_window(environment="production", route_id=ROUTE, since=START, until=until)
    rule_types = [
        RuleType.ERROR_RATE,
        RuleType.LATENCY,
        RuleType.REQUEST_VOLUME,
        RuleType.RATE_LIMIT_EXCEEDED,
    ]
    return {
        "by_env": {name: m.as_dict() for name, m in by_env.items()},
        "series": [[p.as_dict() for p in s.points] for s in series],
        "alerts": [observed_value(rule_type, totals) for rule_type in rule_types],
        "health": [(h.environment.name, h.verdict, h.reasons) for h in environment_health(now)],
        "compare": environment_comparison(window="1h", route_ids=None)[2],
    }


def test_it_gives_the_same_dashboard_health_and_alert_figures_when_calls_are_split_over_two_sides(
    environments,
):
    now = START + timedelta(minutes=4, seconds=30)
    RequestLog.objects.bulk_create(make_logs(600, start=START, minutes=5))
    rollup()
    unsplit = figures(now)

    RequestLog.objects.all().delete()
    MetricBucket.objects.all().delete()
    RequestLog.objects.bulk_create(split_over_two_sides(make_logs(600, start=START, minutes=5)))
    rollup()
    split = figures(now)

    assert MetricBucket.objects.filter(variant="candidate").exists()  # the sides are really apart
    assert split == unsplit


def test_it_gives_calls_errors_and_percentiles_per_side_since_a_time(transactional_db):
    logs = split_over_two_sides(make_logs(300, start=START, minutes=5))
    RequestLog.objects.bulk_create(logs)
    rollup()

    sides = release_metrics_by_side(RELEASE, since=START)

    candidate = [log for log in logs if log.variant == "candidate"]
    assert sides["candidate"].total == len(candidate) == 100
    assert sides["stable"].total == 200
    assert sides["candidate"].errors == sum(log.status >= 500 for log in candidate)
    assert sides["candidate"].p95 is not None and sides["candidate"].p50 <= sides["candidate"].p95
    later = release_metrics_by_side(RELEASE, since=START + timedelta(minutes=3, seconds=20))
    assert later["candidate"].total + later["stable"].total == 120  # minutes 3 and 4, whole
    assert release_metrics_by_side(uuid.uuid4(), since=START)["candidate"].total == 0


def test_it_records_the_release_and_side_of_a_call_and_nothing_for_a_call_outside_releases(
    transactional_db,
):
    recorder.record(a_record(request_id="split", release_id=str(RELEASE), variant="candidate"))
    recorder.record(a_record(request_id="plain"))
    recorder.flush()

    split, plain = RequestLog.objects.get(request_id="split"), RequestLog.objects.get(request_id="plain")
    assert (split.release_id, split.variant) == (RELEASE, "candidate")
    assert (plain.release_id, plain.variant) == (None, "")
