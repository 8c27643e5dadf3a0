"""Downloads of the bureau's published documents: the printable notice (public) and the
establishment document (whoever may see the studio). reviews/documents.py builds them."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from portal import access, pdf
from reviews.models import Notice
from workshops.models import Studio


@require_GET
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """打印版: a published notice is public, like its page (no audit row: nothing personal in it)."""
    notice = get_object_or_404(Notice.objects.published(), pk=pk)
    return pdf.download(request, "reviews.notice", notice.pk, public=True, filename=f"{notice.title}.pdf")


@login_required
@require_GET
def establishment_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    studio = access.get_visible_or_404(request.user, Studio.objects.all(), pk=pk)
    if not studio.establishment_doc:
        raise Http404
    access.require(request.user, "document.establishment", studio)
    return pdf.download(request, "reviews.establishment", studio.pk, audit_obj=studio,
                        filename=f"设立文件（{studio.establishment_doc}）.pdf")
