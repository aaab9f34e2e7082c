"""The `page_title` template filter, a builtin of every template (settings.TEMPLATES).

base.html wraps its title block in it: a page's own title, a separator, then the product's
name, or the product's name alone when the page names nothing. A Django template cannot ask
whether a child filled a block, so the filter reads what the block rendered."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter(is_safe=True)
def page_title(rendered: str) -> str:
    product = gettext("マイナンバー保管サービス")
    own = " ".join(str(rendered).split())
    return f"{own} | {product}" if own else product
