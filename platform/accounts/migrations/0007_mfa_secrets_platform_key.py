"""Re-seal MFA secrets under the platform key, bound to their authenticator row (issue 16).

Before, accounts.mfa_adapter sealed every TOTP secret and recovery-code seed with AES-GCM under
an HKDF of SECRET_KEY, prefix "v1:", associated data naming nothing but allauth. Those values
are opened here, with the SECRET_KEY of the deployment that runs the migration, and sealed
again as the adapter now does ("mfa2:", the platform key, the row's binding). Values without
a known prefix are left as they are: the adapter refuses them (the user enrols again), as it
must refuse anything that could be plaintext written into the table.

Run the migration before rotating SECRET_KEY. There is no way back to the SECRET_KEY scheme:
reversing does nothing.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import migrations

LEGACY_PREFIX = "v1:"


def _legacy_open(value: str) -> str:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mfa-secret-at-rest").derive(
        settings.SECRET_KEY.encode()
    )
    raw = base64.urlsafe_b64decode(value[len(LEGACY_PREFIX) :])
    return AESGCM(key).decrypt(raw[:12], raw[12:], b"allauth.mfa").decode()


def reseal_mfa_secrets(apps: Any, schema_editor: Any) -> None:
    from accounts.mfa_adapter import binding, seal_bound

    Authenticator = apps.get_model("mfa", "Authenticator")
    for row in Authenticator.objects.all().iterator():
        if not isinstance(row.data, dict):
            continue

        def reseal(value: Any, field: str, row: Any = row) -> Any:
            if not isinstance(value, str) or not value.startswith(LEGACY_PREFIX):
                return value
            bound = binding(
                user_id=row.user_id, authenticator_id=row.pk, kind=row.type, field=field
            )
            return seal_bound(_legacy_open(value), bound)

        data: dict[str, Any] = {}
        for field, value in row.data.items():
            if isinstance(value, list):
                data[field] = [reseal(item, field) for item in value]
            else:
                data[field] = reseal(value, field)
        if data != row.data:
            Authenticator.objects.filter(pk=row.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_user_language"),
        ("mfa", "0003_authenticator_type_uniq"),
        ("keys", "0004_platform_key"),
    ]

    operations = [migrations.RunPython(reseal_mfa_secrets, migrations.RunPython.noop)]
