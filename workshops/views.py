"""The unit's side: its applications, the form's steps, uploads, submission and withdrawal; and the
city's rounds. Each view: access → form → action → redirect (or, for htmx, the re-rendered partial).

Out of scope → 404 (access.get_visible_or_404); visible but not allowed → 403 (access.require).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import access, audit, fsm
from portal.models import AuditEvent, Person
from portal.policies import vocab as policy_vocab
from portal.roles import Role
from workshops import actions, eligibility
from workshops import forms as wforms
from workshops.eligibility import Problem
from workshops.models import Application, ApplicationMember, ApplicationProject, Attachment, Round
from workshops.states import AppState
from workshops.uploads import ALLOWED_LABEL

HISTORY_LABELS: dict[str, Any] = {
    "application.create": gettext_lazy("创建申报"),
    "application.edit": gettext_lazy("保存申报内容"),
    "application.submit": gettext_lazy("提交申报"),
    "application.withdraw": gettext_lazy("撤回申报"),
    "application.consent": gettext_lazy("同意个人信息处理告知书"),
    "application.member_add": gettext_lazy("添加工作室成员"),
    "application.member_remove": gettext_lazy("删除工作室成员"),
    "application.project_add": gettext_lazy("添加立项项目"),
    "application.project_delete": gettext_lazy("删除立项项目"),
    "attachment.upload": gettext_lazy("上传申报材料"),
    "attachment.delete": gettext_lazy("删除申报材料"),
    "attachment.download": gettext_lazy("下载申报材料"),
    "attachment.purge": gettext_lazy("申报材料保存期满，已删除"),
    "person.reveal": gettext_lazy("查看完整身份证号和手机号"),
}


def _applications() -> Any:
    return Application.objects.select_related("round__city", "organization", "leader")


def _application(request: HttpRequest, pk: int) -> Application:
    return access.get_visible_or_404(request.user, _applications(), pk=pk)


def _editable(request: HttpRequest, pk: int) -> Application:
    app = _application(request, pk)
    access.require(request.user, "application.edit", app)
    return app


def _add_errors(form: django_forms.Form, exc: ValidationError, default: str | None = None) -> None:
    """Put an action's ValidationError on the form: on its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else default, errors)
    else:
        form.add_error(default, exc)


def _anchor(field: str) -> str:
    """The id of the element a problem's link jumps to (the field's input, or the material's section)."""
    if field.startswith(wforms.ATTACHMENT_PREFIX):
        return "material-" + field.removeprefix(wforms.ATTACHMENT_PREFIX)
    return f"id_{field}" if field != "__all__" else "step-title"


def _history_label(event: AuditEvent) -> str:
    if event.action in HISTORY_LABELS:
        return str(HISTORY_LABELS[event.action])
    parts = event.action.split(".")
    if parts[0] == "review" and len(parts) == 3:
        return str(policy_vocab.STAGES.get(parts[1], parts[1]))
    return event.action


# --- The unit's list and the city's rounds ------------------------------------------------------------

@login_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.has_role(user, Role.UNIT):
        raise PermissionDenied
    apps = list(access.visible(user, Application.objects.select_related("round")).order_by("-created_at"))
    today = timezone.localdate()
    open_rounds = access.visible(user, Round.objects.filter(opens_on__lte=today, closes_on__gte=today))
    applied = {app.round_id for app in apps}
    rounds = [(rnd, rnd.pk in applied) for rnd in open_rounds if access.can(user, "application.create", rnd)]
    return render(request, "workshops/list.html", {
        "applications": [(app, access.can(user, "application.edit", app)) for app in apps],
        "open_rounds": rounds, "first_step": wforms.STEPS[0].slug})


@login_required
@require_GET
def round_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    rounds = access.visible(user, Round.objects.all()).annotate(
        submitted=Count("applications", filter=~Q(applications__state=AppState.DRAFT)))
    return render(request, "workshops/rounds.html", {
        "rounds": rounds, "can_open": access.can(user, "round.open", user.city), "today": timezone.localdate()})


@login_required
@require_http_methods(["GET", "POST"])
def round_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, "round.open", user.city)
    today = timezone.localdate()
    initial = {"year": today.year, "title": _("%(year)d年度%(city)s技能大师工作室申报") % {
        "year": today.year, "city": user.city.name}}
    form = wforms.RoundForm(request.POST or None, city=user.city, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rnd = actions.do_open_round(user.city, actor=user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已开启申报批次“%(title)s”。") % {"title": rnd.title})
            return redirect("workshops:rounds")
    return render(request, "workshops/round_form.html", {"form": form})


@login_required
@require_POST
def application_create(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = access.get_visible_or_404(request.user, Round.objects.select_related("city"), pk=round_id)
    access.require(request.user, "application.create", rnd)
    app = actions.do_create_application(rnd, actor=request.user)
    messages.success(request, _("已新建申报草稿，可分步填写，随时保存。"))
    return redirect("workshops:edit", pk=app.pk, step=wforms.steps_for(rnd.policy)[0].slug)


# --- The form's steps ---------------------------------------------------------------------------------

def _consent_is_current(app: Application) -> bool:
    return bool(app.consented_at) and app.consent_version == actions.CONSENT_VERSION


def _editor_context(app: Application, step: wforms.Step, form: django_forms.Form | None,
                    upload_form: wforms.AttachmentForm | None = None, saved: str = "") -> dict[str, Any]:
    policy = app.policy
    steps = wforms.steps_for(policy)
    missing: dict[str, list[dict[str, Any]]] = {}
    for problem in eligibility.completeness(app):
        missing.setdefault(wforms.step_of(problem.field) or "basic", []).append(
            {"problem": problem, "anchor": _anchor(problem.field)})
    here = [p for p in eligibility.eligibility(app, timezone.localdate())
            if (wforms.step_of(p.field) or "basic") == step.slug]
    index = steps.index(step)
    context: dict[str, Any] = {
        "app": app, "policy": policy, "step": step, "form": form, "saved": saved,
        "steps": [(s, len(missing.get(s.slug, []))) for s in steps],
        "missing": [(s, missing[s.slug]) for s in steps if s.slug in missing],
        "problems": here, "prev_step": steps[index - 1] if index else None,
        "next_step": steps[index + 1] if index + 1 < len(steps) else None,
    }
    if step.slug == "basic" and app.leader_id:
        context["suggested_name"] = policy.studio_name(leader=app.leader.name, occupation=app.occupation,
                                                       org=app.organization.name)
    elif step.slug == "members":
        context["members"] = app.members.select_related("person").order_by("pk")
    elif step.slug == "projects":
        context["projects"] = app.projects.order_by("pk")
    elif step.slug == "materials":
        attachments = list(app.attachments.order_by("uploaded_at", "pk"))
        materials = policy.materials_for(app.organization.kind)
        failed = upload_form.data.get("kind") if upload_form is not None else None
        context.update(allowed_types=ALLOWED_LABEL, max_mb=settings.UPLOAD_MAX_BYTES // (1024 * 1024))
        context["materials"] = [{"material": m, "attachments": [a for a in attachments if a.kind == m.code],
                                 "form": upload_form if failed == m.code else None} for m in materials]
        # An upload naming no material of this city has no row to show its error in.
        if upload_form is not None and failed not in {m.code for m in materials}:
            context["upload_form"] = upload_form
    elif step.slug == "declarations":
        context.update(consent_current=_consent_is_current(app), consent_version=actions.CONSENT_VERSION)
    return context


def _render_editor(request: HttpRequest, app: Application, step: wforms.Step, form: django_forms.Form | None = None,
                   *, upload_form: wforms.AttachmentForm | None = None, saved: str = "") -> HttpResponse:
    if form is None and step.slug in wforms.STEP_FORMS:
        form = wforms.STEP_FORMS[step.slug](app=app)
    context = _editor_context(app, step, form, upload_form, saved)
    context["can_reveal"] = access.can(request.user, "person.reveal", app)
    template = "workshops/_editor.html" if request.htmx else "workshops/edit.html"
    return render(request, template, context)


def _step(app: Application, slug: str) -> wforms.Step:
    step = next((s for s in wforms.steps_for(app.policy) if s.slug == slug), None)
    if step is None:
        raise Http404
    return step


def _saved(request: HttpRequest, pk: int, step: wforms.Step, message: str, *, go_next: bool = False) -> HttpResponse:
    """After a save: htmx gets the step back with its status line; a plain form post is redirected."""
    app = _editable(request, pk)
    if go_next:
        steps = wforms.steps_for(app.policy)
        step = steps[min(steps.index(step) + 1, len(steps) - 1)]
    url = reverse("workshops:edit", kwargs={"pk": pk, "step": step.slug})
    if not request.htmx:
        messages.success(request, message)
        return redirect(url)
    response = _render_editor(request, app, step, saved=message)
    response["HX-Push-Url"] = url
    return response


def _save_basic(request: HttpRequest, app: Application, form: django_forms.Form) -> str:
    values = dict(form.cleaned_data)
    if "use_suggestion" in request.POST and app.leader_id:
        values["studio_name"] = app.policy.studio_name(leader=app.leader.name, occupation=values["occupation"],
                                                       org=app.organization.name)
    actions.do_update_application(app, actor=request.user, **values)
    return _("已保存")


def _save_fields(request: HttpRequest, app: Application, form: django_forms.Form) -> str:
    actions.do_update_application(app, actor=request.user, **form.cleaned_data)
    return _("已保存")


def _save_leader(request: HttpRequest, app: Application, form: django_forms.Form) -> str:
    assert isinstance(form, wforms.LeaderForm)
    if form.is_blank:
        return _("已保存（尚未填写领办人）")
    actions.do_set_leader(app, actor=request.user, id_number=form.cleaned_data["id_number"], **form.person_attrs())
    return _("已保存")


def _save_member(request: HttpRequest, app: Application, form: django_forms.Form) -> str:
    assert isinstance(form, wforms.MemberForm)
    actions.do_add_member(app, actor=request.user, role=form.cleaned_data["role"],
                          id_number=form.cleaned_data["id_number"], **form.person_attrs())
    return _("已添加成员")


def _save_project(request: HttpRequest, app: Application, form: django_forms.Form) -> str:
    actions.do_add_project(app, actor=request.user, **form.cleaned_data)
    return _("已添加项目")


def _save_declarations(request: HttpRequest, app: Application, form: django_forms.Form) -> str:
    actions.do_update_application(app, actor=request.user, declarations=form.cleaned_data["declarations"])
    if form.cleaned_data["consent"] and not _consent_is_current(app):
        actions.do_record_consent(app, actor=request.user)
    return _("已保存")


SAVERS: dict[str, Callable[[HttpRequest, Application, django_forms.Form], str]] = {
    "basic": _save_basic, "leader": _save_leader, "members": _save_member, "site": _save_fields,
    "projects": _save_project, "plan": _save_fields, "declarations": _save_declarations,
}


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    app = _editable(request, pk)
    current = _step(app, step)
    if request.method == "GET":
        return _render_editor(request, app, current)
    if current.slug not in SAVERS:
        return HttpResponseNotAllowed(["GET"])
    form = wforms.STEP_FORMS[current.slug](request.POST, app=app)
    if form.is_valid():
        try:
            message = SAVERS[current.slug](request, app, form)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _saved(request, pk, current, message, go_next=request.POST.get("go") == "next")
    return _render_editor(request, app, current, form)


@login_required
@require_POST
def member_delete(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    app = _editable(request, pk)
    member = ApplicationMember.objects.filter(application=app, pk=member_id).select_related("application").first()
    if member is None:
        raise Http404
    actions.do_remove_member(member, actor=request.user)
    return _saved(request, pk, _step(app, "members"), _("已删除成员"))


@login_required
@require_POST
def project_delete(request: HttpRequest, pk: int, project_id: int) -> HttpResponse:
    app = _editable(request, pk)
    project = ApplicationProject.objects.filter(application=app, pk=project_id).select_related("application").first()
    if project is None:
        raise Http404
    actions.do_delete_project(project, actor=request.user)
    return _saved(request, pk, _step(app, "projects"), _("已删除项目"))


# --- Attachments --------------------------------------------------------------------------------------

def _attachment(request: HttpRequest, pk: int, attachment_id: int) -> Attachment:
    return access.get_visible_or_404(request.user, Attachment.objects.select_related(
        "application__round__city", "application__organization"), pk=attachment_id, application_id=pk)


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    app = _editable(request, pk)
    form = wforms.AttachmentForm(request.POST, request.FILES, app=app)
    if form.is_valid():
        try:
            actions.do_upload_attachment(app, actor=request.user, kind=form.cleaned_data["kind"],
                                         file=form.cleaned_data["file"])
        except ValidationError as exc:
            _add_errors(form, exc, default="file")
        else:
            return _saved(request, pk, _step(app, "materials"), _("已上传“%(name)s”") % {
                "name": form.cleaned_data["file"].name})
    return _render_editor(request, app, _step(app, "materials"), upload_form=form)


@login_required
@require_GET
@never_cache
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = _attachment(request, pk, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    actions.do_download_attachment(attachment, actor=request.user, ip=audit.client_ip(request))
    return FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                        content_type=attachment.content_type)


@login_required
@require_POST
def attachment_delete(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = _attachment(request, pk, attachment_id)
    access.require(request.user, "application.edit", attachment.application)
    actions.do_delete_attachment(attachment, actor=request.user)
    return _saved(request, pk, _step(attachment.application, "materials"), _("已删除“%(name)s”") % {
        "name": attachment.original_name})


# --- Personal information -----------------------------------------------------------------------------

@login_required
@require_POST
@never_cache
def person_reveal(request: HttpRequest, pk: int, person_id: int) -> HttpResponse:
    app = _application(request, pk)
    person = Person.objects.filter(Q(led_applications=app) | Q(memberships__application=app), pk=person_id).first()
    if person is None:
        raise Http404
    actions.do_reveal_person(app, person, actor=request.user, ip=audit.client_ip(request))
    template = "workshops/_revealed.html" if request.htmx else "workshops/reveal.html"
    return render(request, template, {"app": app, "person": person})


# --- Submission, detail, withdrawal -------------------------------------------------------------------

def _grouped(app: Application, problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems by step, in the form's order, each with its field's label; general ones first."""
    policy, kind = app.policy, app.organization.kind
    groups: list[dict[str, Any]] = []
    for step in [None, *wforms.steps_for(policy)]:
        slug = step.slug if step else None
        items = [{"problem": p, "label": wforms.field_label(p.field, policy, kind), "anchor": _anchor(p.field)}
                 for p in problems if wforms.step_of(p.field) == slug]
        if items:
            groups.append({"step": step, "items": items})
    return groups


@login_required
@require_http_methods(["GET", "POST"])
def application_submit(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    access.require(request.user, "application.submit", app)
    form = wforms.SubmitForm(request.POST or None, initial={"version": app.version})
    problems: list[Problem] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            app = actions.do_submit_application(app, actor=request.user, expected_version=form.cleaned_data["version"])
        except actions.NotEligible as exc:
            problems = exc.problems
        except fsm.Conflict as exc:
            messages.error(request, str(exc))
            return redirect("workshops:detail", pk=pk)
        else:
            messages.success(request, _("申报已提交，当前状态：%(state)s。") % {"state": app.get_state_display()})
            return redirect("workshops:detail", pk=pk)
    if problems is None:
        problems = eligibility.check(app, timezone.localdate())
    return render(request, "workshops/submit.html", {
        "app": app, "form": form, "groups": _grouped(app, problems), "problem_count": len(problems),
        "attempted": request.method == "POST", "resubmission": app.state == AppState.RETURNED,
        "first_step": wforms.STEPS[0]})


def _render_detail(request: HttpRequest, app: Application, withdraw_form: wforms.WithdrawForm | None = None
                   ) -> HttpResponse:
    user = request.user
    history = [{"event": e, "label": _history_label(e),
                "from": AppState(e.from_state).label if e.from_state in AppState.values else "",
                "to": AppState(e.to_state).label if e.to_state in AppState.values else "",
                "role": Role(e.actor_role).label if e.actor_role in Role.values else ""}
               for e in AuditEvent.objects.for_object(app).order_by("at", "id")]
    returned = next((h["event"].reason for h in reversed(history) if h["event"].to_state == AppState.RETURNED), "")
    can_withdraw = access.can(user, "application.withdraw", app)
    return render(request, "workshops/detail.html", {
        "app": app, "history": history, "returned_opinion": returned if app.state == AppState.RETURNED else "",
        "members": app.members.select_related("person").order_by("pk"),
        "attachments": app.attachments.order_by("kind", "uploaded_at"),
        "revisions": app.revisions.order_by("number"),
        "can_edit": access.can(user, "application.edit", app), "can_withdraw": can_withdraw,
        "can_reveal": access.can(user, "person.reveal", app),
        "withdraw_form": withdraw_form or (wforms.WithdrawForm(initial={"version": app.version})
                                           if can_withdraw else None),
        "first_step": wforms.steps_for(app.policy)[0],
    })


@login_required
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    access.require(request.user, "application.view", app)
    return _render_detail(request, app)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    access.require(request.user, "application.withdraw", app)
    form = wforms.WithdrawForm(request.POST)
    if form.is_valid():
        try:
            actions.do_withdraw_application(app, actor=request.user, reason=form.cleaned_data["reason"],
                                            expected_version=form.cleaned_data["version"])
        except fsm.Conflict as exc:
            messages.error(request, str(exc))
            return redirect("workshops:detail", pk=pk)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("申报已撤回。"))
            return redirect("workshops:detail", pk=pk)
    return _render_detail(request, app, withdraw_form=form)
