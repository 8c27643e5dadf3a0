"""The lists a bureau clerk works with, filtered, and exported as XLSX or CSV with Chinese headers.

A `Dataset` is one list: the rows in the user's jurisdiction (dashboards.Scope), a filter form, and
its columns. The same definition serves the page (reviews:data) and the file, so what is exported is
exactly what the page lists. Personal data is masked (portal.masking) in both.

Exporting is an action (`do_create_export`): the request validates the filters, counts the rows and
records an `ExportJob` and an `export.create` audit row. A small export is built at once and served in
the same response; a larger one goes to the Celery task `run_export`, and its page shows the progress
and, when done, the download link. Each download is audited (`export.download`). The file is kept in
the job's row for EXPORT_RETENTION_DAYS, then dropped.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from celery import shared_task
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import access, audit
from portal.masking import mask_id_number, mask_phone
from portal.models import District, SkillLevel
from portal.policies import Policy
from portal.policies import vocab as policy_vocab
from portal.spreadsheet import FORMULA_START
from reviews import dashboards
from reviews.dashboards import Scope
from reviews.models import ExportJob
from workshops.models import AnnualPlan, Application, Assessment, Disbursement, Round, Studio, StudioRecord
from workshops.states import STAGE_STATES, AppState, StudioState

EXPORT_INLINE_ROWS = 2000  # up to this many rows the file is built in the request (well under a second)
EXPORT_RETENTION_DAYS = 7
PROGRESS_EVERY = 500
STALE_AFTER = timedelta(minutes=15)  # a RUNNING job this old lost its worker; a redelivered task takes it over
PAGE_SIZE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Label = str | Promise


# --- access ---------------------------------------------------------------------------------------

@access.rule("export.create")
def _export_create(user: Any, dataset: Any) -> bool:
    """Whoever has a dashboard may list and export their jurisdiction's records."""
    return access.can(user, "dashboard.view")


@access.rule("export.download")
def _export_download(user: Any, job: Any) -> bool:
    """An export is its exporter's: a file of a jurisdiction's records is not passed around by link."""
    return job is not None and job.created_by_id == user.pk and access.can(user, "dashboard.view")


@access.scope("reviews.exportjob")
def _export_jobs(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(created_by=user)


# --- datasets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    header: Label
    value: Callable[[Any], Any]
    width: int = 14
    listed: bool = True  # shown on the page as well as exported


class DatasetForm(forms.Form):
    """Filters; every field optional. Choices come from the user's city and its policies."""

    q = forms.CharField(label=gettext_lazy("名称包含"), required=False, max_length=100)

    def __init__(self, data: Mapping[str, Any] | None, *, scope: Scope, policies: dict[str, Policy]) -> None:
        super().__init__(data or None)
        self.scope = scope
        if "district" in self.fields:
            if scope.is_district:
                del self.fields["district"]
            else:
                districts = District.objects.filter(city_id=scope.city_id).order_by("code").values_list("pk", "name")
                self.fields["district"].choices = [("", _("全部"))] + [(str(pk), name) for pk, name in districts]
        if "category" in self.fields:
            categories = {c.code: c.label for p in policies.values() for c in p.categories}
            self.fields["category"].choices = [("", _("全部"))] + sorted(categories.items())

    def used(self) -> dict[str, str]:
        """The filters actually set, as submitted (stored on the export job, shown on its sheet)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {name: str(self.data.get(name)) for name in self.fields if self.data.get(name) not in (None, "")}

    def described(self) -> list[tuple[str, str]]:
        """The filters in words, for the export's 说明 sheet."""
        out = []
        for name, raw in self.used().items():
            f = self.fields[name]
            shown = dict(f.choices).get(raw, raw) if hasattr(f, "choices") else raw
            out.append((str(f.label), str(shown)))
        return out


def _choice(label: Label, choices: Iterable[tuple[Any, Any]]) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[("", gettext_lazy("全部")), *choices])


def _year_field(label: Label) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=2000, max_value=2100)


class _DistrictMixin(forms.Form):
    district = forms.ChoiceField(label=gettext_lazy("县区/镇街"), required=False)


def _district_filter(qs: QuerySet[Any], data: dict[str, Any], path: str = "") -> QuerySet[Any]:
    if data.get("district"):
        qs = qs.filter(**{f"{path}district_id": int(data["district"])})
    return qs


def _yes_no(value: bool | None) -> str:
    return "" if value is None else (_("是") if value else _("否"))


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def _masked_id(person: Any) -> str:
    return mask_id_number(person.id_number) if person is not None else ""


@dataclass(frozen=True)
class Dataset:
    code: str
    label: Label
    form_class: type[DatasetForm]
    base: Callable[[Scope], QuerySet[Any]]
    apply: Callable[[QuerySet[Any], dict[str, Any], Scope, dict[str, Policy]], QuerySet[Any]]
    columns: Callable[[dict[str, Policy]], list[Column]]
    order: tuple[str, ...]
    help: Label = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def form(self, data: Mapping[str, Any] | None, scope: Scope, policies: dict[str, Policy]) -> DatasetForm:
        return self.form_class(data, scope=scope, policies=policies)

    def rows(self, scope: Scope, form: DatasetForm, policies: dict[str, Policy]) -> QuerySet[Any]:
        qs = self.base(scope)
        if form.is_bound and form.is_valid():
            qs = self.apply(qs, form.cleaned_data, scope, policies)
        return qs.order_by(*self.order)


# 1. applications -----------------------------------------------------------------------------------

class ApplicationFilter(_DistrictMixin, DatasetForm):
    round = forms.ChoiceField(label=gettext_lazy("申报批次"), required=False)
    year = _year_field(gettext_lazy("年度"))
    state = _choice(gettext_lazy("状态"), [c for c in AppState.choices if c[0] != AppState.DRAFT])
    category = forms.ChoiceField(label=gettext_lazy("类别"), required=False)
    overdue = forms.BooleanField(label=gettext_lazy("仅显示超过本环节办理期限的"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rounds = Round.objects.filter(city_id=self.scope.city_id).order_by("-year", "-opens_on", "-pk")
        self.fields["round"].choices = [("", _("全部"))] + [(str(r.pk), r.title) for r in rounds[:50]]


def _applications(scope: Scope) -> QuerySet[Application]:
    return dashboards.applications_in(scope).select_related("round", "organization", "district", "leader")


def _apply_applications(qs: QuerySet[Application], d: dict[str, Any], scope: Scope,
                        policies: dict[str, Policy]) -> QuerySet[Application]:
    if d.get("q"):
        qs = qs.filter(Q(studio_name__icontains=d["q"]) | Q(organization__name__icontains=d["q"]))
    if d.get("round"):
        qs = qs.filter(round_id=int(d["round"]))
    if d.get("year"):
        qs = qs.filter(round__year=d["year"])
    if d.get("state"):
        qs = qs.filter(state=d["state"])
    if d.get("category"):
        qs = qs.filter(category=d["category"])
    if d.get("overdue"):
        qs = qs.filter(state__in=list(STAGE_STATES.values()), stage_due_on__lt=timezone.localdate())
    return _district_filter(qs, d)


def _application_columns(policies: dict[str, Policy]) -> list[Column]:
    today = timezone.localdate()
    states = dict(AppState.choices)
    return [
        Column(gettext_lazy("编号"), lambda a: a.pk, 8),
        Column(gettext_lazy("申报批次"), lambda a: a.round.title, 28, listed=False),
        Column(gettext_lazy("年度"), lambda a: a.round.year, 8),
        Column(gettext_lazy("工作室名称"), lambda a: a.studio_name, 36),
        Column(gettext_lazy("申报单位"), lambda a: a.organization.name, 30),
        Column(gettext_lazy("统一社会信用代码"), lambda a: a.organization.uscc, 22, listed=False),
        Column(gettext_lazy("县区/镇街"), lambda a: a.district.name, 14),
        Column(gettext_lazy("职业（工种）"), lambda a: a.occupation, 16),
        Column(gettext_lazy("类别"), lambda a: dashboards.category_label(policies, a.round.policy_version, a.category)
               if a.category else "", 14, listed=False),
        Column(gettext_lazy("领办人"), lambda a: a.leader.name if a.leader_id else "", 10),
        Column(gettext_lazy("领办人身份证号"), lambda a: _masked_id(a.leader) if a.leader_id else "", 22,
               listed=False),
        Column(gettext_lazy("状态"), lambda a: str(states[a.state]), 12),
        Column(gettext_lazy("提交时间"), lambda a: _date(a.submitted_at), 18, listed=False),
        Column(gettext_lazy("本环节办理期限"), lambda a: a.stage_due_on, 14),
        Column(gettext_lazy("逾期"), lambda a: _yes_no(a.state in STAGE_STATES.values() and a.stage_due_on is not None
                                                       and a.stage_due_on < today), 6),
        Column(gettext_lazy("专家评审得分"), lambda a: a.score, 10, listed=False),
        Column(gettext_lazy("排名"), lambda a: a.rank, 6, listed=False),
    ]


# 2. studios ----------------------------------------------------------------------------------------

class StudioFilter(_DistrictMixin, DatasetForm):
    state = _choice(gettext_lazy("状态"), StudioState.choices)
    category = forms.ChoiceField(label=gettext_lazy("类别"), required=False)
    occupation = forms.CharField(label=gettext_lazy("职业（工种）"), required=False, max_length=100)
    year = _year_field(gettext_lazy("设立年度"))
    due = _choice(gettext_lazy("待办"), [("assessment", gettext_lazy("本年度到期考核、尚未录入")),
                                        ("plan", gettext_lazy("本年度工作计划逾期未报"))])


def _studios(scope: Scope) -> QuerySet[Studio]:
    return dashboards.studios_in(scope).select_related("organization", "district", "leader")


def _apply_studios(qs: QuerySet[Studio], d: dict[str, Any], scope: Scope,
                   policies: dict[str, Policy]) -> QuerySet[Studio]:
    if d.get("q"):
        qs = qs.filter(Q(name__icontains=d["q"]) | Q(organization__name__icontains=d["q"]))
    if d.get("state"):
        qs = qs.filter(state=d["state"])
    if d.get("category"):
        qs = qs.filter(category=d["category"])
    if d.get("occupation"):
        qs = qs.filter(occupation__icontains=d["occupation"])
    if d.get("year"):
        qs = qs.filter(established_on__year=d["year"])
    today = timezone.localdate()
    if d.get("due") == "assessment":
        # The same rule as the assessment dashboard's count (dashboards.periodic_due_condition).
        qs = (dashboards.annotate_periodic(qs.filter(state__in=dashboards.STANDING_STATES), policies, today.year)
              .filter(dashboards.periodic_due_condition(policies, today.year), assessed=False))
    elif d.get("due") == "plan":
        condition, _problems, _first = dashboards.plan_overdue_condition(policies, today.year, today)
        qs = qs.filter(condition, state__in=dashboards.STANDING_STATES).exclude(
            Exists(AnnualPlan.objects.filter(studio=OuterRef("pk"), year=today.year)))
    return _district_filter(qs, d)


def _studio_columns(policies: dict[str, Policy]) -> list[Column]:
    states = dict(StudioState.choices)
    return [
        Column(gettext_lazy("编号"), lambda s: s.pk, 8),
        Column(gettext_lazy("工作室名称"), lambda s: s.name, 36),
        Column(gettext_lazy("依托单位"), lambda s: s.organization.name, 30),
        Column(gettext_lazy("县区/镇街"), lambda s: s.district.name, 14),
        Column(gettext_lazy("领办人"), lambda s: s.leader.name, 10),
        Column(gettext_lazy("领办人身份证号"), lambda s: _masked_id(s.leader), 22, listed=False),
        Column(gettext_lazy("领办人手机号码"), lambda s: mask_phone(s.leader.mobile), 16, listed=False),
        Column(gettext_lazy("职业（工种）"), lambda s: s.occupation, 16),
        Column(gettext_lazy("类别"), lambda s: dashboards.category_label(policies, s.policy_version, s.category)
               if s.category else "", 14),
        Column(gettext_lazy("状态"), lambda s: str(states[s.state]), 14),
        Column(gettext_lazy("设立日期"), lambda s: s.established_on, 12),
        Column(gettext_lazy("设立文号"), lambda s: s.establishment_doc, 20, listed=False),
        Column(gettext_lazy("扶持（培育建设）期满日期"), lambda s: s.support_ends_on, 14, listed=False),
        Column(gettext_lazy("适用办法版本"), lambda s: s.policy_version, 10, listed=False),
    ]


# 3. money paid ------------------------------------------------------------------------------------

class DisbursementFilter(_DistrictMixin, DatasetForm):
    year = _year_field(gettext_lazy("拨付年度"))
    subsidy = forms.ChoiceField(label=gettext_lazy("资金项目"), required=False)

    def __init__(self, *args: Any, policies: dict[str, Policy], **kwargs: Any) -> None:
        super().__init__(*args, policies=policies, **kwargs)
        codes = {s.code: s.label for p in policies.values() for s in p.subsidies}
        self.fields["subsidy"].choices = [("", _("全部"))] + sorted(codes.items(), key=lambda kv: kv[1])


def _disbursements(scope: Scope) -> QuerySet[Disbursement]:
    return scope.narrow(Disbursement.objects.all(), "studio__").select_related(
        "studio", "studio__organization", "studio__district", "recipient")


def _apply_disbursements(qs: QuerySet[Disbursement], d: dict[str, Any], scope: Scope,
                         policies: dict[str, Policy]) -> QuerySet[Disbursement]:
    if d.get("q"):
        qs = qs.filter(Q(studio__name__icontains=d["q"]) | Q(studio__organization__name__icontains=d["q"]))
    if d.get("year"):
        qs = qs.filter(paid_on__year=d["year"])
    if d.get("subsidy"):
        qs = qs.filter(subsidy=d["subsidy"])
    return _district_filter(qs, d, "studio__")


def _subsidy(policies: dict[str, Policy], row: Disbursement) -> Any:
    policy = policies.get(row.studio.policy_version)
    return policy.subsidy(row.subsidy) if policy else None


def _disbursement_columns(policies: dict[str, Policy]) -> list[Column]:
    levels = dict(SkillLevel.choices)
    return [
        Column(gettext_lazy("工作室"), lambda r: r.studio.name, 36),
        Column(gettext_lazy("依托单位"), lambda r: r.studio.organization.name, 30, listed=False),
        Column(gettext_lazy("县区/镇街"), lambda r: r.studio.district.name, 14),
        Column(gettext_lazy("资金项目"), lambda r: getattr(_subsidy(policies, r), "label", r.subsidy), 24),
        Column(gettext_lazy("依据条款"), lambda r: getattr(_subsidy(policies, r), "article", ""), 14, listed=False),
        Column(gettext_lazy("金额（元）"), lambda r: r.amount, 14),
        Column(gettext_lazy("人数/项数"), lambda r: r.quantity, 8, listed=False),
        Column(gettext_lazy("证书等级"), lambda r: str(levels.get(r.level, "")) if r.level else "", 12, listed=False),
        Column(gettext_lazy("领取人"), lambda r: r.recipient.name if r.recipient_id else "", 10, listed=False),
        Column(gettext_lazy("领取人身份证号"), lambda r: _masked_id(r.recipient) if r.recipient_id else "", 22,
               listed=False),
        Column(gettext_lazy("拨付日期"), lambda r: r.paid_on, 12),
        Column(gettext_lazy("拨付依据"), lambda r: r.basis, 30, listed=False),
        Column(gettext_lazy("审批人"), lambda r: r.approver, 10, listed=False),
        Column(gettext_lazy("工作室状态"), lambda r: r.studio.get_state_display(), 12, listed=False),
    ]


# 4. assessments and acceptances -------------------------------------------------------------------

class AssessmentFilter(_DistrictMixin, DatasetForm):
    period = _year_field(gettext_lazy("考核年度"))
    kind = _choice(gettext_lazy("类别"), Assessment.Kind.choices)
    result = _choice(gettext_lazy("结论"), [("passed", gettext_lazy("合格/通过")), ("failed", gettext_lazy("不合格"))])


def _assessments(scope: Scope) -> QuerySet[Assessment]:
    return scope.narrow(Assessment.objects.all(), "studio__").select_related("studio", "studio__district")


def _apply_assessments(qs: QuerySet[Assessment], d: dict[str, Any], scope: Scope,
                       policies: dict[str, Policy]) -> QuerySet[Assessment]:
    if d.get("q"):
        qs = qs.filter(studio__name__icontains=d["q"])
    if d.get("period"):
        qs = qs.filter(period=d["period"])
    if d.get("kind"):
        qs = qs.filter(kind=d["kind"])
    if d.get("result"):
        qs = qs.filter(passed=d["result"] == "passed")
    return _district_filter(qs, d, "studio__")


def _grade(policies: dict[str, Policy], a: Assessment) -> str:
    policy = policies.get(a.studio.policy_version)
    grade = next((g for g in policy.assessment.grades if g.code == a.grade), None) if policy else None
    return grade.label if grade else a.grade


def _assessment_columns(policies: dict[str, Policy]) -> list[Column]:
    return [
        Column(gettext_lazy("工作室"), lambda a: a.studio.name, 36),
        Column(gettext_lazy("县区/镇街"), lambda a: a.studio.district.name, 14),
        Column(gettext_lazy("类别"), lambda a: a.get_kind_display(), 14),
        Column(gettext_lazy("年度"), lambda a: a.period, 8),
        Column(gettext_lazy("考核日期"), lambda a: a.conducted_on, 12),
        Column(gettext_lazy("总分"), lambda a: a.total, 8),
        Column(gettext_lazy("等级"), lambda a: _grade(policies, a), 10),
        Column(gettext_lazy("结论"), lambda a: _("合格") if a.passed else _("不合格"), 8),
        Column(gettext_lazy("会同部门"), lambda a: "、".join(str(policy_vocab.DEPARTMENTS.get(d, d))
                                                          for d in a.joint_with or []), 16, listed=False),
        Column(gettext_lazy("考核意见"), lambda a: a.opinion, 40, listed=False),
    ]


# 5. the studios' ledger ---------------------------------------------------------------------------

class RecordFilter(_DistrictMixin, DatasetForm):
    year = _year_field(gettext_lazy("年度"))
    kind = _choice(gettext_lazy("类别"), list(policy_vocab.RECORD_KINDS.items()))
    level = _choice(gettext_lazy("取得的职业技能等级"), [(str(v), label) for v, label in SkillLevel.choices])
    new_certificate = forms.BooleanField(label=gettext_lazy("仅当年新取得证书的"), required=False)


def _records(scope: Scope) -> QuerySet[StudioRecord]:
    return scope.narrow(StudioRecord.objects.all(), "studio__").select_related("studio", "studio__district")


def _apply_records(qs: QuerySet[StudioRecord], d: dict[str, Any], scope: Scope,
                   policies: dict[str, Policy]) -> QuerySet[StudioRecord]:
    if d.get("q"):
        qs = qs.filter(Q(studio__name__icontains=d["q"]) | Q(title__icontains=d["q"]))
    if d.get("year"):
        qs = qs.filter(date__year=d["year"])
    if d.get("kind"):
        qs = qs.filter(kind=d["kind"])
    if d.get("level"):
        qs = qs.filter(level=int(d["level"]))
    if d.get("new_certificate"):
        qs = qs.filter(is_new_certificate=True)
    return _district_filter(qs, d, "studio__")


def _record_columns(policies: dict[str, Policy]) -> list[Column]:
    levels = dict(SkillLevel.choices)
    return [
        Column(gettext_lazy("工作室"), lambda r: r.studio.name, 36),
        Column(gettext_lazy("县区/镇街"), lambda r: r.studio.district.name, 14),
        Column(gettext_lazy("类别"), lambda r: str(policy_vocab.RECORD_KINDS.get(r.kind, r.kind)), 14),
        Column(gettext_lazy("日期"), lambda r: r.date, 12),
        Column(gettext_lazy("名称/事项"), lambda r: r.title, 30),
        Column(gettext_lazy("人员姓名"), lambda r: r.person_name, 10),
        Column(gettext_lazy("取得的职业技能等级"), lambda r: str(levels.get(r.level, "")) if r.level else "", 14),
        # A certificate number identifies its holder: masked like an ID number.
        Column(gettext_lazy("证书编号"), lambda r: mask_id_number(r.certificate_no), 20, listed=False),
        Column(gettext_lazy("当年新取得证书"), lambda r: _yes_no(r.is_new_certificate), 10, listed=False),
        Column(gettext_lazy("以师带徒协议签订日期"), lambda r: r.agreement_on, 14, listed=False),
    ]


# 6. annual plans -----------------------------------------------------------------------------------

class PlanFilter(_DistrictMixin, DatasetForm):
    year = _year_field(gettext_lazy("年度"))
    late = _choice(gettext_lazy("报送情况"),
                   [("late", gettext_lazy("逾期报送")), ("on_time", gettext_lazy("按期报送"))])


def _plans(scope: Scope) -> QuerySet[AnnualPlan]:
    return scope.narrow(AnnualPlan.objects.all(), "studio__").select_related("studio", "studio__district")


def _apply_plans(qs: QuerySet[AnnualPlan], d: dict[str, Any], scope: Scope,
                 policies: dict[str, Policy]) -> QuerySet[AnnualPlan]:
    if d.get("q"):
        qs = qs.filter(studio__name__icontains=d["q"])
    if d.get("year"):
        qs = qs.filter(year=d["year"])
    if d.get("late"):
        qs = qs.filter(is_late=d["late"] == "late")
    return _district_filter(qs, d, "studio__")


def _plan_columns(policies: dict[str, Policy]) -> list[Column]:
    return [
        Column(gettext_lazy("工作室"), lambda p: p.studio.name, 36),
        Column(gettext_lazy("县区/镇街"), lambda p: p.studio.district.name, 14),
        Column(gettext_lazy("年度"), lambda p: p.year, 8),
        Column(gettext_lazy("报送期限"), lambda p: p.due_on, 12),
        Column(gettext_lazy("报送时间"), lambda p: _date(p.filed_at), 18),
        Column(gettext_lazy("逾期报送"), lambda p: _yes_no(p.is_late), 8),
        Column(gettext_lazy("汇总上报时间"), lambda p: _date(p.forwarded_at), 18, listed=False),
    ]


DATASETS: dict[str, Dataset] = {d.code: d for d in (
    Dataset("applications", gettext_lazy("申报"), ApplicationFilter, _applications, _apply_applications,
            _application_columns, ("-round__year", "round_id", "pk"),
            gettext_lazy("已提交的申报（草稿不在其列）。")),
    Dataset("studios", gettext_lazy("工作室"), StudioFilter, _studios, _apply_studios, _studio_columns,
            ("-established_on", "name", "pk")),
    Dataset("disbursements", gettext_lazy("资金拨付"), DisbursementFilter, _disbursements, _apply_disbursements,
            _disbursement_columns, ("-paid_on", "-pk")),
    Dataset("assessments", gettext_lazy("考核与验收"), AssessmentFilter, _assessments, _apply_assessments,
            _assessment_columns, ("-period", "-conducted_on", "pk")),
    Dataset("records", gettext_lazy("工作室台账"), RecordFilter, _records, _apply_records, _record_columns,
            ("-date", "-pk")),
    Dataset("plans", gettext_lazy("年度工作计划"), PlanFilter, _plans, _apply_plans, _plan_columns,
            ("-year", "studio__name", "pk")),
)}


def dataset_or_none(code: str) -> Dataset | None:
    return DATASETS.get(code)


@dataclass
class Listing:
    """A dataset in a user's scope with the filters of a request: the page and the file both use it."""

    dataset: Dataset
    scope: Scope
    policies: dict[str, Policy]
    form: DatasetForm
    columns: list[Column]

    @property
    def rows(self) -> QuerySet[Any]:
        return self.dataset.rows(self.scope, self.form, self.policies)

    def cells(self, obj: Any, *, listed_only: bool = False) -> list[Any]:
        return [c.value(obj) for c in self.columns if c.listed or not listed_only]


def listing(dataset: Dataset, user: Any, data: Mapping[str, Any] | None) -> Listing:
    """PermissionDenied unless the user has a dashboard (their jurisdiction is the scope)."""
    scope = dashboards.scope_for(user)
    access.require(user, "export.create", dataset)
    policies = dashboards.policies_of(scope)
    form = dataset.form(data, scope, policies)
    return Listing(dataset, scope, policies, form, dataset.columns(policies))


# --- writers --------------------------------------------------------------------------------------

def _text(value: Any) -> Any:
    """Plain values for a file: dates and numbers stay typed for XLSX; None is empty."""
    if value is None:
        return ""
    if isinstance(value, Promise):
        return str(value)
    return value


def display(value: Any) -> str:
    """A cell as the page shows it."""
    value = _text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_cell(value: Any) -> str:
    value = _text(value)
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # BOM: Excel and WPS then read the file as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def write_xlsx(headers: list[str], widths: list[int], rows: Iterable[list[Any]], *, sheet: str,
               about: list[tuple[str, str]]) -> bytes:
    """A write-only workbook (rows streamed to a temporary file, memory flat): the data sheet with a
    bold, frozen header row, then a 说明 sheet saying what the file is."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    data = book.create_sheet(sheet[:31])
    for i, width in enumerate(widths, start=1):
        data.column_dimensions[get_column_letter(i)].width = width
    data.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(value: Any) -> Any:
        value = _text(value)
        if isinstance(value, str):
            c = WriteOnlyCell(data, value=ILLEGAL_XML.sub("", value))
            c.data_type = "s"  # never a formula, whatever the text starts with
            return c
        if isinstance(value, datetime):
            c = WriteOnlyCell(data, value=value)
            c.number_format = "yyyy-mm-dd hh:mm"
            return c
        if isinstance(value, date):
            c = WriteOnlyCell(data, value=value)
            c.number_format = "yyyy-mm-dd"
            return c
        return value

    header_cells = []
    for h in headers:
        c = WriteOnlyCell(data, value=h)
        c.font = bold
        header_cells.append(c)
    data.append(header_cells)
    for row in rows:
        data.append([cell(v) for v in row])
    info = book.create_sheet(_("说明"))
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 60
    for key, value in about:
        info.append([key, value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- actions --------------------------------------------------------------------------------------

def _file_name(listing_: Listing, fmt: str, now: datetime) -> str:
    return f"{listing_.dataset.label}（{listing_.scope.label}）{timezone.localtime(now):%Y%m%d-%H%M}.{fmt}"


def do_create_export(dataset: Dataset, *, actor: Any, data: Mapping[str, Any], fmt: str) -> ExportJob:
    """Record an export of the filtered list; build it now when small, else queue the task."""
    found = listing(dataset, actor, data)  # PermissionDenied first: a refused role learns nothing more
    if fmt not in ExportJob.Format.values:
        raise ValidationError({"format": _("请选择导出格式。")})
    if found.form.is_bound and not found.form.is_valid():
        raise ValidationError(_("筛选条件有误，未导出。"))
    total = found.rows.count()
    with transaction.atomic():
        job = ExportJob.objects.create(
            dataset=dataset.code, title=str(dataset.label), format=fmt, filters=found.form.used(), total_rows=total,
            created_by=actor, city_id=found.scope.city_id, district_id=found.scope.district_id,
            file_name=_file_name(found, fmt, timezone.now()))
        audit.record(actor, "export.create", job, data={
            "dataset": dataset.code, "format": fmt, "filters": job.filters, "rows": total, "scope": found.scope.key})
        if total > _inline_rows():
            transaction.on_commit(lambda: run_export.delay(job.pk))
    if total <= _inline_rows():
        run_export.apply(args=(job.pk,), throw=True)  # in this request: small, a fraction of a second
        job.refresh_from_db()
    return job


def _inline_rows() -> int:
    return int(getattr(settings, "EXPORT_INLINE_ROWS", EXPORT_INLINE_ROWS))


def do_download_export(job: ExportJob, *, actor: Any, request: HttpRequest | None = None) -> HttpResponse:
    access.require(actor, "export.download", job)
    if job.state != ExportJob.State.DONE:
        raise ValidationError(_("文件尚未生成或已过期。"))
    content = ExportJob.objects.filter(pk=job.pk).values_list("content", flat=True).get()
    if content is None:
        raise ValidationError(_("文件尚未生成或已过期。"))
    data = bytes(content)
    audit.record(actor, "export.download", job, request=request,
                 data={"dataset": job.dataset, "format": job.format, "rows": job.total_rows, "sha256": job.sha256})
    response = HttpResponse(data, content_type=XLSX_TYPE if job.format == ExportJob.Format.XLSX
                            else "text/csv; charset=utf-8")
    response["Content-Disposition"] = _attachment(job.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


# --- the task ---------------------------------------------------------------------------------------

def purge_expired(now: datetime | None = None) -> int:
    """Drop export files older than EXPORT_RETENTION_DAYS (the job row and the audit rows stay)."""
    now = now or timezone.now()
    days = int(getattr(settings, "EXPORT_RETENTION_DAYS", EXPORT_RETENTION_DAYS))
    return ExportJob.objects.filter(state=ExportJob.State.DONE, finished_at__lt=now - timedelta(days=days)).update(
        state=ExportJob.State.EXPIRED, content=None)


def _rows_with_progress(job_id: int, found: Listing, total: int) -> Iterator[list[Any]]:
    done = 0
    for obj in found.rows.iterator(chunk_size=1000):
        yield found.cells(obj)
        done += 1
        if done % PROGRESS_EVERY == 0:
            ExportJob.objects.filter(pk=job_id).update(done_rows=done)
    ExportJob.objects.filter(pk=job_id).update(done_rows=done, total_rows=max(total, done))


def build(job: ExportJob) -> bytes:
    """The file for `job`, in its exporter's scope as it is now (a changed role exports nothing)."""
    dataset = DATASETS[job.dataset]
    found = listing(dataset, job.created_by, job.filters or None)
    if found.form.is_bound and not found.form.is_valid():
        raise ValidationError(_("筛选条件有误，未导出。"))
    total = found.rows.count()
    ExportJob.objects.filter(pk=job.pk).update(total_rows=total)
    headers = [str(c.header) for c in found.columns]
    rows = _rows_with_progress(job.pk, found, total)
    if job.format == ExportJob.Format.CSV:
        return write_csv(headers, rows)
    about = [(_("数据"), str(dataset.label)), (_("范围"), found.scope.label),
             *[(label, value) for label, value in found.form.described()],
             (_("导出人"), str(job.created_by)), (_("导出时间"), f"{timezone.localtime():%Y-%m-%d %H:%M}"),
             (_("行数"), str(total)),
             (_("说明"), _("身份证号、手机号码、证书编号已按规定脱敏；本文件仅供工作使用，请勿外传。"))]
    return write_xlsx(headers, [c.width for c in found.columns], rows, sheet=str(dataset.label), about=about)


@shared_task(bind=True, name="reviews.exports.run_export", autoretry_for=(OSError,), retry_backoff=5,
             retry_kwargs={"max_retries": 3})
def run_export(self: Any, job_id: int) -> str:
    """Build one export. Safe to run twice: only a queued job (or one whose worker died) is taken, and
    only the run that took it may finish it."""
    now = timezone.now()
    purge_expired(now)
    taken = ExportJob.objects.filter(
        Q(state=ExportJob.State.QUEUED) | Q(state=ExportJob.State.RUNNING, started_at__lt=now - STALE_AFTER),
        pk=job_id).update(state=ExportJob.State.RUNNING, started_at=now, done_rows=0)
    if not taken:
        return ExportJob.objects.filter(pk=job_id).values_list("state", flat=True).first() or "missing"
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        content = build(job)
    except (PermissionDenied, ValidationError) as exc:
        message = _("导出人已无权导出这些数据。") if isinstance(exc, PermissionDenied) else "；".join(exc.messages)
        ExportJob.objects.filter(pk=job_id, started_at=now).update(state=ExportJob.State.FAILED, message=message,
                                                                   finished_at=timezone.now())
        return ExportJob.State.FAILED
    except Exception:
        ExportJob.objects.filter(pk=job_id, started_at=now).update(
            state=ExportJob.State.FAILED, message=_("生成失败，请重新导出；多次失败请联系系统管理员。"),
            finished_at=timezone.now())
        raise
    finished = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.RUNNING, started_at=now).update(
        state=ExportJob.State.DONE, content=content, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
        finished_at=timezone.now())
    return ExportJob.State.DONE if finished else "superseded"


def querystring(data: Mapping[str, Any], form: DatasetForm) -> str:
    """The form's filters as a query string (pagination and export links keep them)."""
    from urllib.parse import urlencode

    return urlencode({name: data.get(name) for name in form.fields if data.get(name) not in (None, "")})
