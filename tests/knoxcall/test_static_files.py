"""The console's static files come from the ASGI app itself, asynchronously, with no per-file warning."""

import warnings
from pathlib import Path

from django.contrib.staticfiles import finders


def test_it_serves_static_files_under_asgi_without_the_sync_iterator_warning(gateway):
    expected = Path(finders.find("css/app.css")).read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        css = gateway.client.get("/static/css/app.css")
        htmx = gateway.client.get("/static/django_htmx/htmx-2.min.js")
    assert css.status_code == 200 and css.content == expected
    assert css.headers["content-type"].startswith("text/css")
    assert htmx.status_code == 200 and b"htmx" in htmx.content[:2000]
    assert [str(w.message) for w in caught if "StreamingHttpResponse" in str(w.message)] == []


def test_it_answers_404_for_a_missing_static_file(gateway):
    assert gateway.client.get("/static/css/missing.css").status_code == 404
