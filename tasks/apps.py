from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self):
        from tasks.errors import classification  # noqa: F401  (connects the signals that drop cached error rules and codes)
