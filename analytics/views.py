"""Analytics pages and the environments JSON: access check, one selector, render. No writes here."""

import csv
import uuid
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from . import dashboards, selectors
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
    "error_detail",
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
        "verdicts": selectors.environment_verdicts(environments, metrics),
        "charts": dashboards.compare_charts(environments, series, selectors.STEPS[window], until),
    }
    return render(request, _maybe_partial(request, "analytics/compare.html", "figures"), context)


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
        "status_charts": dashboards.status_charts(selectors.environment_list(), now),
    }
    return render(request, _maybe_partial(request, "analytics/health.html", "cards"), context)


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    form = RequestLogFilterForm(request.GET or None)
    page = selectors.request_log_page(
        form.logs(),
        newest_first=form.values().get("order") != "oldest",
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    query = request.GET.copy()
    for position in ("after", "before", "page"):
        query.pop(position, None)
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
    rows = RequestLogFilterForm(request.GET or None).logs().values_list(*CSV_COLUMNS)
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
