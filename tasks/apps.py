from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self):
        from . import errors  # noqa: F401  (connects the signals that drop cached error rules and codes)
