"""Errors of the retention services; messages are safe to show and never hold a number."""

from django.utils.translation import gettext_lazy as _

from tenants.custody.errors import CustodyError


class OutsideTheLaw(CustodyError):
    message = _("保存期間は法定の期間より短くできず、法令が認める上限より長くもできません。")
