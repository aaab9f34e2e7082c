"""Key records in the public schema. Nothing here is usable without the provider: data keys
are stored only wrapped by the firm's KEK, and local KEKs only wrapped by the master key."""

from __future__ import annotations

from django.db import models

from firms.models import Firm


class DataKey(models.Model):
    """One version of a firm's data key (seals numbers and images) or blind-index key.

    The wrapped blob is what the provider returned for the encryption context
    {"firm": schema, "purpose": purpose, "version": str(version)}; the highest version of a
    purpose is the current one. Old versions stay so older ciphertexts still open.
    """

    class Purpose(models.TextChoices):
        DATA = "data", "data"
        INDEX = "index", "blind index"

    # PROTECT: deleting a firm must not silently drop its keys (that is crypto-shredding,
    # which keys.envelope.destroy_firm_key does on purpose and records).
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="data_keys")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    version = models.PositiveIntegerField()
    wrapped = models.BinaryField()
    # The provider and KEK that wrapped this version, so a firm keeps working when the
    # deployment's default provider changes.
    provider = models.CharField(max_length=20)
    key_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "purpose", "version"], name="keys_datakey_one_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key v{self.version} of firm {self.firm_id}"


class LocalKek(models.Model):
    """A firm's key-encryption key under the local provider: 32 random bytes wrapped by the
    master key (a file outside the database). Destroying it erases the wrapped bytes."""

    key_id = models.CharField(max_length=64, unique=True)
    wrapped_kek = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = "destroyed" if self.destroyed_at else "active"
        return f"local KEK {self.key_id} ({state})"


class RetiredKek(models.Model):
    """A KEK a rotation (or a switch to the firm's own key) replaced. It is destroyed at the
    provider (local: wrapped bytes erased; aws: deletion scheduled) as soon as no DataKey
    refers to it (keys.rotation.retire_unused_keks); until then it stays usable."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="retired_keks")
    provider = models.CharField(max_length=20)
    key_id = models.CharField(max_length=255)
    replaced_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "key_id"], name="keys_retiredkek_once")
        ]

    def __str__(self) -> str:
        state = "destroyed" if self.destroyed_at else "waiting"
        return f"retired {self.provider} KEK {self.key_id} of firm {self.firm_id} ({state})"


class KeyGeneration(models.Model):
    """A firm's key generation: a counter bumped in the same transaction as every change that
    must reach the keys other processes hold in memory (destroy, rotation, a switch to the
    firm's own key, a health check that finds the key refused). Each process reads it before
    using a cached key of the firm (keys.generation) and drops the firm's cached keys when it
    moved, so a revoked key stops working everywhere within KEY_GENERATION_CHECK_SECONDS,
    not after the cache lifetime. No row means generation 0."""

    # CASCADE, unlike the key rows: the counter guards nothing once the firm is gone (its
    # keys were destroyed before), and a process that still knows the firm sees "no row"
    # as a change and drops what it cached.
    firm = models.OneToOneField(
        Firm, on_delete=models.CASCADE, primary_key=True, related_name="key_generation"
    )
    generation = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"key generation {self.generation} of firm {self.firm_id}"


class PlatformKey(models.Model):
    """One version of the platform key (keys.platform_key): seals platform secrets (TOTP
    secrets, audit-export job files), never firm data. Stored only wrapped by the platform
    KEK at the provider, with the encryption context {"purpose": "platform", "version": "N"};
    the highest version is current, older ones stay to open what they sealed."""

    version = models.PositiveIntegerField(unique=True)
    wrapped = models.BinaryField()
    provider = models.CharField(max_length=20)
    key_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"platform key v{self.version} ({self.provider})"
