"""Dashboards, lists and exports for the bureaus' staff.

The figures come from reviews/dashboards.py (aggregates in the database, one jurisdiction each), the
lists and files from reviews/exports.py. Every view starts from `dashboards.scope_for(user)`, which
answers 403 to a role without a dashboard; nothing outside the user's city (or district) is counted.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import access, pdf
from portal.models import City, District
from reviews import charts, dashboards, exports
from reviews.models import ExportJob
from workshops.states import STAGE_STATES, AppState

GET = ["GET", "HEAD"]
POST = ["POST"]
CHART_ROWS = 15
GRID_WIDTH = 500  # charts two to a row (dashboards.css .chart-grid)


@dataclass(frozen=True)
class Tab:
    code: str
    label: str
    url: str


def _tabs() -> list[Tab]:
    return [Tab("overview", _("总览"), reverse("reviews:dashboard")),
            Tab("review", _("评审进度"), reverse("reviews:dashboard_review")),
            Tab("money", _("资金"), reverse("reviews:dashboard_money")),
            Tab("assessment", _("考核"), reverse("reviews:dashboard_assessment")),
            Tab("data", _("数据查询与导出"), reverse("reviews:data", args=["studios"])),
            Tab("exports", _("我的导出"), reverse("reviews:exports"))]


def _prime_header(user: Any, scope: dashboards.Scope) -> None:
    """The page header names the user's city and district (User.jurisdiction_label): hand it the ones the
    cached scope already holds instead of two or three queries on every view."""
    city = City(pk=scope.city_id, code=scope.city_code, name=scope.city_name)
    if user.city_id == city.pk:
        user.city = city
    if scope.district_id is not None and user.district_id == scope.district_id:
        user.district = District(pk=scope.district_id, city=city, name=scope.district_name)


def _page(request: HttpRequest, template: str, tab: str, scope: dashboards.Scope, context: dict[str, Any],
          status: int = 200) -> HttpResponse:
    _prime_header(request.user, scope)
    return render(request, template, {"tabs": _tabs(), "tab": tab, "scope": scope,
                                      "today": timezone.localdate(), **context}, status=status)


def _dashboard(request: HttpRequest, tab: str, title: str, template: str, params: tuple[Any, ...],
               build: Callable[[dashboards.Scope, date], dict[str, Any]]) -> HttpResponse:
    """A dashboard page: its body is rendered without the request and cached per jurisdiction, keyed by
    the page's parameters and the data version (dashboards.cached), so a repeat view costs a cache read;
    the shell around it (header, tabs) is the user's."""
    user = request.user
    scope = dashboards.scope_for(user)
    today = timezone.localdate()
    can_report = access.can(user, "dashboard.city_report", SimpleCity(scope.city_id))

    def body() -> str:
        return render_to_string(template, {
            "scope": scope, "today": today, "can_report": can_report,
            "report_year": today.year - 1 if today.month <= 3 else today.year, **build(scope, today)})

    html = dashboards.cached(scope, f"page-{tab}", (today, can_report, *params), body)
    return _page(request, "dashboards/base.html", tab, scope, {"title": title, "body": mark_safe(html)})


@dataclass(frozen=True)
class SimpleCity:
    """The rule only compares primary keys; no need to load the city for it."""

    pk: int


def _year(request: HttpRequest, default: int) -> int:
    raw = request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= default + 1:
        return int(raw)
    return default


# --- the dashboards -----------------------------------------------------------------------------------

@login_required
@require_http_methods(GET)
def overview(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "overview", _("统计分析"), "dashboards/overview.html", (), _overview)


def _overview(scope: dashboards.Scope, today: date) -> dict[str, Any]:
    studios = dashboards.studio_counts(scope)
    apps = dashboards.application_counts(scope)
    cash = dashboards.money(scope, today)
    figures = {
        "state": charts.hbar([(t.label, t.n) for t in studios.by_state], title=_("工作室按状态"), unit=_("个"),
                             width=GRID_WIDTH),
        "district": charts.hbar([(r.name, r.total) for r in studios.by_district[:CHART_ROWS]],
                                title=_("工作室按县区/镇街"), unit=_("个")),
        "year": charts.columns([t.key for t in studios.by_year],
                               [charts.Series(_("设立数"), [t.n for t in studios.by_year])],
                               title=_("工作室按设立年度"), width=GRID_WIDTH) if studios.by_year else "",
        "category": charts.hbar([(t.label, t.n) for t in studios.by_category], title=_("工作室按类别"),
                                unit=_("个"), width=GRID_WIDTH),
        "occupation": charts.hbar([(t.label, t.n) for t in studios.by_occupation], title=_("工作室按职业（工种）"),
                                  unit=_("个"), width=GRID_WIDTH),
    }
    groups = _app_year_columns()
    return {"studios": studios, "apps": apps, "late": dashboards.overdue(scope, today),
            "assessed": dashboards.assessments(scope, today.year, today), "money_year": cash.year(today.year),
            "money": cash, "charts": figures, "app_columns": [label for label, _states in groups],
            "app_rows": [(y.year, y.total, [y.count(*states) for _label, states in groups]) for y in apps.by_year]}


def _app_year_columns() -> list[tuple[str, tuple[str, ...]]]:
    return [(_("审查中"), (*STAGE_STATES.values(), AppState.ON_NOTICE, AppState.RETURNED)),
            (_("已批准设立"), (AppState.APPROVED,)), (_("备选"), (AppState.BACKUP,)),
            (_("未通过"), (AppState.REJECTED,)), (_("撤回"), (AppState.WITHDRAWN,)),
            (_("撤销资格"), (AppState.DISQUALIFIED,))]


@login_required
@require_http_methods(GET)
def review(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("round", "")
    wanted = int(raw) if raw.isdigit() and len(raw) < 10 else None

    def build(scope: dashboards.Scope, today: date) -> dict[str, Any]:
        rounds = dashboards.rounds(scope)
        chosen = next((r for r in rounds if r.pk == wanted), rounds[0] if rounds else None)
        flow = dashboards.funnel(scope, chosen) if chosen else None
        late = dashboards.overdue(scope, today)
        figures: dict[str, Any] = {}
        if flow:
            steps = [(_("提交申报"), flow.submitted, "")]
            for step in flow.steps:
                steps.append((step.label, step.entered, "，".join(f"{d.label}{d.n}" for d in step.dropouts)))
            steps.append((_("批准设立"), flow.approved, _("已发文设立%(n)d个") % {"n": flow.established}))
            figures["funnel"] = charts.funnel(steps, title=_("%(round)s：评审漏斗") % {"round": flow.round_title})
        if late.groups:
            by_what: dict[str, int] = {}
            for g in late.groups:
                by_what[g.what] = by_what.get(g.what, 0) + g.n
            figures["overdue"] = charts.hbar(sorted(by_what.items(), key=lambda kv: -kv[1]),
                                             title=_("逾期事项按环节"), unit=_("项"), color=charts.PALETTE[1])
        return {"rounds": rounds, "chosen": chosen, "flow": flow, "late": late, "charts": figures}

    return _dashboard(request, "review", _("评审进度"), "dashboards/review.html", (wanted,), build)


@login_required
@require_http_methods(GET)
def money(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "money", _("资金"), "dashboards/money.html", (), _money)


def _money(scope: dashboards.Scope, today: date) -> dict[str, Any]:
    cash = dashboards.money(scope, today)
    recent = cash.years[-12:]
    figures = {}
    if recent:
        figures["years"] = charts.columns(
            [str(y.year) for y in recent],
            [charts.Series(_("承诺"), [y.committed for y in recent]),
             charts.Series(_("已拨付"), [y.paid for y in recent])],
            title=_("资金按年度（万元）"), fmt=charts.wan, width=720)
    return {"money": cash, "charts": figures}


@login_required
@require_http_methods(GET)
def assessment(request: HttpRequest) -> HttpResponse:
    year = _year(request, timezone.localdate().year)

    def build(scope: dashboards.Scope, today: date) -> dict[str, Any]:
        assessed = dashboards.assessments(scope, year, today)
        figures = {}
        rows = list(reversed(assessed.results[:8]))
        if rows:
            figures["grades"] = charts.columns(
                [str(r.period) for r in rows],
                [charts.Series(g.label, [r.counts.get(g.key, 0) for r in rows]) for g in assessed.grades],
                title=_("考核结果按年度和等级"), stacked=True, unit=_("个"))
        return {"assessed": assessed, "year": year, "years": list(range(today.year + 1, today.year - 6, -1)),
                "charts": figures}

    return _dashboard(request, "assessment", _("考核"), "dashboards/assessment.html", (year,), build)


@login_required
@require_http_methods(GET)
def yearly_report(request: HttpRequest, year: int) -> HttpResponse:
    """The city's yearly summary as a PDF (portal.pdf: from the store, or rendered by a task with a
    progress page); each download is audited on the city."""
    user = request.user
    dashboards.scope_for(user)
    city = City.objects.filter(pk=user.city_id).first()
    access.require(user, "dashboard.city_report", city)
    if not 2000 <= year <= timezone.localdate().year:
        raise Http404
    filename = _("%(city)s技能大师工作室%(year)d年度工作统计报告.pdf") % {"city": city.name, "year": year}
    return pdf.download(request, "reviews.yearly_report", city.pk, variant=str(year), audit_obj=city,
                        filename=filename)


# --- lists and exports ----------------------------------------------------------------------------

def _dataset(code: str) -> exports.Dataset:
    dataset = exports.dataset_or_none(code)
    if dataset is None:
        raise Http404
    return dataset


@login_required
@require_http_methods(GET)
def data_list(request: HttpRequest, dataset: str) -> HttpResponse:
    found = exports.listing(_dataset(dataset), request.user, request.GET)
    valid = not found.form.is_bound or found.form.is_valid()
    rows = found.rows if valid else found.dataset.base(found.scope).none()
    page = Paginator(rows, exports.PAGE_SIZE).get_page(request.GET.get("page"))
    listed = [c for c in found.columns if c.listed]
    query = exports.querystring(request.GET, found.form) if valid else ""
    return _page(request, "dashboards/data.html", "data", found.scope, {
        "found": found, "datasets": exports.DATASETS.values(), "columns": listed, "page": page,
        "rows": [[(str(c.header), exports.display(v)) for c, v in zip(listed, found.cells(obj, listed_only=True),
                                                                      strict=True)] for obj in page],
        "query": query,
        "formats": ExportJob.Format.choices, "inline_rows": exports._inline_rows()},
        status=200 if valid else 400)


@login_required
@require_http_methods(POST)
def export_create(request: HttpRequest, dataset: str) -> HttpResponse:
    data = _dataset(dataset)
    try:
        job = exports.do_create_export(data, actor=request.user, data=request.GET, fmt=request.POST.get("format", ""))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect(f"{reverse('reviews:data', args=[data.code])}?{request.GET.urlencode()}")
    if job.state == ExportJob.State.DONE:
        return exports.do_download_export(job, actor=request.user, request=request)
    messages.info(request, _("共 %(n)d 行，正在后台生成，完成后可在本页下载。") % {"n": job.total_rows})
    return redirect("reviews:export_job", pk=job.pk)


def _job_or_404(request: HttpRequest, pk: int) -> ExportJob:
    dashboards.scope_for(request.user)
    return access.get_visible_or_404(request.user, ExportJob.objects.defer("content"), pk=pk)


@login_required
@require_http_methods(GET)
def export_list(request: HttpRequest) -> HttpResponse:
    scope = dashboards.scope_for(request.user)
    jobs = access.visible(request.user, ExportJob.objects.defer("content"))[:50]
    return _page(request, "dashboards/exports.html", "exports", scope, {"jobs": jobs})


@login_required
@require_http_methods(GET)
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    context = {"job": job, "refresh": not job.is_finished}
    if request.headers.get("HX-Request"):
        response = render(request, "dashboards/_export_status.html", context)
    else:
        response = _page(request, "dashboards/export_job.html", "exports", dashboards.scope_for(request.user), context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(GET)
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    if not access.can(request.user, "export.download", job):
        raise PermissionDenied
    try:
        return exports.do_download_export(job, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("reviews:export_job", pk=job.pk)

