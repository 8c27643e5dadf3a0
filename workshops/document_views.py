"""Downloads of the unit's and the studio's documents as PDFs (workshops/documents.py builds them).

Access first, as everywhere: out of scope → 404, visible but not allowed → 403. Every download is
audited (`document.download`); the PDF itself comes from portal.pdf, which serves the stored copy
or renders it off the request path and shows progress.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from portal import access, pdf
from workshops.documents import APPLICATION_DOCUMENTS, FULL, sheet_for_assessment
from workshops.models import Application, Assessment, Plaque, Revocation, Studio
from workshops.states import StudioState


@login_required
@require_GET
def application_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The city's application form (申报表), for whoever may see the application."""
    return application_document(request, pk, "form")


@login_required
@require_GET
def application_document(request: HttpRequest, pk: int, doc: str) -> HttpResponse:
    app = access.get_visible_or_404(request.user, Application.objects.select_related("round__city", "organization"),
                                    pk=pk)
    access.require(request.user, "application.view", app)
    spec = APPLICATION_DOCUMENTS.get(doc)
    if spec is None or not spec.offered(app.policy):
        raise Http404
    full = spec.shows_personal_numbers and access.can(request.user, "document.application_unmasked", app)
    title = spec.title(app.policy)
    return pdf.download(request, spec.kind, app.pk, variant=FULL if full else "", audit_obj=app,
                        filename=f"{title.text}（{app.studio_name or app.pk}）.pdf")


@login_required
@require_GET
def plaque_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The plaque certificate: the studio's unit and the city's staff."""
    studios = access.visible(request.user, Studio.objects.all())
    plaque = get_object_or_404(Plaque.objects.select_related("studio").filter(studio__in=studios), pk=pk)
    access.require(request.user, "document.plaque", plaque)
    return pdf.download(request, "workshops.plaque", plaque.pk, audit_obj=plaque,
                        filename=f"{plaque.studio.name}牌匾证书（{plaque.number}）.pdf")


@login_required
@require_GET
def assessment_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The 绩效评估表 of a recorded assessment (cities whose policy has a scoring table, e.g. 温州)."""
    studios = access.visible(request.user, Studio.objects.all())
    assessment = get_object_or_404(Assessment.objects.select_related("studio__city").filter(studio__in=studios), pk=pk)
    access.require(request.user, "document.assessment_sheet", assessment)
    if sheet_for_assessment(assessment) is None:
        raise Http404
    return pdf.download(request, "workshops.assessment_sheet", assessment.pk, audit_obj=assessment,
                        filename=f"{assessment.studio.name}绩效评估表（{assessment.period}）.pdf")


@require_GET
def revocation_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The 通报 of a revoked studio: public, like the directory that lists it as revoked."""
    revoked = Revocation.objects.select_related("studio").filter(studio__state=StudioState.REVOKED)
    revocation = get_object_or_404(revoked, studio_id=pk)
    return pdf.download(request, "workshops.revocation_notice", revocation.pk, public=True,
                        filename=f"关于撤销{revocation.studio.name}称号的通报.pdf")
