from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self):
        # Signals that drop cached error rules and codes; the task actions registered with the operation runner.
        from tasks.errors import classification  # noqa: F401
        from tasks.operations import task_actions  # noqa: F401
