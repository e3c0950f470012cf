"""Analytics pages and the environments JSON: access check, one selector, render. No writes here."""

import csv
import math
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from environments.selectors import environment_display_colors

from . import selectors
from .charts import Band, first_step_with_data, line_chart, stacked_bar_chart
from .forms import CompareForm, RequestLogFilterForm

CSV_COLUMNS = (
    "timestamp",
    "request_id",
    "environment",
    "route_slug",
    "route_id",
    "method",
    "path",
    "query",
    "status",
    "latency_ms",
    "bytes_in",
    "bytes_out",
    "client_ip",
    "upstream_host",
    "error_code",
)


def _compare_params(request: HttpRequest) -> tuple[str, list[str] | None]:
    window = request.GET.get("window", "1h")
    window = window if window in selectors.WINDOWS else "1h"
    try:
        route = str(uuid.UUID(request.GET.get("route", "")))
    except ValueError:
        route = None
    return window, [route] if route else None


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    window, route_ids = _compare_params(request)
    since, until = selectors.window_range(window)
    environments = selectors.environment_list()
    names = [e.name for e in environments]
    metrics = selectors.window_metrics(environments=names, route_ids=route_ids, since=since, until=until)
    series = selectors.time_series(
        environments=names, route_ids=route_ids, since=since, until=until, step=selectors.STEPS[window]
    )
    context = {
        "form": CompareForm(request.GET or None, initial={"window": window}),
        "window": window,
        "since": since,
        "until": until,
        "columns": [(e, metrics[e.name]) for e in environments],
        "charts": _compare_charts(environments, series, selectors.STEPS[window], until),
    }
    return render(request, _maybe_partial(request, "analytics/compare.html", "figures"), context)


def _compare_charts(
    environments: list, series: list[selectors.Series], step: timedelta, until: datetime
) -> list:
    colors, labels = environment_display_colors(), {e.name: e.label for e in environments}
    series = _from_first_traffic(series)
    starts = series[0].starts if series else []
    minutes = [_minutes_covered(start, step, until) for start in starts]

    def lines(value: Callable[[selectors.Metrics, int], float | None]) -> list:
        return [
            (
                s.environment,
                labels[s.environment],
                colors[s.environment],
                [value(p, i) for i, p in enumerate(s.points)],
            )
            for s in series
        ]

    return [
        line_chart("Requests per minute", starts, lines(lambda p, i: round(p.total / minutes[i], 1))),
        line_chart(
            "Error rate (%)",
            starts,
            lines(lambda p, _: None if p.error_rate is None else 100 * p.error_rate),
            fmt=lambda v: f"{v:.1f}%",
        ),
        line_chart("P95 latency (ms)", starts, lines(lambda p, _: p.p95), fmt=lambda v: f"{v:.0f} ms"),
    ]


def _minutes_covered(start: datetime, step: timedelta, until: datetime) -> int:
    """Minutes of a step the window has reached: the last step is often partial, and dividing its calls by
    the whole step would draw a drop at the right edge that never happened."""
    return max(1, math.ceil(min(step, until - start) / timedelta(minutes=1)))


def _from_first_traffic(series: list[selectors.Series]) -> list[selectors.Series]:
    """The same series starting at the first step any environment had traffic: an hour-old deployment in a
    7-day window fills the chart instead of a sliver at its right edge."""
    if not series:
        return series
    totals = [sum(s.points[i].total for s in series) for i in range(len(series[0].starts))]
    first = first_step_with_data(totals)
    return [selectors.Series(s.environment, s.starts[first:], s.points[first:]) for s in series]


STATUS_BANDS = (
    ("2xx", "2xx", "band-2xx"),
    ("3xx", "3xx", "band-3xx"),
    ("4xx", "4xx", "band-4xx"),
    ("5xx", "5xx", "band-5xx"),
    ("gateway", "Gateway errors", "band-gateway"),
)


def _status_charts(environments: list, now) -> list[dict]:
    """Per environment, calls per minute stacked by status class, over the last hour on one shared axis."""
    names = [e.name for e in environments]
    since = now - selectors.STATUS_CHART_WINDOW
    series = selectors.time_series(environments=names, since=since, until=now, step=timedelta(minutes=1))
    series = _from_first_traffic(series)
    charts = []
    for environment, s in zip(environments, series, strict=True):
        split = [p.status_classes() for p in s.points]
        bands = [Band(label, css, [c[key] for c in split]) for key, label, css in STATUS_BANDS]
        chart = stacked_bar_chart(f"{environment.label}: calls per minute by status", s.starts, bands)
        charts.append({"environment": environment, "chart": chart})
    return charts


def _maybe_partial(request: HttpRequest, template: str, partial: str) -> str:
    # The live script re-fetches only the figures region: same view, same selectors, one template.
    return f"{template}#{partial}" if request.GET.get("partial") == partial else template


@login_required
def health(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "cards": selectors.environment_health(now),
        "now": now,
        "window_minutes": 5,
        "status_charts": _status_charts(selectors.environment_list(), now),
    }
    return render(request, _maybe_partial(request, "analytics/health.html", "cards"), context)


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    form = RequestLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(selectors.request_log_filter(filters), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "analytics/requests.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@login_required
def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    entry = selectors.request_log_get(request_id)
    if entry is None:
        raise Http404("No request with that id.")
    return render(request, "analytics/request_detail.html", {"entry": entry})


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def request_export(request: HttpRequest) -> StreamingHttpResponse:
    form = RequestLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.request_log_filter(filters).values_list(*CSV_COLUMNS)
    response = StreamingHttpResponse(_csv_lines(rows.iterator(chunk_size=2000)), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="request-log.csv"'
    return response


def _csv_lines(rows) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def _cell(value):
    # A caller controls paths and queries; keep spreadsheets from running them as formulas.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
