"""Public pages about notices (公示): home, notice list and detail, the objection form, open data.

Nothing here reads personal-data tables: notice entries carry the published fields as copied at
publication (reviews.models.NoticeEntry), and objections are write-only from the public side.
"""
from __future__ import annotations

import csv
import time
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.syndication.views import Feed
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from portal.audit import client_ip
from portal.models import City
from portal.pagecache import public_page
from portal.policies import PolicyNotFound, get_policy
from portal.spreadsheet import SafeWriter
from reviews import notices
from reviews.models import Notice, NoticeEntry
from workshops.models import Round, Studio

PAGE_SIZE = 20
MIN_FORM_SECONDS = 3  # a person takes longer than this to read a notice and type an objection
FORM_MAX_AGE = 2 * 3600


def published_notices(city_code: str = "") -> QuerySet[Notice]:
    qs = Notice.objects.published().select_related("city").annotate(entry_count=Count("entries"))
    if city_code:
        qs = qs.filter(city__code=city_code)
    return qs.order_by("-starts_on", "-pk")


@require_GET
@public_page
def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    cities = []
    for city in City.objects.filter(is_active=True).order_by("code"):
        try:
            policy = get_policy(city.code, today)
        except PolicyNotFound:
            policy = None
        cities.append({"city": city, "policy": policy})
    open_rounds = Round.objects.filter(opens_on__lte=today, closes_on__gte=today).select_related("city")
    return render(request, "public/home.html", {
        "cities": cities, "today": today, "open_rounds": open_rounds,
        "current_notices": published_notices().filter(starts_on__lte=today, ends_on__gte=today)[:10],
        "studio_count": Studio.objects.public().count(),
    })


@require_GET
@public_page
def notice_list(request: HttpRequest) -> HttpResponse:
    city = request.GET.get("city", "")[:30]
    page = Paginator(published_notices(city), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "public/notice_list.html", {
        "page": page, "city": city, "cities": City.objects.filter(is_active=True), "today": timezone.localdate(),
        "query": urlencode({"city": city}) if city else ""})


def _published_or_404(pk: int) -> Notice:
    return get_object_or_404(Notice.objects.published().select_related("city"), pk=pk)


@require_GET
@public_page
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _published_or_404(pk)
    return render(request, "public/notice_detail.html", {
        "notice": notice, "entries": notice.entries.all(), "is_open": notice.is_open_on(timezone.localdate())})


class PublicObjectionForm(forms.Form):
    entry = forms.ModelChoiceField(label=gettext_lazy("异议对象（工作室）"), queryset=NoticeEntry.objects.none(),
                                   empty_label=gettext_lazy("请选择"))
    name = forms.CharField(label=gettext_lazy("您的姓名"), max_length=50)
    phone = forms.RegexField(label=gettext_lazy("联系电话"), regex=r"^[0-9+\-\s]{7,20}$", max_length=20,
                             error_messages={"invalid": gettext_lazy("请填写有效的联系电话（7至20位数字）。")})
    email = forms.EmailField(label=gettext_lazy("电子邮箱（选填）"), required=False)
    reason = forms.CharField(label=gettext_lazy("异议事由"), widget=forms.Textarea(attrs={"rows": 6}),
                             min_length=10, max_length=5000)
    evidence = forms.FileField(label=gettext_lazy("证明材料（选填，PDF/JPG/PNG）"), required=False)
    # Spam resistance without third parties: a field people never see, and a signed render time.
    website = forms.CharField(required=False, label=gettext_lazy("请勿填写此项"))
    ts = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, notice: Notice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entry"].queryset = notice.entries.all()
        self.fields["entry"].label_from_instance = lambda e: f"{e.studio_name}（{e.organization_name}）"
        if not self.is_bound:
            self.initial["ts"] = signing.TimestampSigner(salt="objection-form").sign(str(notice.pk))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("website"):
            raise ValidationError(_("提交未通过校验，请刷新页面后重新填写。"))
        token = data.get("ts", "")
        try:
            signing.TimestampSigner(salt="objection-form").unsign(token, max_age=FORM_MAX_AGE)
            age = time.time() - signing.b62_decode(token.rsplit(":", 2)[1])
        except (signing.BadSignature, IndexError, ValueError):
            # A stale or forged token: the form keeps what was typed and carries a fresh token.
            self.data = self.data.copy()
            self.data["ts"] = signing.TimestampSigner(salt="objection-form").sign(token.split(":", 1)[0])
            raise ValidationError(_("页面已过期，请重新提交（您填写的内容已保留）。")) from None
        if age < MIN_FORM_SECONDS:
            raise ValidationError(_("提交过快，请确认内容后再提交。"))
        return data



@require_http_methods(["GET", "POST"])
def objection_form(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _published_or_404(pk)
    today = timezone.localdate()
    if not notice.is_open_on(today):
        return render(request, "public/objection_closed.html", {"notice": notice, "today": today}, status=200)
    form = PublicObjectionForm(request.POST or None, request.FILES or None, notice=notice)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notices.do_submit_objection(notice, entry=data["entry"], name=data["name"], phone=data["phone"],
                                        email=data["email"], reason=data["reason"], evidence=data["evidence"],
                                        source_ip=client_ip(request) or "unknown", on=today)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(reverse("public:objection_done", args=[notice.pk]))
    return render(request, "public/objection_form.html", {"notice": notice, "form": form})


@require_GET
def objection_done(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "public/objection_done.html", {"notice": _published_or_404(pk)})


def notice_row(notice: Notice, entries: list[NoticeEntry]) -> dict[str, Any]:
    return {
        "id": notice.pk, "title": notice.title, "city": notice.city.name, "starts_on": notice.starts_on.isoformat(),
        "ends_on": notice.ends_on.isoformat(), "working_days": notice.working_days,
        "url": reverse("public:notice", args=[notice.pk]),
        "entries": [{"studio_name": e.studio_name, "leader": e.leader_name, "organization": e.organization_name,
                     "occupation": e.occupation, "category": e.category_label, "district": e.district_name}
                    for e in entries],
    }


def _with_entries(qs: QuerySet[Notice], limit: int = 500) -> list[tuple[Notice, list[NoticeEntry]]]:
    notices_page = list(qs[:limit])
    by_notice: dict[int, list[NoticeEntry]] = {n.pk: [] for n in notices_page}
    for entry in NoticeEntry.objects.filter(notice_id__in=by_notice).order_by("notice_id", "position"):
        by_notice[entry.notice_id].append(entry)
    return [(n, by_notice[n.pk]) for n in notices_page]


@require_GET
@public_page
def notices_json(request: HttpRequest) -> JsonResponse:
    rows = [notice_row(n, e) for n, e in _with_entries(published_notices(request.GET.get("city", "")[:30]))]
    return JsonResponse({"count": len(rows), "results": rows}, json_dumps_params={"ensure_ascii": False})


@require_GET
@public_page
def notices_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="notices.csv"'
    response.write("\ufeff")
    writer = SafeWriter(csv.writer(response))
    writer.writerow(["公示编号", "公示标题", "城市", "开始日期", "结束日期", "工作室名称", "领办人", "依托单位",
                     "职业（工种）", "类别", "县区/镇街"])
    for notice, entries in _with_entries(published_notices(request.GET.get("city", "")[:30])):
        for e in entries:
            writer.writerow([notice.pk, notice.title, notice.city.name, notice.starts_on, notice.ends_on,
                             e.studio_name, e.leader_name, e.organization_name, e.occupation, e.category_label,
                             e.district_name])
    return response


class NoticeFeed(Feed):
    feed_type = Atom1Feed
    title = "技能大师工作室公示"
    link = "/notices/"
    subtitle = "各市技能大师工作室拟设立名单公示"

    def items(self) -> list[Notice]:
        return list(published_notices()[:50])

    def item_title(self, item: Notice) -> str:
        return item.title

    def item_description(self, item: Notice) -> str:
        return _("%(city)s，公示期 %(start)s 至 %(end)s，共 %(n)d 个工作室。") % {
            "city": item.city.name, "start": item.starts_on, "end": item.ends_on, "n": item.entry_count}

    def item_link(self, item: Notice) -> str:
        return reverse("public:notice", args=[item.pk])

    def item_pubdate(self, item: Notice) -> Any:
        return item.published_at
