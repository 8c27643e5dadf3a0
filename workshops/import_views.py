"""City staff's import pages: templates, upload, the validation report, the import, the export.

Each view: access → form → action (workshops/imports.py) → redirect. The work itself runs as tasks; the job
page polls its progress with htmx while a task runs.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import access
from workshops import imports
from workshops.import_forms import RunForm, UploadForm
from workshops.models import ImportJob

PROBLEMS_PER_PAGE = 200
RUNNING = (ImportJob.State.CHECKING, ImportJob.State.IMPORTING)


def _xlsx(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=imports.XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"  # exports hold full 身份证号
    return response


def _kind(kind: str) -> str:
    if kind not in ImportJob.Kind.values:
        raise Http404
    return kind


def _job(request: HttpRequest, pk: int) -> ImportJob:
    job = access.get_visible_or_404(request.user, ImportJob.objects.select_related("city", "created_by", "run_by")
                                    .defer("content"), pk=pk)
    access.require(request.user, "import.manage", job)
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, "import.manage", user.city)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.do_upload(user.city, actor=user, kind=form.cleaned_data["kind"],
                                    upload=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error(None if hasattr(exc, "error_dict") else "file", exc)  # a dict names its fields
        else:
            messages.success(request, _("已上传“%(file)s”，正在校验。") % {"file": job.file_name})
            return redirect("workshops:import_job", pk=job.pk)
    jobs = access.visible(user, ImportJob.objects.select_related("created_by")).defer("content", "report")[:30]
    kinds = [{"kind": k, "label": ImportJob.Kind(k).label, "note": imports.KIND_NOTES[k]} for k in imports.KIND_ORDER]
    return render(request, "workshops/imports/home.html", {"form": form, "jobs": jobs, "kinds": kinds},
                  status=400 if form.errors else 200)


@login_required
@require_GET
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    user = request.user
    access.require(user, "import.manage", user.city)
    kind = _kind(kind)
    return _xlsx(imports.template_workbook(user.city, kind), imports.file_name(user.city, kind))


@login_required
@require_GET
def import_export(request: HttpRequest, kind: str) -> HttpResponse:
    user = request.user
    access.require(user, "import.manage", user.city)
    kind = _kind(kind)
    return _xlsx(imports.do_export(user.city, actor=user, kind=kind), imports.file_name(user.city, kind, export=True))


def _job_context(job: ImportJob, request: HttpRequest, run_form: RunForm | None = None) -> dict[str, Any]:
    report = job.report or {}
    problems = report.get("file_problems", []) + report.get("problems", [])
    page = Paginator(problems, PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    return {"job": job, "report": report, "page": page, "problem_count": len(problems),
            "running": job.state in RUNNING, "progress": imports.progress_of(job) if job.state in RUNNING else {},
            "can_run": job.state == ImportJob.State.CHECKED and report.get("ready", 0) > 0,
            "clean": not problems, "run_form": run_form or RunForm(),
            "result": [(imports.RESULT_LABELS.get(k, k), v) for k, v in (job.result or {}).items()]}


@login_required
@require_GET
@never_cache
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, "workshops/imports/job.html", _job_context(job, request))


@login_required
@require_GET
@never_cache
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress line, polled by htmx; once the task is over the page reloads to show the report."""
    job = _job(request, pk)
    response = render(request, "workshops/imports/_progress.html", _job_context(job, request))
    if job.state not in RUNNING and getattr(request, "htmx", False):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    form = RunForm(request.POST)
    if form.is_valid():
        try:
            imports.do_start_import(job, actor=request.user, mode=form.cleaned_data["mode"])
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已开始导入。"))
    else:
        messages.error(request, _("请选择导入方式。"))
    return redirect("workshops:import_job", pk=job.pk)


@login_required
@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The validation report as a spreadsheet: every problem with its sheet, row and column."""
    job = _job(request, pk)
    name = job.file_name.rsplit(".", 1)[0]
    return _xlsx(imports.report_workbook(job), _("校验报告_%(file)s.xlsx") % {"file": name})
