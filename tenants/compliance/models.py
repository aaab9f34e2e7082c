"""Each generated version of a firm's compliance documents (firm schema).

A version keeps the facts it was generated from (never a number: names, roles, purposes,
periods, settings) and their fingerprint; the PDF and the CSV are drawn from those facts on
each download, so a version always reads the same. A policy's version also records its
adoption by an owner."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ComplianceDocument(models.Model):
    kind = models.CharField(_("書類"), max_length=40)
    version = models.PositiveIntegerField(_("版"))
    facts = models.JSONField(_("作成時の内容"))
    fingerprint = models.CharField(max_length=64)
    generated_at = models.DateTimeField(_("作成日時"))
    generated_by = models.CharField(_("作成者"), max_length=254)
    adopted_at = models.DateTimeField(_("採択日時"), null=True, blank=True)
    adopted_by = models.CharField(_("採択者"), max_length=254, blank=True)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="compliance_one_version"),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="compliance_version_positive"
            ),
            # Adopted together: a date without who adopted it proves nothing.
            models.CheckConstraint(
                condition=(
                    models.Q(adopted_at__isnull=True, adopted_by="")
                    | (models.Q(adopted_at__isnull=False) & ~models.Q(adopted_by=""))
                ),
                name="compliance_adoption_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"
