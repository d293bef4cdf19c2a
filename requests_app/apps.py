from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Production requests"

    def ready(self):
        from requests_app import registration  # noqa: F401 - registers task registration with the operation runner
