"""20 concurrent override writes to one route against DATABASE_URL (a PostgreSQL database of the test's
own), each thread with its own connection; print the revision numbers as JSON."""

import json
import os
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from environments.audit import SYSTEM  # noqa: E402
from environments.models import Environment  # noqa: E402
from environments.services import environment_create  # noqa: E402
from routing.models import Route, RouteRevision  # noqa: E402
from routing.services import route_create, route_override_update  # noqa: E402

WRITERS = 20

call_command("migrate", verbosity=0, interactive=False)
staging = Environment.objects.filter(name="staging").first() or environment_create(
    actor=SYSTEM, name="staging"
)
route = route_create(actor=SYSTEM, name="Contended", target_base_url="http://127.0.0.1:9")
connection.close()
barrier, errors = threading.Barrier(WRITERS), []


def write(i: int) -> None:
    try:
        barrier.wait()
        route_override_update(
            actor=SYSTEM, route=Route(pk=route.pk), environment=staging, timeout_ms=1000 + i
        )
    except Exception as exc:  # reported to the test, which fails on any
        errors.append(repr(exc))
    finally:
        connection.close()


threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
numbers = list(
    RouteRevision.objects.filter(route_id=route.pk).order_by("number").values_list("number", flat=True)
)
print(json.dumps({"numbers": numbers, "errors": errors}))
