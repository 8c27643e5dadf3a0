"""The public studio directory: no login, no personal data beyond what the seeds publish
(studio name, leader's name, unit, occupation, category, status)."""
from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from portal.models import City, District
from portal.pagecache import public_page
from portal.spreadsheet import SafeWriter
from workshops.models import Studio
from workshops.states import STUDIO_STATE_INFO, StudioState

PAGE_SIZE = 20
EXPORT_LIMIT = 20000


class DirectoryFilter(forms.Form):
    q = forms.CharField(label=_("工作室名称"), required=False, max_length=50)
    city = forms.ModelChoiceField(label=_("城市"), queryset=City.objects.filter(is_active=True), required=False,
                                  to_field_name="code", empty_label=_("全部城市"))
    district = forms.ModelChoiceField(label=_("县区/镇街"), queryset=District.objects.select_related("city"),
                                      required=False, empty_label=_("全部"))
    occupation = forms.CharField(label=_("职业（工种）"), required=False, max_length=50)
    category = forms.CharField(label=_("类别代码"), required=False, max_length=30)
    year = forms.IntegerField(label=_("设立年度"), required=False, min_value=2000, max_value=2100)
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("", _("全部"))] + list(StudioState.choices))


def directory_queryset(params: Any) -> tuple[DirectoryFilter, QuerySet[Studio]]:
    form = DirectoryFilter(params)
    qs = Studio.objects.public().select_related("city", "district", "organization", "leader").only(
        "name", "occupation", "category", "state", "established_on", "city__name", "city__code",
        "district__name", "organization__name", "leader__name")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            qs = qs.filter(name__icontains=data["q"])
        if data["city"]:
            qs = qs.filter(city=data["city"])
        if data["district"]:
            qs = qs.filter(district=data["district"])
        if data["occupation"]:
            qs = qs.filter(occupation__icontains=data["occupation"])
        if data["category"]:
            qs = qs.filter(category=data["category"])
        if data["year"]:
            qs = qs.filter(established_on__year=data["year"])
        if data["status"]:
            qs = qs.filter(state=data["status"])
    return form, qs.order_by("-established_on", "name", "pk")


def public_row(studio: Studio) -> dict[str, Any]:
    return {
        "id": studio.pk, "name": studio.name, "leader": studio.leader.name,
        "organization": studio.organization.name, "occupation": studio.occupation, "category": studio.category,
        "city": studio.city.name, "district": studio.district.name,
        "established_on": studio.established_on.isoformat(),
        "status": str(STUDIO_STATE_INFO[studio.state].public_label),
    }


@require_GET
@public_page
def directory(request: HttpRequest) -> HttpResponse:
    form, qs = directory_queryset(request.GET)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "public/directory.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "f": {k: request.GET.get(k, "")[:50] for k in DirectoryFilter.base_fields},
        "cities": City.objects.filter(is_active=True).only("code", "name"),
        "districts": District.objects.annotate(city_name=F("city__name")).only("name").order_by("city__code", "code"),
        "statuses": StudioState.choices,
    })


@require_GET
@public_page
def studio_detail(request: HttpRequest, pk: int) -> HttpResponse:
    studio = (Studio.objects.public().select_related("city", "district", "organization", "leader", "revocation")
              .filter(pk=pk).first())
    if studio is None:
        raise Http404
    # 予以通报: a revoked studio's page carries the revocation notice (平顶山 第十四条, 郑州 第十七条).
    revocation = getattr(studio, "revocation", None)
    ground = next((g for g in studio.policy.revocation.grounds if g.code == revocation.ground), None) \
        if revocation is not None else None
    return render(request, "public/studio.html", {"studio": studio, "row": public_row(studio),
                                                  "revocation": revocation, "revocation_ground": ground})


@require_GET
@public_page
def directory_json(request: HttpRequest) -> JsonResponse:
    _form, qs = directory_queryset(request.GET)
    rows = [public_row(s) for s in qs[:EXPORT_LIMIT]]
    return JsonResponse({"count": len(rows), "results": rows}, json_dumps_params={"ensure_ascii": False})


@require_GET
@public_page
def directory_csv(request: HttpRequest) -> HttpResponse:
    _form, qs = directory_queryset(request.GET)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="studios.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer = SafeWriter(csv.writer(response))
    writer.writerow(["编号", "工作室名称", "领办人", "依托单位", "职业（工种）", "类别", "城市", "县区/镇街",
                     "设立日期", "状态"])
    for s in qs[:EXPORT_LIMIT]:
        row = public_row(s)
        writer.writerow([row["id"], row["name"], row["leader"], row["organization"], row["occupation"],
                         row["category"], row["city"], row["district"], row["established_on"], row["status"]])
    return response
