"""Bureau pages for public notices, objections and establishment (发文设立)."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from portal import access, fsm
from reviews import notices
from reviews.models import Notice, Objection
from workshops.actions import do_establish_studios
from workshops.models import Application, Round
from workshops.states import AppState


def form_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach an action's ValidationError to the form, field by field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class PublishForm(forms.Form):
    starts_on = forms.DateField(label=gettext_lazy("公示开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    working_days = forms.IntegerField(label=gettext_lazy("公示期（工作日）"), min_value=1, max_value=60)
    title = forms.CharField(label=gettext_lazy("公示标题"), max_length=200, required=False)
    body = forms.CharField(label=gettext_lazy("公示说明"), widget=forms.Textarea(attrs={"rows": 4}), required=False,
                           max_length=5000)
    contact = forms.CharField(label=gettext_lazy("异议受理联系方式"), max_length=200, required=False)


@login_required
@require_http_methods(["GET", "POST"])
def notice_list(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = access.get_visible_or_404(request.user, Round.objects.select_related("city"), pk=round_id)
    if not access.can(request.user, "notice.publish", rnd):
        raise PermissionDenied
    policy = rnd.policy
    if policy.notice_working_days is None:
        messages.info(request, _("本市办法没有公示环节：决定后直接发文设立。"))
        return redirect("reviews:establish", round_id=rnd.pk)
    form = PublishForm(request.POST or None, initial={"working_days": policy.notice_working_days,
                                                      "starts_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            notice = notices.do_publish_notice(rnd, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        except fsm.Conflict as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("公示已发布：%(start)s 至 %(end)s。") % {"start": notice.starts_on,
                                                                         "end": notice.ends_on})
            return redirect("reviews:notice_manage", pk=notice.pk)
    ready = Application.objects.filter(round=rnd, state=AppState.READY_FOR_NOTICE).select_related(
        "organization", "leader").order_by("rank", "pk")
    return render(request, "reviews/notices/list.html", {
        "round": rnd, "policy": policy, "form": form, "ready": ready,
        "notices": Notice.objects.filter(round=rnd).prefetch_related("entries"),
    })


@login_required
@require_http_methods(["GET"])
def notice_manage(request: HttpRequest, pk: int) -> HttpResponse:
    notice = access.get_visible_or_404(request.user, Notice.objects.select_related("round", "city"), pk=pk)
    if not access.can(request.user, "notice.publish", notice.round):
        raise PermissionDenied
    return render(request, "reviews/notices/manage.html", {
        "notice": notice, "entries": notice.entries.all(),
        "objections": notice.objections.select_related("entry").order_by("created_at"),
        "today": timezone.localdate(),
    })


class ObjectionForm(forms.Form):
    action = forms.ChoiceField(choices=[("investigate", gettext_lazy("开始调查核实")),
                                        ("dismiss", gettext_lazy("异议不成立")),
                                        ("uphold", gettext_lazy("异议成立（撤销资格并从备选名单替补）"))],
                               widget=forms.RadioSelect, label=gettext_lazy("处理"))
    findings = forms.CharField(label=gettext_lazy("调查结论"), widget=forms.Textarea(attrs={"rows": 4}),
                               required=False, max_length=5000)


@login_required
@require_http_methods(["GET", "POST"])
def objection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    objection = access.get_visible_or_404(request.user, Objection.objects.select_related("notice", "entry"), pk=pk)
    can_handle = access.can(request.user, "objection.handle", objection)
    form = ObjectionForm(request.POST or None)
    if request.method == "POST":
        if not can_handle:
            raise PermissionDenied
        if form.is_valid():
            action, findings = form.cleaned_data["action"], form.cleaned_data["findings"]
            try:
                if action == "investigate":
                    notices.do_investigate_objection(objection, actor=request.user, findings=findings)
                elif action == "dismiss":
                    notices.do_dismiss_objection(objection, actor=request.user, findings=findings)
                else:
                    _upheld, followup = notices.do_uphold_objection(objection, actor=request.user, findings=findings)
                    if followup is not None:
                        messages.info(request, _("已从备选名单替补并发布替补公示：%(start)s 至 %(end)s。")
                                      % {"start": followup.starts_on, "end": followup.ends_on})
            except ValidationError as exc:
                form_errors(form, exc)
            except fsm.Conflict as exc:
                messages.error(request, str(exc))
                return redirect("reviews:objection", pk=objection.pk)
            else:
                messages.success(request, _("异议处理已保存。"))
                return redirect("reviews:notice_manage", pk=objection.notice_id)
    return render(request, "reviews/notices/objection.html", {"objection": objection, "form": form,
                                                              "can_handle": can_handle and objection.is_open})


class EstablishForm(forms.Form):
    doc_number = forms.CharField(label=gettext_lazy("设立文件文号"), max_length=100)
    established_on = forms.DateField(label=gettext_lazy("设立日期"), widget=forms.DateInput(attrs={"type": "date"}))


@login_required
@require_http_methods(["GET", "POST"])
def establish(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = access.get_visible_or_404(request.user, Round.objects.select_related("city"), pk=round_id)
    if not access.can(request.user, "studio.establish", rnd):
        raise PermissionDenied
    form = EstablishForm(request.POST or None, initial={"established_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            studios = do_establish_studios(rnd, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            if studios:
                messages.success(request, _("已发文设立 %(n)d 个技能大师工作室。") % {"n": len(studios)})
            else:
                messages.info(request, _("没有待设立的申报。"))
            return redirect("reviews:establish", round_id=rnd.pk)
    approved = Application.objects.filter(round=rnd, state=AppState.APPROVED).select_related(
        "organization", "leader", "studio").order_by("rank", "pk")
    return render(request, "reviews/notices/establish.html", {"round": rnd, "form": form, "approved": approved})
