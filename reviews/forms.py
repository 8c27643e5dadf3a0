"""Forms of the bureaus' side. They check shape only; the rules live in reviews/actions.py, whose
ValidationErrors are put back on these forms by `add_action_errors`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from portal.models import User
from portal.roles import Role
from reviews.actions import OUTCOMES_BY_STAGE
from reviews.models import Assignment, Panel, ReviewStep
from workshops.models import Application, Round
from workshops.states import AppState, info

STALE_PAGE = _("页面信息不完整或已过期，请刷新页面后重新提交。")


def add_action_errors(form: forms.Form, exc: ValidationError, field_for: Callable[[str], str] = str) -> None:
    """Attach an action's ValidationError to the form: keyed errors on their field, the rest on top."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            name = field_for(key)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ReviewForm(forms.Form):
    """Labels stand above their fields on these pages: no ":" after them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DecisionForm(ReviewForm):
    """One reviewer's decision at the application's current stage (reviews.actions.do_review_stage)."""

    outcome = forms.ChoiceField(label=_("审查结果"), widget=forms.RadioSelect,
                                error_messages={"required": _("请选择审查结果。"),
                                                "invalid_choice": _("本环节不能作出该处理，请重新选择审查结果。")})
    opinion = forms.CharField(label=_("审查意见"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("退回修改、不通过或列入备选时必须填写理由；意见将告知申报单位。"),
                              error_messages={"max_length": _("审查意见不能超过 %(limit_value)d 个字。")})
    originals_checked = forms.BooleanField(label=_("已核对原件"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, error_messages={
        "required": STALE_PAGE, "invalid": STALE_PAGE, "min_value": STALE_PAGE})

    def __init__(self, app: Application, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"version": app.version})
        super().__init__(*args, **kwargs)
        stage = info(app.state).stage
        self.fields["outcome"].choices = [(o, ReviewStep.Outcome(o).label) for o in OUTCOMES_BY_STAGE.get(stage, ())]
        policy = app.policy
        if stage == "formal_review" and policy.formal_review_checks_originals:
            article = policy.stage("formal_review").article if policy.stage("formal_review") else ""
            self.fields["originals_checked"].help_text = escape(
                _("本市办法要求审核证明材料原件（%(article)s）；审查通过前须核对原件并勾选。") % {"article": article})
        else:
            del self.fields["originals_checked"]


class PanelForm(ReviewForm):
    name = forms.CharField(label=_("专家组名称"), max_length=100,
                           error_messages={"required": _("请填写专家组名称。"),
                                           "max_length": _("专家组名称不能超过 %(limit_value)d 个字。")})
    due_on = forms.DateField(label=_("评审截止日期"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                             error_messages={"invalid": _("评审截止日期格式应为 2026-05-31。")})

    def clean_due_on(self) -> Any:
        due_on = self.cleaned_data["due_on"]
        if due_on and due_on < timezone.localdate():
            raise ValidationError(_("评审截止日期不能早于今天。"))
        return due_on


class ExpertChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        # The organization is what the same-unit conflict rule compares: show it when choosing.
        return f"{obj}（{obj.organization.name if obj.organization_id else _('未登记工作单位')}）"


class AssignForm(ReviewForm):
    application = forms.ModelChoiceField(
        label=_("申报"), queryset=Application.objects.none(), empty_label=_("请选择申报"),
        error_messages={"required": _("请选择要评审的申报。"),
                        "invalid_choice": _("所选申报不在本批次的专家评审环节，请刷新页面后重新选择。")})
    expert = ExpertChoiceField(
        label=_("评审专家"), queryset=User.objects.none(), empty_label=_("请选择专家"),
        error_messages={"required": _("请选择评审专家。"),
                        "invalid_choice": _("请选择本市在册的评审专家。")})

    def __init__(self, panel: Panel, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = Application.objects.filter(
            round_id=panel.round_id, state=AppState.EXPERT_REVIEW).select_related("organization").order_by("pk")
        self.fields["expert"].queryset = User.objects.filter(
            role=Role.EXPERT, city_id=panel.round.city_id, is_active=True).select_related(
            "organization").order_by("full_name", "pk")


class ClosePanelForm(ReviewForm):
    confirm = forms.BooleanField(
        label=_("确认结束评审：按平均分排名，名额内的进入下一环节，其余列入备选名单；结束后不能再修改评分。"),
        error_messages={"required": _("请勾选“确认结束评审”后再提交。")})


class ScoreForm(ReviewForm):
    """One number per criterion of the city's rubric (policy expert_rubric), plus a comment."""

    comment = forms.CharField(label=_("总体评价"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              error_messages={"max_length": _("总体评价不能超过 %(limit_value)d 个字。")})

    PREFIX = "score_"

    def __init__(self, assignment: Assignment, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        criteria = assignment.application.policy.expert_rubric.criteria
        comment = self.fields.pop("comment")
        current = {s.criterion: s.value for s in assignment.scores.all()}
        for c in criteria:
            # The range is checked by the action (one rule, one message); the widget only helps
            # the browser offer a numeric keypad and the limits.
            self.fields[self.PREFIX + c.code] = forms.CharField(
                label=f"{c.label}（满分 {c.weight}）", required=False, initial=current.get(c.code),
                help_text=escape(_("评分依据：%(basis)s；填写 0 到 %(max)d 之间的分数，可保留一位小数。")
                                 % {"basis": c.basis, "max": c.weight}),
                widget=forms.NumberInput(attrs={"min": 0, "max": c.weight, "step": "0.1", "inputmode": "decimal"}))
        self.fields["comment"] = comment
        if assignment.comment:
            self.fields["comment"].initial = assignment.comment

    def scores(self) -> dict[str, str]:
        return {name.removeprefix(self.PREFIX): (value or "").strip()
                for name, value in self.cleaned_data.items() if name.startswith(self.PREFIX)}

    def field_for(self, criterion_code: str) -> str:
        return self.PREFIX + criterion_code


class RecuseForm(ReviewForm):
    conflict_note = forms.CharField(
        label=_("回避理由"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如与申报单位或领办人有亲属、师徒、同事、经济往来等关系。提交后本任务不再计分。"),
        error_messages={"required": _("请说明回避理由。"), "max_length": _("回避理由不能超过 %(limit_value)d 个字。")})


class OpinionForm(ReviewForm):
    department = forms.CharField(label=_("征求意见部门"), max_length=100,
                                 error_messages={"required": _("请填写征求意见部门。"),
                                                 "max_length": _("部门名称不能超过 %(limit_value)d 个字。")})
    due_on = forms.DateField(label=_("反馈期限"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                             error_messages={"required": _("请填写反馈期限。"),
                                             "invalid": _("反馈期限格式应为 2026-05-31。")})
    response = forms.CharField(label=_("反馈意见"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("尚未反馈的可先留空，只登记征求意见部门和期限。"))
    objects_to = forms.ModelMultipleChoiceField(
        label=_("提出异议的申报"), required=False, queryset=Application.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("所选申报不在本批次的征求意见环节，请刷新页面后重新选择。"),
                        "invalid_pk_value": STALE_PAGE})

    def __init__(self, rnd: Round, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["objects_to"].queryset = Application.objects.filter(
            round=rnd, state=AppState.OPINION).order_by("rank", "pk")


class ConfirmListForm(ReviewForm):
    opinion = forms.CharField(label=_("会议研究意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("如会议名称、日期和结论，例如“2026年第5次局长办公会议研究同意”。"),
                              error_messages={"required": _("请填写会议研究意见（如会议名称、日期和结论）。"),
                                              "max_length": _("会议研究意见不能超过 %(limit_value)d 个字。")})
