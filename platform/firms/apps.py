from django.apps import AppConfig


class FirmsConfig(AppConfig):
    name = "firms"
    verbose_name = "Firms (tenants)"

    def ready(self) -> None:
        # Connections that served many firms' schemas are closed at a request's or task's end.
        from config.db_recycling import connect_signals

        connect_signals()
