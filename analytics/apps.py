from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        # The proxy hands its call records to whatever writer is installed (it cannot import analytics,
        # which sits above routing): the request-log writer is that writer in every process.
        from routing.proxy import records

        from . import recorder

        records.install(recorder)
