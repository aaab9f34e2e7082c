"""The Celery app. The firm's schema travels with every task (tenant-schemas-celery), and beat
entries name the schema they run in."""

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


class NumberInTaskArguments(ValueError):
    """A task was about to carry something shaped like a My Number to the broker."""


class CustodyCeleryApp(TenantAwareCeleryApp):
    # Every task declares its authorization action, or it does not run (authz.jobs).
    task_cls = "authz.jobs:AuthorizedTask"

    def send_task(self, name, args=None, kwargs=None, **options):
        """Task arguments sit in the broker (Redis, files) in plaintext: refuse to send one
        that carries anything shaped like a number. Tasks take ids, never numbers."""
        from config.scrub import NUMBER_SHAPED, UUID_TEXT

        if NUMBER_SHAPED.search(UUID_TEXT.sub("<id>", repr((args, kwargs)))):
            raise NumberInTaskArguments(f"task {name} refused: an argument looks like a My Number")
        return super().send_task(name, args=args, kwargs=kwargs, **options)


def send_or_log(task, args: list, *, what: str, **options) -> bool:
    """Send a task; with the broker down, log `TASK_NOT_SENT` and return False instead of
    failing the request that asked for it (docs/decisions.md D25). The caller decides what a
    False means: a sweep or dispatcher sends it later, or the job is marked not started."""
    import logging

    from kombu.exceptions import OperationalError

    try:
        task.apply_async(args=args, **options)
    except (OperationalError, OSError) as error:
        logging.getLogger("config.celery").warning(
            "TASK_NOT_SENT %s: the broker is unreachable (%s)",
            what, type(error).__name__,
        )  # fmt: skip
        return False
    return True


app = CustodyCeleryApp("custody")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, **kwargs):
    """kombu's filesystem transport (the no-server default) needs its folders to exist."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
