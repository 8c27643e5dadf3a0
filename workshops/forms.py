"""Forms of the unit's side: the application's steps, rounds, uploads, submission and withdrawal.

Every step is a draft save: blank is fine (completeness is judged on submit), but a value that is
there must be valid (a 身份证号 with a wrong check digit, a negative area) and is shown back with
its error. Choices that differ by city (categories, achievements, declarations, materials) come from
the application's policy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import JobCategory, Person, SkillLevel
from portal.policies import Policy
from portal.policies import vocab as policy_vocab
from portal.validators import normalize_id_number, validate_id_number
from workshops.models import Application, ApplicationMember, ApplicationProject, Round

# Long answers (必要性, 工作计划 …) are TextFields without a limit; a form still needs one.
LONG_TEXT = 5000
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


# --- Steps ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    slug: str
    label: str
    fields: tuple[str, ...]  # the eligibility.Problem fields this step answers for


STEPS: tuple[Step, ...] = (
    Step("basic", _("基本信息"), ("studio_name", "occupation", "category")),
    Step("leader", _("领办人"), ("leader",)),
    Step("members", _("工作室成员"), ("members",)),
    Step("site", _("场所与保障"), ("site_address", "site_area", "equipment", "funding_commitment",
                                  "education_fund_share")),
    Step("projects", _("立项项目"), ("projects",)),
    Step("plan", _("建设计划"), ("necessity", "goals", "work_plan", "support_measures", "leader_achievements",
                               "leader_achievements_text")),
    Step("materials", _("申报材料"), ()),
    Step("declarations", _("承诺与告知"), ("declarations", "consent")),
)
ATTACHMENT_PREFIX = "attachment:"


def steps_for(policy: Policy) -> list[Step]:
    """The steps this city's form has: 立项项目 only where the policy asks for projects (东莞 第六条(三))."""
    return [s for s in STEPS if s.slug != "projects" or policy.eligibility.project is not None]


def step_of(field: str) -> str | None:
    """Which step a problem's field belongs to (None: the application as a whole)."""
    if field.startswith(ATTACHMENT_PREFIX):
        return "materials"
    return next((s.slug for s in STEPS if field in s.fields), None)


def field_label(field: str, policy: Policy, org_kind: str) -> str:
    if field.startswith(ATTACHMENT_PREFIX):
        code = field.removeprefix(ATTACHMENT_PREFIX)
        return next((m.label for m in policy.materials_for(org_kind) if m.code == code), code)
    labels = {"leader": gettext("领办人"), "projects": gettext("立项项目"), "declarations": gettext("申报条件承诺"),
              "consent": gettext("个人信息处理告知书"), "members": gettext("工作室成员"),
              "leader_achievements": gettext("领办人符合的业绩条件"), "__all__": gettext("申报单位与申报资格")}
    if field in labels:
        return labels[field]
    try:
        return str(Application._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:
        return field


# --- Helpers --------------------------------------------------------------------------------------

def _limit_text(field: forms.Field, limit: int = LONG_TEXT) -> None:
    if isinstance(field, forms.CharField) and field.max_length is None:
        field.max_length = limit
        field.validators.append(MaxLengthValidator(limit))
        field.widget.attrs["maxlength"] = str(limit)


def _not_negative(field: forms.Field, maximum: int | None = None) -> None:
    field.validators.append(MinValueValidator(0, gettext("不能为负数。")))
    field.widget.attrs["min"] = "0"
    if maximum is not None:
        field.validators.append(MaxValueValidator(maximum, gettext("不能大于 %(limit_value)s。")))
        field.widget.attrs["max"] = str(maximum)


class DraftStepForm(forms.Form):
    """A step whose fields are the application's own: labels and lengths come from the model."""

    model_fields: tuple[str, ...] = ()

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        self.app = app
        super().__init__(data, initial={f: getattr(app, f) for f in self.model_fields}, **kwargs)
        generated = forms.fields_for_model(Application, fields=self.model_fields)
        self.fields = {name: self.fields.get(name) or generated[name] for name in self.model_fields}
        for field in self.fields.values():
            _limit_text(field)


# --- The steps ------------------------------------------------------------------------------------

class BasicForm(DraftStepForm):
    model_fields = ("studio_name", "occupation", "category")
    category = forms.ChoiceField(label=_("工作室类别"), required=False)

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, app=app, **kwargs)
        policy = app.policy
        if policy.categories:
            self.fields["category"].choices = [("", _("请选择"))] + [(c.code, c.label) for c in policy.categories]
            article = next((c.article for c in policy.categories if c.article), "")
            if article:
                self.fields["category"].help_text = _("按《%(title)s》%(article)s 划分") % {
                    "title": policy.title, "article": article}
        else:
            del self.fields["category"]
        pattern = policy.studio_name(**{k: f"〔{v}〕" for k, v in policy_vocab.NAME_PLACEHOLDERS.items()})
        source = f"《{policy.title}》{policy.naming.article}" if policy.naming.article else gettext("市局规定")
        self.fields["studio_name"].help_text = _("命名格式：%(pattern)s（%(source)s）") % {
            "pattern": pattern, "source": source}


class SiteForm(DraftStepForm):
    model_fields = ("site_address", "site_area", "equipment", "funding_commitment", "education_fund_share")

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, app=app, **kwargs)
        policy, kind = app.policy, app.organization.kind
        _not_negative(self.fields["site_area"])
        _not_negative(self.fields["funding_commitment"])
        minimum = policy.min_site_area_m2(kind)
        site = policy.eligibility.site_area
        if minimum is not None and site is not None:
            if kind in site.by_org_kind:
                area = app.organization.training_site_area
                self.fields["site_area"].help_text = _(
                    "本单位类型的技能实训场地面积应不少于%(min)d平方米（《%(title)s》%(article)s），"
                    "按单位登记的实训场地面积审核（现登记为 %(area)s 平方米）。") % {
                    "min": minimum, "title": policy.title, "article": site.article,
                    "area": area if area is not None else "—"}
            else:
                self.fields["site_area"].help_text = _("应不少于%(min)d平方米（《%(title)s》%(article)s）。") % {
                    "min": minimum, "title": policy.title, "article": site.article}
        share = policy.min_education_fund_percent(kind)
        if share is None:
            del self.fields["education_fund_share"]
        else:
            _not_negative(self.fields["education_fund_share"], maximum=100)
            self.fields["education_fund_share"].label = _(
                "职工教育经费用于高技能人才培养的比例（%%）（不低于%(min)d%%）") % {"min": share}
            self.fields["education_fund_share"].help_text = _("《%(title)s》%(article)s") % {
                "title": policy.title, "article": policy.eligibility.education_fund.article}


class PlanForm(DraftStepForm):
    model_fields = ("necessity", "goals", "work_plan", "support_measures", "leader_achievements",
                    "leader_achievements_text")
    leader_achievements = forms.MultipleChoiceField(label=_("领办人符合的业绩条件"), required=False,
                                                    widget=forms.CheckboxSelectMultiple)

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, app=app, **kwargs)
        leader_rules = app.policy.eligibility.leader
        if leader_rules.achievements:
            field = self.fields["leader_achievements"]
            field.choices = [(a.code, f"{a.label}（{a.article}）" if a.article else a.label)
                             for a in leader_rules.achievements]
            field.help_text = _("至少具备其中 %(n)d 项（《%(title)s》%(article)s）") % {
                "n": leader_rules.achievements_needed, "title": app.policy.title, "article": leader_rules.article}
        else:
            del self.fields["leader_achievements"]

    def clean_leader_achievements(self) -> list[str]:
        chosen = set(self.cleaned_data["leader_achievements"])
        return [code for code, _label in self.fields["leader_achievements"].choices if code in chosen]


class DeclarationsForm(forms.Form):
    declarations = forms.MultipleChoiceField(label=_("申报条件承诺"), required=False,
                                             widget=forms.CheckboxSelectMultiple)
    consent = forms.BooleanField(
        label=_("我已阅读《个人信息处理告知书》，并已将其内容告知领办人和工作室成员、取得其同意"
                "（含处理身份证号码等敏感个人信息的单独同意）。"), required=False)

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, initial={"declarations": app.declarations}, **kwargs)
        conditions = app.policy.eligibility.conditions
        self.fields["declarations"].choices = [(c.code, f"{c.label}（{c.article}）" if c.article else c.label)
                                               for c in conditions]
        self.fields["declarations"].help_text = _("请逐项核实后勾选；勾选即承诺申报单位和领办人符合该项条件。")

    def clean_declarations(self) -> list[str]:
        chosen = set(self.cleaned_data["declarations"])
        return [code for code, _label in self.fields["declarations"].choices if code in chosen]


class PersonForm(forms.Form):
    """A leader or a member: found by 身份证号, so a person in two studios is one record."""

    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=40, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
    job_category = forms.ChoiceField(label=_("岗位类别"), choices=JobCategory.choices, initial=JobCategory.WORKER,
                                     help_text=_("女职工的法定退休年龄按岗位类别确定。"))
    skill_level = forms.TypedChoiceField(label=_("职业技能等级"), coerce=int, empty_value=None, required=False,
                                         choices=[("", _("未取得"))] + list(SkillLevel.choices))
    ich_inheritor_level = forms.ChoiceField(label=_("非遗传承人级别"), required=False,
                                            choices=Person._meta.get_field("ich_inheritor_level").choices)
    honours = forms.CharField(label=_("荣誉称号"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("如 首席技师、全国技术能手，每行一项"))
    mobile = forms.CharField(label=_("手机号码"), max_length=20, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))

    def clean_id_number(self) -> str:
        value = normalize_id_number(self.cleaned_data["id_number"])
        if value:
            validate_id_number(value)
        return value

    def clean_mobile(self) -> str:
        value = re.sub(r"[\s-]", "", self.cleaned_data["mobile"])
        if value and not MOBILE_RE.match(value):
            raise ValidationError(_("手机号码应为以 1 开头的11位数字。"), code="mobile")
        return value

    def require_identity(self) -> None:
        if not self.cleaned_data.get("name") and "name" not in self.errors:
            self.add_error("name", _("请填写姓名。"))
        if not self.cleaned_data.get("id_number") and "id_number" not in self.errors:
            self.add_error("id_number", _("请填写身份证号：人员按身份证号登记。"))

    def person_attrs(self) -> dict[str, Any]:
        data = self.cleaned_data
        attrs = {k: data[k] for k in ("name", "job_category", "skill_level", "ich_inheritor_level", "honours")}
        if data["mobile"]:
            attrs["mobile"] = data["mobile"]
        return attrs


class LeaderForm(PersonForm):
    """Once saved, the ID number and phone are never put back into the page; blank keeps them."""

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        self.leader = app.leader
        initial = {}
        if self.leader is not None:
            initial = {k: getattr(self.leader, k) for k in ("name", "job_category", "skill_level",
                                                           "ich_inheritor_level", "honours")}
        super().__init__(data, initial=initial, **kwargs)
        if self.leader is not None:
            self.fields["id_number"].help_text = _("已登记：%(masked)s。不更换领办人请留空。") % {
                "masked": self.leader.masked_id_number}
            if self.leader.mobile:
                self.fields["mobile"].help_text = _("已登记：%(masked)s。不修改请留空。") % {
                    "masked": self.leader.masked_mobile}

    @property
    def is_blank(self) -> bool:
        return self.leader is None and not any(self.cleaned_data.get(k) for k in ("name", "id_number", "honours",
                                                                                   "mobile"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.is_blank:
            if self.leader is not None and not cleaned.get("id_number") and "id_number" not in self.errors:
                cleaned["id_number"] = self.leader.id_number
            self.require_identity()
        return cleaned


class MemberForm(PersonForm):
    role = forms.ChoiceField(label=_("成员角色"), choices=ApplicationMember.MemberRole.choices,
                             initial=ApplicationMember.MemberRole.MEMBER)
    field_order = ["name", "id_number", "role"]

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.require_identity()
        return cleaned


class ProjectForm(forms.ModelForm):
    class Meta:
        model = ApplicationProject
        fields = ("name", "objective", "content", "duration_months")

    def __init__(self, data: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        for field in self.fields.values():
            _limit_text(field)
        self.fields["duration_months"].validators.append(MinValueValidator(1, gettext("至少为 1 个月。")))
        self.fields["duration_months"].validators.append(MaxValueValidator(120, gettext("不能超过 120 个月。")))


STEP_FORMS: dict[str, type[forms.Form]] = {
    "basic": BasicForm, "leader": LeaderForm, "members": MemberForm, "site": SiteForm, "projects": ProjectForm,
    "plan": PlanForm, "declarations": DeclarationsForm,
}


# --- Rounds, uploads, submission, withdrawal --------------------------------------------------------

class RoundForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    title = forms.CharField(label=_("批次名称"), max_length=100, help_text=_("如 2026年度技能大师工作室申报"))
    opens_on = forms.DateField(label=_("开始申报日期"), widget=forms.DateInput(attrs={"type": "date"}))
    closes_on = forms.DateField(label=_("截止申报日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any = None, *, city: Any, **kwargs: Any) -> None:
        self.city = city
        super().__init__(data, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        year, title = cleaned.get("year"), cleaned.get("title")
        if year and title and Round.objects.filter(city=self.city, year=year, title=title).exists():
            self.add_error("title", _("%(year)d年度已有同名批次。") % {"year": year})
        return cleaned


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料类别"))
    file = forms.FileField(label=_("选择文件"), error_messages={"required": _("请选择要上传的文件。")})

    def __init__(self, data: Any = None, files: Any = None, *, app: Application, **kwargs: Any) -> None:
        super().__init__(data, files, **kwargs)
        self.fields["kind"].choices = [(m.code, m.label) for m in app.policy.materials_for(app.organization.kind)]


class SubmitForm(forms.Form):
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写撤回理由。")})
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
