"""TOTP secrets are stored encrypted (allauth stores them as given by default)."""

from __future__ import annotations

import base64
import os

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "v1:"


def _key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mfa-secret-at-rest").derive(
        settings.SECRET_KEY.encode()
    )


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(_key()).encrypt(nonce, text.encode(), b"allauth.mfa")
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(PREFIX):
            return encrypted_text
        raw = base64.urlsafe_b64decode(encrypted_text[len(PREFIX) :])
        return AESGCM(_key()).decrypt(raw[:12], raw[12:], b"allauth.mfa").decode()
