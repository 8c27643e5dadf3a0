"""Links to an application's PDFs: `{% load documents_links %}{% application_documents app as docs %}`."""
from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def application_documents(app: Any) -> list[dict[str, str]]:
    """The documents the application's city asks for (申报表 first): url, short label, full title, 附件 mark."""
    from workshops.documents import documents_for

    return [{"url": reverse("workshops:application_pdf", args=[app.pk]) if doc.slug == "form"
             else reverse("workshops:application_document", args=[app.pk, doc.slug]),
             "label": title.text.partition("工作室")[2] or title.text, "title": title.text,
             "mark": title.attachment_mark}
            for doc, title in documents_for(app)]


@register.simple_tag
def may_download(user: Any, action: str, obj: Any) -> bool:
    """`{% may_download request.user "document.plaque" plaque as ok %}`: show a link only to those it serves."""
    from portal import access

    return access.can(user, action, obj)
