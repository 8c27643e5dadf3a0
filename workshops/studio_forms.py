"""Forms of the studio's life: plan, ledger, assessments, plaque, money, revocation, leader change.

Choices that differ by city (assessment kinds, the 温州 score table, subsidies, revocation grounds,
the departments an authority acts 会同) come from the studio's policy. Dates record what has
happened, so none may lie in the future; that also keeps date arithmetic (a 3-year ban) in range.
The actions check the rules again; these forms only make sure each value is usable and say which
field is wrong.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import SkillLevel
from portal.policies import Policy
from portal.policies import vocab as policy_vocab
from workshops.forms import LONG_TEXT, PersonForm
from workshops.models import Assessment, Studio, StudioRecord, Upgrade
from workshops.money import Entitlement
from workshops.states import StudioState

EARLIEST = date(2000, 1, 1)
PERIODIC_KINDS = (Assessment.Kind.ANNUAL, Assessment.Kind.BIENNIAL)
# Transitions with no record of their own (workshops.actions.do_change_studio_state).
STATE_METHODS: dict[str, Any] = {
    "start_operation": _("开始运行"),
    "end_support_period": _("扶持（培育建设）期满"),
    "renew": _("进入下一轮扶持期"),
}


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


def past_date(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DateField:
    """A date on or before today: what the form records has already happened."""
    return forms.DateField(label=label, required=required, widget=_date_input(), help_text=help_text,
                           validators=[_not_in_future])


def _not_in_future(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError(gettext("不能晚于今天（%(today)s）：请填写已经发生的日期。")
                              % {"today": timezone.localdate().isoformat()}, code="future")
    if value < EARLIEST:
        raise ValidationError(gettext("不能早于 %(first)s。") % {"first": EARLIEST.isoformat()}, code="too_early")


def department_choices(codes: Any) -> list[tuple[str, str]]:
    return [(c, str(policy_vocab.DEPARTMENTS.get(c, c))) for c in codes]


def departments_text(codes: Any) -> str:
    return "、".join(str(policy_vocab.DEPARTMENTS.get(c, c)) for c in codes)


def _number(value: Decimal) -> int | float:
    """Scores are stored as JSON: whole points as int, halves as float."""
    return int(value) if value == value.to_integral_value() else float(value)


class StudioForm(forms.Form):
    """Every form of the studio page knows its studio (and so its policy)."""

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        self.studio = studio
        self.policy: Policy = studio.policy
        super().__init__(data, **kwargs)


# --- The unit: plan, ledger, leader change ---------------------------------------------------------

class PlanForm(StudioForm):
    year = forms.IntegerField(label=_("计划年度"))
    content = forms.CharField(label=_("带徒传技和技术攻关计划"), max_length=LONG_TEXT,
                              widget=forms.Textarea(attrs={"rows": 6}),
                              error_messages={"required": _("请填写年度带徒传技和技术攻关计划。")})

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        super().__init__(data, studio=studio, **kwargs)
        this_year = timezone.localdate().year
        self.fields["year"].widget.attrs.update({"min": this_year - 1, "max": this_year + 1})
        self.fields["year"].initial = this_year
        plan = self.policy.annual_plan
        if plan.required:
            self.fields["content"].help_text = _("每年%(month)d月%(day)d日前报%(body)s备案（%(article)s）；"
                                                 "逾期仍可报送，记为逾期。") % {
                "month": plan.month, "day": plan.day, "body": plan.filed_with, "article": plan.article}

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        this_year = timezone.localdate().year
        if not this_year - 1 <= year <= this_year + 1:
            raise ValidationError(gettext("只能报送%(a)d至%(b)d年度的计划。")
                                  % {"a": this_year - 1, "b": this_year + 1})
        return year

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.policy.annual_plan.required:
            raise ValidationError(gettext("本市办法不要求报送年度工作计划（%(article)s）。")
                                  % {"article": self.policy.annual_plan.article})
        return cleaned


class RecordForm(forms.ModelForm):
    kind = forms.ChoiceField(label=_("台账类别"), choices=list(policy_vocab.RECORD_KINDS.items()))

    class Meta:
        model = StudioRecord
        fields = ("kind", "date", "title", "person_name", "level", "certificate_no", "is_new_certificate",
                  "agreement_on", "detail")
        widgets = {"date": _date_input(), "agreement_on": _date_input(), "detail": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "person_name": _("以师带徒、培训学员必填"),
            "level": _("学员取得的职业技能等级（如有）"),
            "agreement_on": _("以师带徒必填"),
        }

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.studio = studio
        for name in ("date", "agreement_on"):
            self.fields[name].validators.append(_not_in_future)
        self.fields["detail"].validators.append(MaxLengthValidator(LONG_TEXT))
        self.fields["detail"].widget.attrs["maxlength"] = str(LONG_TEXT)
        counted = {}
        for ind in studio.policy.training.indicators:
            for kind in ind.counts:
                counted.setdefault(kind, []).append(ind.label)
        if counted:
            self.fields["kind"].help_text = "；".join(
                gettext("%(kind)s计入：%(labels)s") % {"kind": policy_vocab.RECORD_KINDS[k], "labels": "、".join(v)}
                for k, v in counted.items() if k in policy_vocab.RECORD_KINDS)

    def _post_clean(self) -> None:
        # The model's own validation needs the studio and the author; the action runs it in full.
        pass

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("kind")
        return data


class LeaderChangeForm(PersonForm):
    reason = forms.CharField(label=_("变更原因"), max_length=200, help_text=_("如 调离、退休"),
                             error_messages={"required": _("请填写变更原因（如调离、退休）。")})
    field_order = ["reason", "name", "id_number"]

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        self.studio = studio
        super().__init__(data, **kwargs)
        rules = studio.policy.eligibility.leader
        self.fields["skill_level"].help_text = _(
            "新领办人须具有%(level)s及以上职业资格（技能等级）（%(article)s）。") % {
            "level": policy_vocab.SKILL_LEVELS[rules.min_level], "article": rules.article}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.require_identity()
        return cleaned


# --- City staff: assessment, plaque, money, leader decision, upgrade, state --------------------------

class AssessmentForm(StudioForm):
    kind = forms.ChoiceField(label=_("考核/验收类别"))
    period = forms.IntegerField(label=_("考核年度"), min_value=EARLIEST.year)
    conducted_on = past_date(_("考核日期"))
    passed = forms.TypedChoiceField(label=_("考核结论"), required=False, widget=forms.RadioSelect,
                                    choices=[("1", _("合格")), ("0", _("不合格"))],
                                    coerce=lambda v: v == "1", empty_value=None)
    joint_with = forms.MultipleChoiceField(label=_("会同部门"), required=False, widget=forms.CheckboxSelectMultiple)
    bonus = forms.DecimalField(label=_("加分"), required=False, min_value=0, max_digits=5, decimal_places=1)
    opinion = forms.CharField(label=_("考核意见"), required=False, max_length=LONG_TEXT,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        super().__init__(data, studio=studio, **kwargs)
        policy = self.policy
        today = timezone.localdate()
        self.fields["period"].widget.attrs.update({"min": EARLIEST.year, "max": today.year})
        self.fields["period"].initial = today.year
        self.fields["kind"].choices = self.kind_choices()
        rule = policy.assessment
        joint = list(dict.fromkeys([*rule.conducted_by.joint_with, *(
            policy.acceptance.conducted_by.joint_with if policy.acceptance.conducted_by else ())]))
        if joint:
            self.fields["joint_with"].choices = department_choices(joint)
            notes = []
            if rule.conducted_by.joint_with:
                notes.append(gettext("考核由%(body)s会同%(deps)s开展（%(article)s）") % {
                    "body": rule.conducted_by.body, "deps": departments_text(rule.conducted_by.joint_with),
                    "article": rule.conducted_by.article})
            acc = policy.acceptance.conducted_by
            if acc and acc.joint_with:
                notes.append(gettext("验收由%(body)s会同%(deps)s组织（%(article)s）") % {
                    "body": acc.body, "deps": departments_text(acc.joint_with), "article": acc.article})
            self.fields["joint_with"].help_text = "；".join(notes)
        else:
            del self.fields["joint_with"]
        self.table = rule.scoring
        if self.table is None:
            del self.fields["bonus"]
            self.fields["passed"].required = True
            self.fields["passed"].error_messages["required"] = gettext("请选择考核结论（合格/不合格）。")
        else:
            self.fields["bonus"].help_text = _("%(items)s分别加分，加分值不超过%(cap)d分（附件注2）") % {
                "items": "、".join(self.table.bonus_items), "cap": self.table.bonus_cap}
            if all(self.scored(code) for code, _label in self.fields["kind"].choices):
                del self.fields["passed"]  # 温州: the only kind is the scored evaluation
            else:
                self.fields["passed"].help_text = _("按评分表计分的考核按总分定等级，此项只用于验收等其他类别。")
            for section in self.table.sections:
                for item in section.items:
                    for prefix, what in (("self", gettext("自评分")), ("score", gettext("考核分"))):
                        field = forms.DecimalField(
                            label=f"{item.label}（{what}，{item.points}分）", required=False, min_value=0,
                            max_value=item.points, max_digits=4, decimal_places=1)
                        field.widget.attrs.update({"min": 0, "max": item.points, "step": "0.5",
                                                   "inputmode": "decimal"})
                        self.fields[f"{prefix}_{item.code}"] = field

    def kind_choices(self) -> list[tuple[str, str]]:
        policy = self.policy
        choices: list[tuple[str, str]] = []
        cycle = policy.assessment.cycle_years
        if cycle == 1:
            choices.append((Assessment.Kind.ANNUAL, gettext("年度考核（%(article)s）") % {
                "article": policy.assessment.article}))
        elif cycle:
            choices.append((Assessment.Kind.BIENNIAL, gettext("每%(n)d年一次绩效评估（%(article)s）") % {
                "n": cycle, "article": policy.assessment.article}))
        for milestone in policy.acceptance.milestones:
            if milestone.kind in Assessment.Kind.values:
                label = f"{milestone.label}（{milestone.article}）" if milestone.article else milestone.label
                choices.append((milestone.kind, label))
        return choices

    def clean_period(self) -> int:
        period = self.cleaned_data["period"]
        if period > timezone.localdate().year:
            raise ValidationError(gettext("不能晚于本年度（%(year)d）。") % {"year": timezone.localdate().year})
        return period

    def scored(self, kind: str | None) -> bool:
        return self.table is not None and kind in PERIODIC_KINDS

    def rows(self) -> list[dict[str, Any]]:
        """The score table by section, each item with its two bound fields (for the template)."""
        if self.table is None:
            return []
        return [{"section": s, "items": [{"item": i, "self": self[f"self_{i.code}"], "score": self[f"score_{i.code}"]}
                                         for i in s.items]} for s in self.table.sections]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind is None:
            return cleaned
        if self.scored(kind):
            for section in self.table.sections:
                for item in section.items:
                    name = f"score_{item.code}"
                    if cleaned.get(name) is None and name not in self.errors:
                        self.add_error(name, gettext("请填写“%(label)s”的考核分。") % {"label": item.label})
        elif "passed" in self.fields and cleaned.get("passed") is None and "passed" not in self.errors:
            self.add_error("passed", gettext("请选择考核结论（合格/不合格）。"))
        return cleaned

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs: dict[str, Any] = {"kind": data["kind"], "period": data["period"],
                                  "conducted_on": data["conducted_on"], "opinion": data["opinion"],
                                  "joint_with": data.get("joint_with", [])}
        if self.scored(data["kind"]):
            codes = [i.code for s in self.table.sections for i in s.items]
            kwargs["scores"] = {c: _number(data[f"score_{c}"]) for c in codes}
            kwargs["self_scores"] = {c: _number(data[f"self_{c}"]) for c in codes if data[f"self_{c}"] is not None}
            kwargs["bonus"] = data.get("bonus") or 0
        else:
            kwargs["passed"] = data["passed"]
        return kwargs

    def attach(self, exc: ValidationError) -> None:
        """An action's errors on the form: item codes name their score field."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            name = key if key in self.fields else f"score_{key}"
            self.add_error(name if name in self.fields else None, errors)


class PlaqueForm(StudioForm):
    issued_on = past_date(_("授牌日期"))

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        super().__init__(data, studio=studio, **kwargs)
        plaque = self.policy.plaque
        timing = policy_vocab.PLAQUE_TIMINGS[plaque.timing]
        basis = plaque.article or gettext("局内设置")
        self.fields["issued_on"].help_text = _("授牌单位：%(body)s；%(timing)s（%(basis)s）") % {
            "body": plaque.issued_by, "timing": timing, "basis": basis}


def _level_label(level: int | None) -> str:
    return str(SkillLevel(level).label) if level else ""


def entitlement_key(right: Entitlement) -> str:
    return f"{right.code}@{right.level}" if right.level else right.code


class DisbursementForm(StudioForm):
    subsidy = forms.ChoiceField(label=_("资金项目"))
    amount = forms.DecimalField(label=_("金额（元）"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    quantity = forms.IntegerField(label=_("人数/项数"), min_value=1, max_value=10000, initial=1,
                                  help_text=_("按人或按项计发的，填写本次拨付涉及的人数或项数"))
    paid_on = past_date(_("拨付日期"))
    basis = forms.CharField(label=_("拨付依据"), max_length=200, help_text=_("如 拨付文件文号、考核结果通报"))
    approver = forms.CharField(label=_("审批人"), max_length=50)

    def __init__(self, data: Any = None, *, studio: Studio, entitlements: list[Entitlement], **kwargs: Any) -> None:
        super().__init__(data, studio=studio, **kwargs)
        self.rights = {entitlement_key(r): r for r in entitlements}
        self.fields["subsidy"].choices = [("", gettext("请选择"))] + [
            (key, gettext("%(label)s%(level)s（可拨付 %(left)s 元，%(article)s）") % {
                "label": r.label, "level": f"·{_level_label(r.level)}" if r.level else "",
                "left": r.remaining, "article": r.article})
            for key, r in self.rights.items()]
        self.fields["amount"].widget.attrs["inputmode"] = "decimal"

    def clean_subsidy(self) -> Entitlement:
        return self.rights[self.cleaned_data["subsidy"]]

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        right: Entitlement = data["subsidy"]
        kwargs = {"subsidy": right.code, "level": right.level, "amount": data["amount"], "quantity": data["quantity"],
                  "paid_on": data["paid_on"], "basis": data["basis"], "approver": data["approver"]}
        subsidy = self.policy.subsidy(right.code)
        if subsidy is not None and subsidy.recipient == "leader":
            kwargs["recipient"] = self.studio.leader
        return kwargs


class LeaderDecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("核准意见"), widget=forms.RadioSelect,
                                 choices=[("approve", _("核准变更")), ("reject", _("不予核准"))])
    opinion = forms.CharField(label=_("审核意见"), required=False, max_length=LONG_TEXT,
                              widget=forms.Textarea(attrs={"rows": 2}), help_text=_("不予核准时必填"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not cleaned.get("opinion", "").strip():
            self.add_error("opinion", gettext("不予核准时请填写理由。"))
        return cleaned


class UpgradeForm(StudioForm):
    level = forms.ChoiceField(label=_("认定级别"), choices=[("", _("请选择"))] + list(Upgrade.Level.choices))
    recognized_on = past_date(_("认定日期"))
    document = forms.CharField(label=_("认定文件"), max_length=200)


def available_state_methods(studio: Studio) -> list[str]:
    """The bare transitions this studio can take now, and only those its policy has: a support period
    to end (郑州 第十三条, 东莞 第十四条), a next period to enter (郑州 第十六条: renewable subsidies)."""
    from django_fsm import can_proceed

    policy = studio.policy
    applicable = {"start_operation": True,
                  "end_support_period": policy.support_period_years is not None,
                  "renew": any(s.renewable for s in policy.subsidies)}
    return [m for m in STATE_METHODS if applicable[m] and can_proceed(getattr(studio, m))]


class StateForm(StudioForm):
    method = forms.ChoiceField(label=_("状态变更"), widget=forms.RadioSelect)
    reason = forms.CharField(label=_("说明"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        super().__init__(data, studio=studio, **kwargs)
        self.fields["method"].choices = [(m, STATE_METHODS[m]) for m in available_state_methods(studio)]
        self.fields["method"].error_messages["invalid_choice"] = gettext(
            "当前状态（%(state)s）下不能进行此变更，请刷新页面后查看。") % {"state": studio.get_state_display()}


# --- Revocation ----------------------------------------------------------------------------------------

class RevocationForm(StudioForm):
    ground = forms.ChoiceField(label=_("撤销情形"), widget=forms.RadioSelect)
    joint_with = forms.MultipleChoiceField(label=_("会同部门"), required=False, widget=forms.CheckboxSelectMultiple)
    decided_on = past_date(_("决定日期"))
    notice_text = forms.CharField(label=_("通报内容"), max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 6}),
                                  help_text=_("将在公开的工作室页面上发布，请勿写入身份证号等个人信息。"),
                                  error_messages={"required": _("请填写通报内容。")})
    plaque_recovered_on = past_date(_("牌匾收回日期"), required=False, help_text=_("未收回的留空，收回后可在此补记"))
    equipment_note = forms.CharField(label=_("配套设备收回情况"), max_length=200, required=False)

    def __init__(self, data: Any = None, *, studio: Studio, **kwargs: Any) -> None:
        super().__init__(data, studio=studio, **kwargs)
        rule = self.policy.revocation
        sanction = rule.sanction
        choices = []
        for g in rule.grounds:
            label = f"{g.label}（{g.article}）" if g.article else g.label
            if g.is_fraud and sanction is not None:
                label += gettext("——弄虚作假：所在单位和负责人%(n)d年内不得参与%(scope)s") % {
                    "n": sanction.ban_years, "scope": sanction.scope}
            if g.after_rectification:
                label += gettext("（须经限期整改后仍不合格）")
            choices.append((g.code, label))
        self.fields["ground"].choices = choices
        decided_by = rule.decided_by
        if decided_by.joint_with:
            self.fields["joint_with"].choices = department_choices(decided_by.joint_with)
            self.fields["joint_with"].help_text = _("撤销由%(body)s会同%(deps)s研究确定（%(article)s）") % {
                "body": decided_by.body, "deps": departments_text(decided_by.joint_with),
                "article": decided_by.article}
        else:
            del self.fields["joint_with"]
        if "recover_equipment" not in rule.consequences:
            self.fields["equipment_note"].help_text = _("本市办法未规定收回设备，如有处理情况可在此记录")

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"ground": data["ground"], "joint_with": data.get("joint_with", []), "decided_on": data["decided_on"],
                "notice_text": data["notice_text"], "plaque_recovered_on": data["plaque_recovered_on"],
                "equipment_note": data["equipment_note"]}


# --- Lists -------------------------------------------------------------------------------------------

class StudioFilterForm(forms.Form):
    q = forms.CharField(label=_("工作室名称"), required=False, max_length=50)
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + list(StudioState.choices))
    year = forms.IntegerField(label=_("设立年度"), required=False, min_value=EARLIEST.year, max_value=2100)
    plan = forms.ChoiceField(label=_("本年度工作计划"), required=False, choices=[
        ("", _("全部")), ("overdue", _("逾期未报送")), ("late", _("逾期报送")), ("filed", _("已报送"))])


class ForwardForm(forms.Form):
    year = forms.IntegerField(label=_("计划年度"), min_value=EARLIEST.year, max_value=2100, widget=forms.HiddenInput)
