"""The Celery application; tasks live in each app's tasks.py and the schedule in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "knoxcall.settings")

app = Celery("knoxcall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
