"""Run the concurrency scenario against DATABASE_URL (a PostgreSQL database of the test's own); print JSON."""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from analytics.models import MetricBucket, RequestLog  # noqa: E402
from tests.analytics.concurrency import scenario  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
MetricBucket.objects.all().delete()
RequestLog.objects.all().delete()
print(json.dumps(scenario(out_of_order=True)))
