"""The Celery app: bulk submission, bulk actions, splitting, merging and the executor's clock."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deft.settings")

app = Celery("deft")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery task modules are named workers.py, so that the app `tasks/` never holds a tasks/tasks.py.
app.autodiscover_tasks(related_name="workers")
