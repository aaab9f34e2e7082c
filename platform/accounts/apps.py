from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and memberships"

    def ready(self) -> None:
        # Before any authenticator row is read: MFA secrets open only for their own row.
        from .mfa_adapter import connect_signals

        connect_signals()
