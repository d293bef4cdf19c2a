from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        # The rollups follow task and job moves in their transaction; the engine below us only knows observers.
        from requests_app.selectors import request_page_part
        from tasks.engine.observers import observers_connect

        from . import pages, rollups

        observers_connect(rollups)
        request_page_part(pages.request_progress)
