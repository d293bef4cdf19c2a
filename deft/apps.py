from django.apps import AppConfig


class DeftConfig(AppConfig):
    name = "deft"
    verbose_name = "DEFT core"

    def ready(self):
        from . import lookups  # noqa: F401 - registers the `glob` lookup
