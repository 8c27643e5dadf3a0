"""Onboarding a city: its existing units, studios (leaders, members, plaques, revocations), assessments and
payments from XLSX templates, checked row by row with the rules of the web forms, then imported.

Four templates, imported in this order because each refers to rows of the one before:

1. 依托单位 (units), keyed by 统一社会信用代码;
2. 工作室 + 成员 (studios with their leader, plaque and revocation; members), a studio keyed by its unit's
   统一社会信用代码 and its leader's 身份证号, a person by 身份证号 (blind index);
3. 考核 (assessments), keyed by studio, kind and year;
4. 资金拨付 (payments), matched as a whole row (a second identical payment in one file is a second payment).

`check_content` reads a workbook and judges every row (new / update / already there / error) without writing;
`write` imports the rows that are ready. A job (`ImportJob`) runs both as Celery tasks: nothing is written
until the clerk chooses to import, and then only if the whole file is clean or they chose "good rows only".
Rows already in the portal are skipped, so importing the same file twice creates nothing the second time.
`export_workbook` writes a city's data back in the same templates (round trip).

Rules are reused, not restated: 统一社会信用代码 and 身份证号 by portal.validators (through the Organization
model and the person form), people by actions.prepare_person (never another unit's person), the leader by
eligibility.leader_eligibility on the establishment date, assessments by actions.assessment_outcome,
payments by actions.checked_disbursement (entitlements and caps of the studio's policy, money.entitlement).
"""
from __future__ import annotations

import copy
import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Sum
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import access, audit
from portal.crypto import blind_index
from portal.models import City, District, JobCategory, Organization, OrgKind, Person, PolicyVersion, SkillLevel, User
from portal.policies import Policy, get_policy_version
from portal.policies import vocab as policy_vocab
from portal.roles import Role
from portal.validators import normalize_id_number, normalize_uscc, validate_uscc
from workshops import actions, money
from workshops.eligibility import leader_eligibility
from workshops.import_forms import PersonRowForm
from workshops.models import (
    ApplicationMember,
    Assessment,
    Disbursement,
    ImportJob,
    Plaque,
    Revocation,
    Sanction,
    Studio,
    StudioMember,
)
from workshops.states import StudioState

logger = logging.getLogger(__name__)

BATCH = 1000
MAX_ROWS = 50_000  # per sheet; a city has hundreds of studios, this only stops a runaway sheet
TEMPLATE_ROWS = 5000  # rows prepared with dropdowns and text format in a blank template
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROGRESS_EVERY = 500

NEW, UPDATE, SAME, ERROR = "new", "update", "same", "error"
RESULT_LABELS = {
    "units_created": gettext_lazy("新增单位"), "units_updated": gettext_lazy("更新单位"),
    "studios_created": gettext_lazy("新增工作室"), "members_created": gettext_lazy("新增成员"),
    "people_created": gettext_lazy("新登记人员"), "people_updated": gettext_lazy("更新人员信息"),
    "plaques_created": gettext_lazy("牌匾"), "revocations_created": gettext_lazy("撤销记录"),
    "sanctions_created": gettext_lazy("申报限制"), "assessments_created": gettext_lazy("新增考核记录"),
    "payments_created": gettext_lazy("新增拨付记录"), "skipped_existing": gettext_lazy("已存在，跳过"),
    "skipped_errors": gettext_lazy("有错误，未导入"),
}
STATUS_LABELS = {NEW: gettext_lazy("新增"), UPDATE: gettext_lazy("更新"), SAME: gettext_lazy("已存在，跳过"),
                 ERROR: gettext_lazy("有错误")}


# --- Access ------------------------------------------------------------------------------------------------

@access.scope("workshops.importjob")
def _import_jobs(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(city_id=user.city_id) if user.role == Role.CITY else qs.none()


@access.rule("import.manage")
def _import_manage(user: Any, obj: Any) -> bool:
    """City staff import and export their own city's data (a City or one of its ImportJobs)."""
    city_id = obj.pk if isinstance(obj, City) else getattr(obj, "city_id", None)
    return user.role == Role.CITY and city_id is not None and city_id == user.city_id


# --- Choices and cells -------------------------------------------------------------------------------------

def _fold(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).split()).lower()


class Choices:
    """A vocabulary a cell may name by its label (as the template's dropdown writes it), the label without
    its parenthesis (“技师” for “技师（二级）”), the parenthesis alone (“二级”) or its code."""

    def __init__(self, pairs: Iterable[tuple[Any, Any]], aliases: dict[str, Any] | None = None) -> None:
        # Labels may be lazy translations: resolved on first use, not when the module is imported.
        self._pairs, self._aliases = list(pairs), aliases or {}
        self._by_alias: dict[str, Any] | None = None

    @property
    def pairs(self) -> list[tuple[Any, str]]:
        return [(code, str(label)) for code, label in self._pairs]

    def _index(self) -> dict[str, Any]:
        if self._by_alias is None:
            index: dict[str, Any] = {}
            for code, label in self.pairs:
                names = [label, str(code), re.sub(r"[（(].*?[）)]", "", label),
                         *re.findall(r"[（(](.*?)[）)]", label)]
                for name in names:
                    if name.strip():
                        index.setdefault(_fold(name), code)
            for alias, code in self._aliases.items():
                index.setdefault(_fold(alias), code)
            self._by_alias = index
        return self._by_alias

    @property
    def labels(self) -> list[str]:
        return [label for _code, label in self.pairs]

    def get(self, text: str) -> Any:
        return self._index().get(_fold(text))

    def label(self, code: Any) -> str:
        return next((label for c, label in self.pairs if c == code), "" if code in (None, "") else str(code))


SKILL_LEVELS = Choices(SkillLevel.choices, {level.name.lower(): level.value for level in SkillLevel})
ORG_KINDS = Choices(OrgKind.choices)
JOB_CATEGORIES = Choices(JobCategory.choices)
ICH_LEVELS = Choices([c for c in Person._meta.get_field("ich_inheritor_level").choices if c[0]])
STUDIO_STATES = Choices(StudioState.choices, {"建设中": StudioState.ESTABLISHED, "已验收": StudioState.ACCEPTED})
MEMBER_ROLES = Choices(ApplicationMember.MemberRole.choices)
ASSESSMENT_KINDS = Choices(Assessment.Kind.choices)
VERDICTS = Choices([(True, gettext_lazy("合格")), (False, gettext_lazy("不合格"))], {"通过": True, "不通过": False})
DEPARTMENTS = Choices(policy_vocab.DEPARTMENTS.items(), {"财政": "finance", "教育": "education"})
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    required: bool = False
    note: str = ""
    text: bool = False  # an identifier: typed as text, since Excel keeps only 15 digits of a number
    options: tuple[str, ...] = ()
    width: int = 14


@dataclass(frozen=True)
class SheetSpec:
    name: str
    cols: tuple[Col, ...]
    optional: bool = False

    def col(self, key: str) -> Col:
        return next(c for c in self.cols if c.key == key)


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int  # the spreadsheet's row number (the header is row 1); 0 for the file as a whole
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


def _messages(exc: ValidationError) -> dict[str | None, list[str]]:
    if hasattr(exc, "error_dict"):
        return {key: [str(m) for m in ValidationError(errors).messages] for key, errors in exc.error_dict.items()}
    return {None: [str(m) for m in exc.messages]}


class Row:
    """One spreadsheet row: typed reads of its cells, each failure recorded with its column."""

    def __init__(self, sheet: SheetSpec, number: int, values: dict[str, Any]) -> None:
        self.sheet, self.number, self.values = sheet, number, values
        self.problems: list[Problem] = []

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, key: str | None, message: Any) -> None:
        label = str(self.sheet.col(key).label) if key else ""
        # One problem per cell: the first is the cause ("not text" → "required" → "below the minimum level").
        if label and any(p.column == label for p in self.problems):
            return
        self.problems.append(Problem(str(self.sheet.name), self.number, label, str(message)))

    def fail_all(self, exc: ValidationError, columns: dict[str | None, str | None], default: str | None) -> None:
        """Put a form's or an action's ValidationError on the columns its fields came from."""
        for key, messages in _messages(exc).items():
            for message in messages:
                self.fail(columns.get(key, default), message)

    def raw(self, key: str) -> Any:
        return self.values.get(key)

    def text(self, key: str, *, required: bool = False) -> str:
        value = cell_text(self.raw(key))
        if required and not value:
            self.fail(key, _("必填，不能为空。"))
        return value

    def identifier(self, key: str, *, required: bool = True) -> str:
        raw = self.raw(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            self.fail(key, _("请以文本格式填写（数字格式会丢失末几位），可在数字前加英文单引号 '。"))
            return ""
        return self.text(key, required=required)

    def date(self, key: str, *, required: bool = False) -> date | None:
        raw = self.raw(key)
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = cell_text(raw)
        if not text:
            if required:
                self.fail(key, _("必填，不能为空。"))
            return None
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.fail(key, _("“%(value)s”不是有效日期，请按 2013-06-01 的格式填写。") % {"value": text})
        return None

    def integer(self, key: str, *, required: bool = False, low: int | None = None,
                high: int | None = None) -> int | None:
        text = self.text(key, required=required)
        if not text:
            return None
        try:
            value = int(Decimal(text))
        except (InvalidOperation, ValueError):
            self.fail(key, _("“%(value)s”不是整数。") % {"value": text})
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(key, _("应在 %(low)s 到 %(high)s 之间。") % {"low": low, "high": high})
            return None
        return value

    def decimal(self, key: str, *, required: bool = False) -> Decimal | None:
        text = self.text(key, required=required).replace(",", "").replace("，", "")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail(key, _("“%(value)s”不是数字。") % {"value": text})
            return None
        if not value.is_finite():
            self.fail(key, _("“%(value)s”不是数字。") % {"value": text})
            return None
        return value

    def choice(self, key: str, choices: Choices, *, required: bool = False) -> Any:
        text = self.text(key, required=required)
        if not text:
            return None
        code = choices.get(text)
        if code is None:
            self.fail(key, _("“%(value)s”不是可选值，应为：%(allowed)s。") % {
                "value": text, "allowed": "、".join(choices.labels)})
        return code


# --- The city's context ------------------------------------------------------------------------------------

class Context:
    """The city, its districts and policy versions, read once per check."""

    def __init__(self, city: City, *, actor: User | None = None, today: date | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.city = city
        self.actor = actor
        self.today = today or timezone.localdate()
        self.progress = progress or (lambda phase, done, total: None)
        self.versions = list(PolicyVersion.objects.filter(city=city).defer("data").order_by("effective_from", "pk"))
        self.districts = list(District.objects.filter(city=city).order_by("code"))
        self.district_choices = Choices([(d.pk, d.name) for d in self.districts],
                                        {d.code: d.pk for d in self.districts})
        self._by_date: dict[date, tuple[str | None, str]] = {}
        self._choices: dict[tuple[str, str], Choices] = {}

    def policy(self, version: str) -> Policy:
        return get_policy_version(self.city.code, version)

    @property
    def policies(self) -> list[Policy]:
        return [self.policy(v.version) for v in self.versions]

    def version_on(self, on: date) -> tuple[str | None, str]:
        """(version, note) of the city's policy for a studio established on `on`, or (None, error).

        The version in force that day. A date before every stored version (温州's first studios predate
        温人社发〔2013〕200号 of 2013-05-08) takes the earliest version, with a note: those studios are
        managed under it today. A date after a version expired with no successor loaded is an error."""
        if on not in self._by_date:
            # registry.version_in_force's choice, made in memory: a file may hold thousands of distinct dates
            # and a city has a handful of versions (latest start wins, then the one loaded last).
            in_force = [v for v in self.versions
                        if v.effective_from <= on and (v.effective_until is None or v.effective_until >= on)]
            if in_force:
                best = max(in_force, key=lambda v: (v.effective_from, v.loaded_at, v.pk))
                self._by_date[on] = (best.version, "")
            else:
                first = self.versions[0] if self.versions else None
                if first is not None and on < first.effective_from:
                    self._by_date[on] = (first.version, _(
                        "设立日期早于本市最早的管理办法《%(title)s》（%(start)s 起施行），按该办法管理。") % {
                        "title": first.title, "start": first.effective_from})
                else:
                    self._by_date[on] = (None, _(
                        "%(date)s 本市没有施行中的管理办法（已载入：%(versions)s），请先载入适用的办法版本。") % {
                        "date": on, "versions": "；".join(
                            f"{v.title} {v.effective_from}—{v.effective_until or ''}" for v in self.versions)
                        or "—"})
        return self._by_date[on]

    def choices(self, policy: Policy, what: str) -> Choices:
        key = (policy.version, what)
        if key not in self._choices:
            if what == "category":
                pairs = [(c.code, c.label) for c in policy.categories]
            elif what == "ground":
                pairs = [(g.code, g.label) for g in policy.revocation.grounds]
            else:
                pairs = [(s.code, s.label) for s in policy.subsidies]
            self._choices[key] = Choices(pairs)
        return self._choices[key]

    def union(self, what: str) -> list[tuple[str, str]]:
        """(code, label) of categories/grounds/subsidies/scoring items across the city's versions."""
        seen: dict[str, str] = {}
        for policy in self.policies:
            if what == "category":
                pairs = [(c.code, c.label) for c in policy.categories]
            elif what == "ground":
                pairs = [(g.code, g.label) for g in policy.revocation.grounds]
            elif what == "subsidy":
                pairs = [(s.code, s.label) for s in policy.subsidies]
            else:
                table = policy.assessment.scoring
                pairs = [(i.code, i.label) for s in table.sections for i in s.items] if table else []
            for code, label in pairs:
                seen.setdefault(code, label)
        return list(seen.items())


# --- Templates ---------------------------------------------------------------------------------------------

KIND_ORDER = [ImportJob.Kind.UNITS, ImportJob.Kind.STUDIOS, ImportJob.Kind.ASSESSMENTS, ImportJob.Kind.PAYMENTS]
KIND_NOTES = {
    ImportJob.Kind.UNITS: gettext_lazy("先导入：工作室表按统一社会信用代码找依托单位。"),
    ImportJob.Kind.STUDIOS: gettext_lazy("工作室（含领办人、牌匾、撤销信息）一行一个；成员表一行一人，"
                                         "按依托单位统一社会信用代码和领办人身份证号对应工作室。"),
    ImportJob.Kind.ASSESSMENTS: gettext_lazy("历年考核与验收；导入不改变工作室状态（状态以工作室表为准）。"),
    ImportJob.Kind.PAYMENTS: gettext_lazy("已拨付的资金；按工作室适用办法的资金项目和额度校验，请最后导入。"),
}

_STUDIO_KEY = (
    Col("org_uscc", gettext_lazy("依托单位统一社会信用代码"), True, text=True, width=22),
    Col("leader_id", gettext_lazy("领办人身份证号"), True, text=True, width=21),
    Col("studio_name", gettext_lazy("工作室名称"), note=gettext_lazy("可选，填写时须与系统中的名称一致（核对用）"),
        width=30),
)


def sheets_for(kind: str, ctx: Context) -> list[SheetSpec]:
    district_names = tuple(d.name for d in ctx.districts)
    levels = tuple(SKILL_LEVELS.labels)
    if kind == ImportJob.Kind.UNITS:
        return [SheetSpec(_("依托单位"), (
            Col("name", _("单位名称"), True, width=30),
            Col("uscc", _("统一社会信用代码"), True, _("18位，GB 32100-2015"), text=True, width=22),
            Col("kind", _("单位类型"), True, options=tuple(ORG_KINDS.labels), width=22),
            Col("district", _("所在县区/镇街"), True, _("本市的县区/镇街名称或行政区划代码"), options=district_names),
            Col("address", _("通信地址"), width=30),
            Col("legal_representative", _("法定代表人")),
            Col("contact_name", _("联系人")),
            Col("contact_phone", _("联系电话"), text=True),
            Col("training_site_area", _("技能实训场地面积（平方米）")),
        ))]
    if kind == ImportJob.Kind.STUDIOS:
        categories = tuple(label for _c, label in ctx.union("category"))
        return [
            SheetSpec(_("工作室"), (
                Col("name", _("工作室名称"), True, width=30),
                Col("org_uscc", _("依托单位统一社会信用代码"), True, _("须已在依托单位表中导入"), text=True, width=22),
                Col("occupation", _("职业（工种）"), True),
                Col("category", _("类别"), note=_("本市办法分类别的必填，其他城市留空"), options=categories),
                Col("established_on", _("设立日期"), True, _("如 2013-06-01；决定适用哪一版管理办法")),
                Col("establishment_doc", _("设立文号"), width=20),
                Col("state", _("状态"), True, options=tuple(STUDIO_STATES.labels), width=18),
                Col("support_ends_on", _("扶持期满日期"), note=_("留空则按办法的扶持期计算")),
                Col("plaque_number", _("牌匾编号"), width=18),
                Col("plaque_issued_on", _("授牌日期")),
                Col("revoked_on", _("撤销日期"), note=_("状态为已撤销的必填")),
                Col("revocation_ground", _("撤销情形"), note=_("状态为已撤销的必填，须为办法规定的情形"),
                    options=tuple(label for _c, label in ctx.union("ground")), width=24),
                Col("revocation_notice", _("撤销通报内容"), width=30),
                Col("leader_name", _("领办人姓名"), True),
                Col("leader_id", _("领办人身份证号"), True, _("18位，GB 11643-1999"), text=True, width=21),
                Col("leader_mobile", _("领办人手机号码"), text=True),
                Col("leader_level", _("领办人职业技能等级"), True, options=levels, width=18),
                Col("leader_job_category", _("领办人岗位类别"), note=_("留空为工人岗位"),
                    options=tuple(JOB_CATEGORIES.labels), width=18),
                Col("leader_ich", _("领办人非遗传承人级别"), options=tuple(ICH_LEVELS.labels)),
                Col("leader_honours", _("领办人荣誉称号"), width=24),
            )),
            SheetSpec(_("成员"), (
                *_STUDIO_KEY,
                Col("name", _("成员姓名"), True),
                Col("id_number", _("成员身份证号"), True, text=True, width=21),
                Col("role", _("成员角色"), note=_("留空为工作室成员"), options=tuple(MEMBER_ROLES.labels), width=24),
                Col("mobile", _("手机号码"), text=True),
                Col("skill_level", _("职业技能等级"), options=levels, width=18),
                Col("job_category", _("岗位类别"), options=tuple(JOB_CATEGORIES.labels), width=18),
            ), optional=True),
        ]
    if kind == ImportJob.Kind.ASSESSMENTS:
        items = ctx.union("scoring")
        scored = [Col(f"score:{code}", _("得分：%(item)s") % {"item": label}, width=12) for code, label in items]
        if items:
            scored.append(Col("bonus", _("加分"), note=_("加分项合计，超过上限的按上限计")))
        return [SheetSpec(_("考核"), (
            *_STUDIO_KEY,
            Col("kind", _("考核类别"), True, options=tuple(ASSESSMENT_KINDS.labels), width=18),
            Col("period", _("年度"), True),
            Col("conducted_on", _("考核日期"), True),
            Col("passed", _("考核结论"), note=_("合格/不合格；有评分表的由得分计算"), options=tuple(VERDICTS.labels)),
            *scored,
            Col("joint_with", _("会同部门"), note=_("多个用顿号分隔，如 财政部门、教育部门"), width=24),
            Col("opinion", _("考核意见"), width=30),
        ))]
    if kind == ImportJob.Kind.PAYMENTS:
        return [SheetSpec(_("资金拨付"), (
            *_STUDIO_KEY,
            Col("subsidy", _("资金项目"), True, _("工作室适用办法规定的资金项目"),
                options=tuple(label for _c, label in ctx.union("subsidy")), width=30),
            Col("amount", _("金额（元）"), True),
            Col("quantity", _("人数/项数"), note=_("留空为 1")),
            Col("level", _("证书等级"), note=_("仅按取证等级给予的奖励填写"), options=levels, width=18),
            Col("recipient_id", _("领取人身份证号"), note=_("发给个人的填写，须已登记"), text=True, width=21),
            Col("paid_on", _("拨付日期"), True),
            Col("basis", _("拨付依据"), True, width=24),
            Col("approver", _("审批人"), True),
        ))]
    raise ValueError(kind)


def _header(col: Col) -> str:
    return f"{col.label}*" if col.required else str(col.label)


def build_workbook(kind: str, ctx: Context, rows: dict[str, list[list[Any]]] | None = None) -> bytes:
    """The template of `kind` for the city (blank, or filled with `rows` per sheet: an export).

    Written in openpyxl's write-only mode (an export holds ten thousand rows): column formats, widths and
    dropdowns are set before the first row, and identifier cells carry the text format themselves, since
    Excel turns an 18-digit number typed into a General cell into 4.10402E+17."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook(write_only=True)
    specs = sheets_for(kind, ctx)
    option_lists: list[tuple[str, tuple[str, ...]]] = []
    bold, required_font = Font(bold=True), Font(bold=True, color="C00000")
    fill, wrap = PatternFill("solid", fgColor="F2F2F2"), Alignment(wrap_text=True, vertical="center")
    for spec in specs:
        ws = wb.create_sheet(str(spec.name))
        data = (rows or {}).get(str(spec.name), [])
        last = max(TEMPLATE_ROWS, len(data) + 1)
        header = []
        for i, col in enumerate(spec.cols, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(col.width, len(str(col.label)) * 2 + 2)
            if col.text:
                ws.column_dimensions[letter].number_format = "@"
            if col.options:
                option_lists.append((f"{spec.name}·{col.label}", col.options))
                opt_letter = get_column_letter(len(option_lists))
                ref = f"{quote_sheetname('选项')}!${opt_letter}$2:${opt_letter}${len(col.options) + 1}"
                dv = DataValidation(type="list", formula1=ref, allow_blank=True, showErrorMessage=False)
                dv.add(f"{letter}2:{letter}{last}")
                ws.data_validations.append(dv)  # add_data_validation() is missing in write-only mode
            cell = WriteOnlyCell(ws, value=_header(col))
            cell.font, cell.fill, cell.alignment = (required_font if col.required else bold), fill, wrap
            header.append(cell)
        ws.freeze_panes = "A2"
        ws.append(header)
        text_cols = {i for i, col in enumerate(spec.cols) if col.text}
        for values in data:
            if text_cols:
                values = list(values)
                for i in text_cols:
                    if i < len(values) and values[i] not in (None, ""):
                        cell = WriteOnlyCell(ws, value=values[i])
                        cell.number_format = "@"
                        values[i] = cell
            ws.append(values)
    help_ws = wb.create_sheet("填写说明")
    help_ws.append([_("%(city)s技能大师工作室数据导入模板：%(kind)s") % {
        "city": ctx.city.name, "kind": ImportJob.Kind(kind).label}])
    help_ws.append([str(KIND_NOTES[kind])])
    help_ws.append([_("标 * 的列必填；列的顺序可以调整，列名不能修改；日期写成 2013-06-01；"
                      "身份证号、统一社会信用代码请按文本填写。")])
    help_ws.append([])
    help_ws.append([_("工作表"), _("列"), _("必填"), _("说明"), _("可选值")])
    for spec in specs:
        for col in spec.cols:
            help_ws.append([str(spec.name), str(col.label), _("是") if col.required else "", str(col.note),
                            "、".join(col.options)])
    options = wb.create_sheet("选项")
    options.sheet_state = "hidden"
    options.append([title for title, _values in option_lists])
    for j in range(max((len(values) for _t, values in option_lists), default=0)):
        options.append([values[j] if j < len(values) else None for _t, values in option_lists])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def template_workbook(city: City, kind: str) -> bytes:
    return build_workbook(kind, Context(city))


def file_name(city: City, kind: str, *, export: bool = False) -> str:
    what = _("导出") if export else _("导入模板")
    return f"{city.name}{ImportJob.Kind(kind).label}{what}.xlsx".replace("、", "")


# --- Upload checks -----------------------------------------------------------------------------------------

def check_upload(f: UploadedFile) -> bytes:
    """An XLSX workbook by its content: a ZIP with a workbook part, no macros, not too large, opened by openpyxl."""
    from openpyxl import load_workbook

    limit = settings.UPLOAD_MAX_BYTES
    if not f.size:
        raise ValidationError(_("文件为空。"), code="empty")
    if f.size > limit:
        raise ValidationError(_("文件过大：不能超过 %(mb)d MB。") % {"mb": limit // (1024 * 1024)}, code="too_large")
    name = (f.name or "").lower()
    if name.endswith((".xlsm", ".xltm", ".xlam")):
        raise ValidationError(_("不接受启用宏的工作簿（.xlsm），请在 Excel 中另存为“Excel 工作簿（*.xlsx）”后上传。"),
                              code="macro")
    f.seek(0)
    data = f.read()
    f.seek(0)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(_("这是旧版 Excel 97-2003（.xls）或 WPS 格式文件，"
                                "请另存为“Excel 工作簿（*.xlsx）”后上传。"), code="xls")
    not_xlsx = ValidationError(_("文件不是 Excel 工作簿（.xlsx）：按文件内容识别，改扩展名无效。"
                                 "请下载模板填写后上传。"), code="bad_type")
    if not data.startswith(b"PK\x03\x04"):
        raise not_xlsx
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {i.filename.lower() for i in infos}
            content_types = archive.read("[Content_Types].xml") if "[content_types].xml" in names else b""
    except (zipfile.BadZipFile, KeyError, OSError):
        raise not_xlsx from None
    if "xl/workbook.xml" not in names or not content_types:
        raise not_xlsx
    if any(n.endswith("vbaproject.bin") for n in names) or b"macroEnabled" in content_types:
        raise ValidationError(_("工作簿含有宏，不予接受：请另存为不含宏的“Excel 工作簿（*.xlsx）”后上传。"),
                              code="macro")
    # A few kilobytes of ZIP can inflate to gigabytes: refuse what would not fit in memory to read.
    if sum(i.file_size for i in infos) > max(limit * 20, 100 * 1024 * 1024):
        raise ValidationError(_("文件解压后过大，不予接受。"), code="too_large")
    try:
        load_workbook(io.BytesIO(data), read_only=True).close()
    except Exception:  # openpyxl raises many kinds for a damaged file; each means the same to the clerk
        raise ValidationError(_("无法打开该工作簿：文件可能已损坏。请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。"),
                              code="corrupt") from None
    return data


# --- Reading -----------------------------------------------------------------------------------------------

def _header_key(text: Any) -> str:
    return _fold(cell_text(text).rstrip("*＊").strip())


def read_sheets(content: bytes, specs: list[SheetSpec]) -> tuple[dict[str, list[Row]], list[Problem]]:
    """The data rows of each sheet (blank rows skipped), and what is wrong with the file as a whole."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sheets: dict[str, list[Row]] = {}
    problems: list[Problem] = []
    try:
        for spec in specs:
            name = str(spec.name)
            sheets[name] = []
            if name not in wb.sheetnames:
                if not spec.optional:
                    problems.append(Problem(name, 0, "", _("缺少工作表“%(name)s”：请使用下载的模板。") % {
                        "name": name}))
                continue
            rows = wb[name].iter_rows(values_only=True)
            header = next(rows, None) or ()
            by_label = {_header_key(c.label): c for c in spec.cols}
            positions: dict[int, Col] = {}
            for i, text in enumerate(header):
                col = by_label.get(_header_key(text))
                if col is not None and col not in positions.values():
                    positions[i] = col
            missing = [c for c in spec.cols if c.required and c not in positions.values()]
            for col in missing:
                problems.append(Problem(name, 1, str(col.label), _("缺少必填列“%(col)s”：列名不能修改。") % {
                    "col": col.label}))
            if missing:
                continue
            for number, values in enumerate(rows, start=2):
                if not any(v is not None and cell_text(v) for v in values):
                    continue
                if len(sheets[name]) >= MAX_ROWS:
                    problems.append(Problem(name, number, "", _("一个工作表最多 %(n)d 行，请拆分文件。") % {
                        "n": MAX_ROWS}))
                    break
                sheets[name].append(Row(spec, number, {col.key: values[i] for i, col in positions.items()
                                                       if i < len(values)}))
    finally:
        wb.close()
    return sheets, problems


# --- Checking ----------------------------------------------------------------------------------------------

@dataclass
class Checked:
    row: Row
    status: str
    payload: Any = None
    note: str = ""

    @property
    def ready(self) -> bool:
        return self.status in (NEW, UPDATE)


@dataclass
class Outcome:
    kind: str
    sheets: list[SheetSpec]
    rows: list[Checked] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # what the writer needs beyond the rows

    @property
    def error_rows(self) -> int:
        return sum(1 for c in self.rows if c.status == ERROR)

    @property
    def clean(self) -> bool:
        return not self.file_problems and not self.error_rows

    def ready(self, sheet: str | None = None) -> list[Checked]:
        return [c for c in self.rows if c.ready and (sheet is None or str(c.row.sheet.name) == sheet)]

    def report(self) -> dict[str, Any]:
        sheets = []
        for spec in self.sheets:
            rows = [c for c in self.rows if c.row.sheet is spec]
            counts = Counter(c.status for c in rows)
            sheets.append({"name": str(spec.name), "total": len(rows), **{s: counts.get(s, 0) for s in STATUS_LABELS},
                           "ready_rows": _ranges(c.row.number for c in rows if c.ready),
                           "same_rows": _ranges(c.row.number for c in rows if c.status == SAME)})
        notes = Counter(c.note for c in self.rows if c.note and c.status != ERROR)
        problems = [p for c in self.rows for p in c.row.problems]
        return {"kind": self.kind, "sheets": sheets, "file_problems": [p.as_dict() for p in self.file_problems],
                "problems": [p.as_dict() for p in problems], "notes": [
                    _("%(note)s（%(n)d 行）") % {"note": note, "n": n} for note, n in notes.items()],
                "total": len(self.rows), "errors": self.error_rows, "ready": len(self.ready())}


def _ranges(numbers: Iterable[int]) -> str:
    """2, 3, 4, 7 → "2–4、7"."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return "、".join(f"{a}–{b}" if a != b else str(a) for a, b in spans)


def _chunks(items: list[Any], size: int = 900) -> Iterator[list[Any]]:
    # 900: below SQLite's historical limit of 999 parameters per statement.
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _finish(row: Row, status: str, payload: Any = None, note: str = "") -> Checked:
    return Checked(row, ERROR if row.problems else status, None if row.problems else payload, note)


def _valid_uscc(row: Row, key: str) -> str:
    value = normalize_uscc(row.identifier(key))
    if value:
        try:
            validate_uscc(value)
        except ValidationError as exc:
            row.fail_all(exc, {}, key)
            return ""
    return value


def _orgs_by_uscc(usccs: Iterable[str], *, whole: bool = False) -> dict[str, Organization]:
    """Units by code. Rows that only refer to a unit need not decrypt its phone number (`whole`: the units
    file compares every field)."""
    wanted = sorted({u for u in usccs if u})
    found: dict[str, Organization] = {}
    qs = Organization.objects.select_related("city")
    if not whole:
        qs = qs.only("uscc", "name", "kind", "city_id", "district_id", "city__name", "city__code")
    for chunk in _chunks(wanted):
        found.update({o.uscc: o for o in qs.filter(uscc__in=chunk)})
    return found


def _people_by_hash(id_numbers: Iterable[str]) -> dict[str, Person]:
    hashes = sorted({blind_index(normalize_id_number(n)) for n in id_numbers if n})
    found: dict[str, Person] = {}
    for chunk in _chunks(hashes):
        found.update({p.id_hash: p for p in Person.objects.filter(id_hash__in=chunk)})
    return found


def _unit_in_city(row: Row, key: str, uscc: str, orgs: dict[str, Organization], ctx: Context) -> Organization | None:
    if not uscc:
        return None
    org = orgs.get(uscc)
    if org is None:
        row.fail(key, _("依托单位未登记（%(uscc)s）：请先导入依托单位表。") % {"uscc": uscc})
    elif org.city_id != ctx.city.pk:
        row.fail(key, _("该单位登记在%(city)s，不属于本市。") % {"city": org.city.name})
        return None
    return org


# --- Units --------------------------------------------------------------------------------------------------

UNIT_FIELDS = ("name", "kind", "district", "address", "legal_representative", "contact_name", "contact_phone",
               "training_site_area")
UNIT_COLUMNS = {"name": "name", "uscc": "uscc", "kind": "kind", "district": "district", "address": "address",
                "legal_representative": "legal_representative", "contact_name": "contact_name",
                "contact_phone": "contact_phone", "training_site_area": "training_site_area"}


def _check_units(ctx: Context, sheets: dict[str, list[Row]], outcome: Outcome) -> None:
    rows = next(iter(sheets.values()))
    existing = _orgs_by_uscc((normalize_uscc(cell_text(r.raw("uscc"))) for r in rows), whole=True)
    seen: dict[str, int] = {}
    districts = {d.pk: d for d in ctx.districts}
    for i, row in enumerate(rows):
        if i % PROGRESS_EVERY == 0:
            ctx.progress("check", i, len(rows))
        uscc = _valid_uscc(row, "uscc")
        kind = row.choice("kind", ORG_KINDS, required=True)
        district_id = row.choice("district", ctx.district_choices, required=True)
        area = row.decimal("training_site_area")
        values = {"name": row.text("name", required=True), "kind": kind, "address": row.text("address"),
                  "legal_representative": row.text("legal_representative"),
                  "contact_name": row.text("contact_name"), "contact_phone": row.text("contact_phone"),
                  "training_site_area": area}
        if uscc in seen:
            row.fail("uscc", _("与第%(row)d行的统一社会信用代码重复。") % {"row": seen[uscc]})
        elif uscc:
            seen[uscc] = row.number
        current = existing.get(uscc)
        if current is not None and current.city_id != ctx.city.pk:
            row.fail("uscc", _("该统一社会信用代码已登记为%(city)s的单位“%(name)s”。") % {
                "city": current.city.name, "name": current.name})
        if not row.ok:
            outcome.rows.append(_finish(row, ERROR))
            continue
        district = districts[district_id]
        candidate = Organization(uscc=uscc, city=ctx.city, district=district, **values)
        try:
            candidate.full_clean(exclude=["city", "district"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            row.fail_all(exc, UNIT_COLUMNS, "name")
            outcome.rows.append(_finish(row, ERROR))
            continue
        if current is None:
            outcome.rows.append(_finish(row, NEW, candidate))
            continue
        # A blank cell keeps what the portal has: an import fills in and corrects, it never erases.
        changed = {}
        for name in UNIT_FIELDS:
            new = district if name == "district" else getattr(candidate, name)
            old = current.district if name == "district" else getattr(current, name)
            if new not in (None, "") and new != old:
                changed[name] = new
        outcome.rows.append(_finish(row, UPDATE if changed else SAME, (current, changed)))


def _write_units(ctx: Context, outcome: Outcome, job: ImportJob) -> dict[str, int]:
    ready = outcome.ready()
    created = [c.payload for c in ready if c.status == NEW]
    for i, chunk in enumerate(_chunks(created, BATCH)):
        Organization.objects.bulk_create(chunk)
        ctx.progress("write", i * BATCH + len(chunk), len(ready))
    updated = []
    for checked in ready:
        if checked.status == UPDATE:
            org, changed = checked.payload
            for name, value in changed.items():
                setattr(org, name, value)
            updated.append((org, sorted(changed), checked.row.number))
    if updated:
        Organization.objects.bulk_update([o for o, _f, _r in updated], fields=list(UNIT_FIELDS), batch_size=BATCH)
    by_row = {id(c.payload): c.row.number for c in ready if c.status == NEW}
    _announce(created + [o for o, _f, _r in updated])
    _audit_rows(job, "organization.import", [(org, {"row": by_row[id(org)]}) for org in created])
    _audit_rows(job, "organization.import_update", [(org, {"row": n, "fields": fields})
                                                     for org, fields, n in updated])
    return {"units_created": len(created), "units_updated": len(updated)}


# --- People (leaders and members) ------------------------------------------------------------------------

PERSON_COLUMNS_LEADER = {"name": "leader_name", "id_number": "leader_id", "mobile": "leader_mobile",
                         "skill_level": "leader_level", "job_category": "leader_job_category",
                         "ich_inheritor_level": "leader_ich", "honours": "leader_honours"}
PERSON_COLUMNS_MEMBER = {"name": "name", "id_number": "id_number", "mobile": "mobile", "skill_level": "skill_level",
                         "job_category": "job_category"}
PERSON_FIELDS = ("name", "job_category", "skill_level", "ich_inheritor_level", "honours", "mobile", "organization")


@dataclass
class _Entry:
    person: Person
    row: int
    changed: set[str]


class People:
    """Everyone a studios file names, each once: found by blind index, checked by the person form and by
    actions.prepare_person (a person registered with another unit is never touched)."""

    def __init__(self, existing: dict[str, Person]) -> None:
        self.existing = existing
        self.entries: dict[str, _Entry] = {}
        self._form: PersonRowForm | None = None

    def resolve(self, row: Row, columns: dict[str, str], org: Organization | None) -> Person | None:
        data: dict[str, Any] = {}
        for fld, key in columns.items():
            if fld == "skill_level":
                level = row.choice(key, SKILL_LEVELS)
                data[fld] = str(level) if level else ""
            elif fld == "job_category":
                data[fld] = row.choice(key, JOB_CATEGORIES) or JobCategory.WORKER
            elif fld == "ich_inheritor_level":
                data[fld] = row.choice(key, ICH_LEVELS) or ""
            elif fld == "id_number":
                data[fld] = row.identifier(key, required=False)
            else:
                data[fld] = row.text(key)
        form = self._form.rebind(data) if self._form is not None else PersonRowForm(data)
        self._form = form
        if not form.is_valid():
            for fld, errors in form.errors.items():
                for message in errors:
                    row.fail(columns.get(fld, columns["name"]), message)
            return None
        if org is None or not row.ok:
            return None
        id_number = form.cleaned_data["id_number"]
        id_hash = blind_index(id_number)
        entry = self.entries.get(id_hash)
        if entry is not None:
            if entry.person.organization_id != org.pk:
                row.fail(columns["id_number"], _("该身份证号对应的人员登记在其他单位。如其已调入本单位，"
                                                 "请联系市人社局核实变更后再填报。"))
                return None
            if entry.person.name != form.cleaned_data["name"]:
                row.fail(columns["name"], _("与第%(row)d行同一身份证号的姓名“%(name)s”不一致。") % {
                    "row": entry.row, "name": entry.person.name})
                return None
            return entry.person
        found = self.existing.get(id_hash)
        person = copy.copy(found) if found is not None else Person(id_number=id_number)
        attrs = {k: v for k, v in form.person_attrs().items() if v not in (None, "")}
        if not row.values.get(columns.get("job_category", "")) and found is not None:
            attrs.pop("job_category", None)  # blank keeps what was registered
        try:
            actions.prepare_person(person, org, attrs, exclude=("organization",))
        except ValidationError as exc:
            row.fail_all(exc, columns, columns["name"])
            return None
        if found is None:
            person.derive_identity()
            changed = set(PERSON_FIELDS)
        else:
            changed = {f for f in PERSON_FIELDS if getattr(person, f if f != "organization" else "organization_id")
                       != getattr(found, f if f != "organization" else "organization_id")}
        self.entries[id_hash] = _Entry(person, row.number, changed)
        return person

    def save(self, used: set[int]) -> tuple[int, int]:
        """Write the people rows being imported refer to (`used`: id() of those Person objects)."""
        entries = [e for e in self.entries.values() if id(e.person) in used]
        new = [e.person for e in entries if e.person.pk is None]
        for chunk in _chunks(new, BATCH):
            Person.objects.bulk_create(chunk)
        created = {id(p) for p in new}
        changed = [e for e in entries if e.changed and id(e.person) not in created]
        by_fields: dict[tuple[str, ...], list[Person]] = defaultdict(list)
        for entry in changed:
            by_fields[tuple(sorted(entry.changed))].append(entry.person)
        for fields, people in by_fields.items():
            Person.objects.bulk_update(people, fields=list(fields), batch_size=BATCH)
        return len(new), len(changed)


# --- Studios, members, plaques, revocations ---------------------------------------------------------------

STUDIO_COLUMNS = {"name": "name", "occupation": "occupation", "category": "category",
                  "established_on": "established_on", "establishment_doc": "establishment_doc", "state": "state",
                  "support_ends_on": "support_ends_on"}


def _add_years(on: date, years: int) -> date:
    return actions._add_years(on, years)


def _state_problem(policy: Policy, state: str) -> str:
    """A state the studio's policy has no way to reach (温州 has no acceptance, so no "accepted")."""
    acceptance = policy.acceptance
    if state == StudioState.MIDTERM_ACCEPTED and not acceptance.has_milestone("midterm"):
        return _("本市办法没有中期验收，状态不能为“中期验收通过”。")
    if state == StudioState.ACCEPTED and not acceptance.has_milestone("final"):
        return _("本市办法没有验收环节，状态不能为“验收合格”。")
    if state == StudioState.PERIOD_ENDED and not policy.support_period_years:
        return _("本市办法没有扶持期，状态不能为“扶持期满”。")
    return ""


@dataclass
class StudioPlan:
    studio: Studio
    plaque: Plaque | None
    revocation: Revocation | None
    ground: Any


def _existing_studios(ctx: Context, org_ids: Iterable[int]) -> dict[tuple[int, int], list[Studio]]:
    found: dict[tuple[int, int], list[Studio]] = defaultdict(list)
    for chunk in _chunks(sorted(set(org_ids))):
        for studio in Studio.objects.filter(city=ctx.city, organization_id__in=chunk).order_by("pk"):
            studio.city = ctx.city
            found[(studio.organization_id, studio.leader_id)].append(studio)
    return found


def _check_studios(ctx: Context, sheets: dict[str, list[Row]], outcome: Outcome) -> None:
    studio_rows, member_rows = list(sheets.values())
    usccs = [normalize_uscc(cell_text(r.raw("org_uscc"))) for r in studio_rows + member_rows]
    orgs = _orgs_by_uscc(usccs)
    ids = [cell_text(r.raw("leader_id")) for r in studio_rows + member_rows]
    ids += [cell_text(r.raw("id_number")) for r in member_rows]
    people = People(_people_by_hash(i for i in ids if len(normalize_id_number(i)) == 18))
    existing = _existing_studios(ctx, [o.pk for o in orgs.values() if o.city_id == ctx.city.pk])
    numbers = sorted({cell_text(r.raw("plaque_number")) for r in studio_rows} - {""})
    plaques: dict[str, int] = {}
    for chunk in _chunks(numbers):
        plaques.update(dict(Plaque.objects.filter(number__in=chunk).values_list("number", "studio_id")))
    in_file: dict[tuple[int, int], tuple[Row, Studio | None]] = {}
    plaque_rows: dict[str, int] = {}
    total = len(studio_rows) + len(member_rows)
    for i, row in enumerate(studio_rows):
        if i % PROGRESS_EVERY == 0:
            ctx.progress("check", i, total)
        outcome.rows.append(_check_studio_row(ctx, row, orgs, people, existing, plaques, in_file, plaque_rows))
    members_seen: dict[tuple[int, int], int] = {}
    existing_members = _existing_member_keys(existing)
    for i, row in enumerate(member_rows):
        if (len(studio_rows) + i) % PROGRESS_EVERY == 0:
            ctx.progress("check", len(studio_rows) + i, total)
        outcome.rows.append(_check_member_row(ctx, row, orgs, people, existing, in_file, members_seen,
                                              existing_members))
    outcome.extra["people"] = people


def _check_studio_row(ctx: Context, row: Row, orgs: dict[str, Organization], people: People,
                      existing: dict[tuple[int, int], list[Studio]], plaques: dict[str, int],
                      in_file: dict[tuple[int, int], tuple[Row, Studio | None]],
                      plaque_rows: dict[str, int]) -> Checked:
    org = _unit_in_city(row, "org_uscc", _valid_uscc(row, "org_uscc"), orgs, ctx)
    leader_text = normalize_id_number(cell_text(row.raw("leader_id")))  # checked (and reported) by people.resolve
    found = people.existing.get(blind_index(leader_text)) if leader_text else None
    if org is not None and found is not None and existing.get((org.pk, found.pk)):
        # Already in the portal: skipped whole. Its life since (acceptance, revocation…) is recorded there.
        studio = existing[(org.pk, found.pk)][0]
        in_file.setdefault((org.pk, found.pk), (row, studio))
        stated = STUDIO_STATES.get(cell_text(row.raw("state")))
        note = ""
        if stated and stated != studio.state:
            note = _("已在平台中的工作室不因导入而改变；状态等变化请在工作室页面办理")
        return _finish(row, SAME, studio, note)
    established_on = row.date("established_on", required=True)
    state = row.choice("state", STUDIO_STATES, required=True)
    version, note = (None, "")
    if established_on is not None:
        if established_on > ctx.today:
            row.fail("established_on", _("设立日期不能晚于今天。"))
        else:
            version, note = ctx.version_on(established_on)
            if version is None:
                row.fail("established_on", note)
                note = ""
    policy = ctx.policy(version) if version else None
    category = ""
    if policy is not None:
        if policy.categories:
            category = row.choice("category", ctx.choices(policy, "category"), required=True) or ""
        elif row.text("category"):
            row.fail("category", _("本市办法不分类别，请留空。"))
        if state and _state_problem(policy, state):
            row.fail("state", _state_problem(policy, state))
    support_ends_on = row.date("support_ends_on")
    plaque_number, plaque_issued_on = row.text("plaque_number"), row.date("plaque_issued_on")
    revoked_on = row.date("revoked_on")
    ground_text = row.text("revocation_ground")
    leader = people.resolve(row, PERSON_COLUMNS_LEADER, org)
    key = (org.pk, leader.pk or id(leader)) if org is not None and leader is not None else None
    if key is not None and key in in_file:
        row.fail("leader_id", _("与第%(row)d行是同一工作室（依托单位和领办人相同）。") % {
            "row": in_file[key][0].number})
        return _finish(row, ERROR)
    if key is None or not row.ok or policy is None or established_on is None:
        if key is not None:
            in_file[key] = (row, None)
        return _finish(row, ERROR)
    assert org is not None and leader is not None
    for problem in leader_eligibility(policy, leader, org.pk, established_on):
        row.fail("leader_level", problem)
    years = policy.support_period_years
    if support_ends_on is None and years:
        support_ends_on = _add_years(established_on, years)
    elif support_ends_on is not None and support_ends_on < established_on:
        row.fail("support_ends_on", _("扶持期满日期不能早于设立日期。"))
    studio = Studio(city=ctx.city, district_id=org.district_id, organization=org, leader=leader,
                    name=row.text("name", required=True), occupation=row.text("occupation", required=True),
                    category=category, policy_version=version, state=state, established_on=established_on,
                    establishment_doc=row.text("establishment_doc"), support_ends_on=support_ends_on)
    try:
        # "state" too: clean_fields() assigns every field again, which the protected FSMField refuses.
        studio.full_clean(exclude=["application", "city", "district", "organization", "leader", "state"],
                          validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        row.fail_all(exc, STUDIO_COLUMNS, "name")
    plaque = _plaque_for(ctx, row, studio, policy, plaque_number, plaque_issued_on, revoked_on, plaques, plaque_rows)
    revocation, ground = _revocation_for(ctx, row, studio, policy, state, revoked_on, ground_text, plaque)
    in_file[key] = (row, studio if row.ok else None)
    return _finish(row, NEW, StudioPlan(studio, plaque, revocation, ground), note)


def _plaque_for(ctx: Context, row: Row, studio: Studio, policy: Policy, number: str, issued_on: date | None,
                revoked_on: date | None, plaques: dict[str, int], plaque_rows: dict[str, int]) -> Plaque | None:
    if not number:
        if issued_on is not None:
            row.fail("plaque_number", _("填写了授牌日期，请同时填写牌匾编号。"))
        return None
    if number in plaques:
        row.fail("plaque_number", _("牌匾编号已被其他工作室使用。"))
    elif number in plaque_rows:
        row.fail("plaque_number", _("与第%(row)d行的牌匾编号重复。") % {"row": plaque_rows[number]})
    plaque_rows.setdefault(number, row.number)
    if issued_on is not None:
        if issued_on < studio.established_on or issued_on > ctx.today:
            row.fail("plaque_issued_on", _("授牌日期应在设立日期和今天之间。"))
        elif studio.state != StudioState.REVOKED:
            try:
                actions.check_plaque_due(studio)
            except ValidationError as exc:
                row.fail_all(exc, {}, "plaque_issued_on")
    plaque = Plaque(studio=studio, number=number, issuing_body=policy.plaque.issued_by, issued_on=issued_on,
                    withdrawn_on=revoked_on if studio.state == StudioState.REVOKED else None)
    try:
        plaque.full_clean(exclude=["studio"], validate_unique=False)
    except ValidationError as exc:
        row.fail_all(exc, {}, "plaque_number")
    return plaque


def _revocation_for(ctx: Context, row: Row, studio: Studio, policy: Policy, state: str, revoked_on: date | None,
                    ground_text: str, plaque: Plaque | None) -> tuple[Revocation | None, Any]:
    if state != StudioState.REVOKED:
        if revoked_on is not None or ground_text:
            row.fail("revoked_on", _("只有状态为“已撤销”的工作室才填写撤销日期和撤销情形。"))
        return None, None
    if revoked_on is None:
        row.fail("revoked_on", _("已撤销的工作室请填写撤销日期。"))
    elif not studio.established_on <= revoked_on <= ctx.today:
        row.fail("revoked_on", _("撤销日期应在设立日期和今天之间。"))
    code = row.choice("revocation_ground", ctx.choices(policy, "ground"))
    if not ground_text:
        row.fail("revocation_ground", _("已撤销的工作室请填写撤销情形（%(article)s）：%(allowed)s。") % {
            "article": policy.revocation.article,
            "allowed": "、".join(ctx.choices(policy, "ground").labels)})
    ground = next((g for g in policy.revocation.grounds if g.code == code), None)
    if ground is None or revoked_on is None:
        return None, None
    notice = row.text("revocation_notice") or _("（导入的历史撤销记录）")
    return Revocation(studio=studio, ground=ground.code, is_fraud=ground.is_fraud, decided_on=revoked_on,
                      decision_body=policy.revocation.decided_by.body,
                      joint_with=sorted(policy.revocation.decided_by.joint_with), notice_text=notice,
                      plaque_recovered_on=revoked_on if plaque else None, decided_by=ctx.actor), ground


def _existing_member_keys(existing: dict[tuple[int, int], list[Studio]]) -> set[tuple[int, int]]:
    studios = [s for group in existing.values() for s in group]
    keys: set[tuple[int, int]] = set()
    for chunk in _chunks([s.pk for s in studios]):
        keys.update(StudioMember.objects.filter(studio_id__in=chunk).values_list("studio_id", "person_id"))
    by_app = {s.application_id: s.pk for s in studios if s.application_id}
    for chunk in _chunks(sorted(by_app)):
        for app_id, person_id in ApplicationMember.objects.filter(application_id__in=chunk).values_list(
                "application_id", "person_id"):
            keys.add((by_app[app_id], person_id))
    return keys


def _studio_of(row: Row, org: Organization | None, leader_id: str, people: People,
               in_file: dict[tuple[int, int], tuple[Row, Studio | None]],
               existing: dict[tuple[int, int], list[Studio]]) -> Studio | None:
    """The studio a member, assessment or payment row names (its unit + its leader's 身份证号)."""
    if org is None or not leader_id:
        return None
    id_hash = blind_index(leader_id)
    entry = people.entries.get(id_hash) if people else None
    person = entry.person if entry else (people.existing.get(id_hash) if people else None)
    key = (org.pk, (person.pk or id(person)) if person is not None else 0)
    name = row.text("studio_name")
    if key in in_file:
        studio_row, studio = in_file[key]
        if studio is None:
            row.fail("leader_id", _("所属工作室（工作室表第%(row)d行）有错误，请先改正。") % {"row": studio_row.number})
            return None
        candidates = [studio]
    else:
        candidates = existing.get(key, [])
    if name and len(candidates) > 1:
        candidates = [s for s in candidates if s.name == name] or candidates
    if not candidates:
        row.fail("leader_id", _("未找到该依托单位和领办人的工作室：请先导入工作室表。"))
        return None
    if len(candidates) > 1:
        row.fail("studio_name", _("该依托单位和领办人有多个工作室，请填写工作室名称以区分。"))
        return None
    if name and candidates[0].name != name:
        row.fail("studio_name", _("与系统中的工作室名称“%(name)s”不一致。") % {"name": candidates[0].name})
        return None
    return candidates[0]


def _check_member_row(ctx: Context, row: Row, orgs: dict[str, Organization], people: People,
                      existing: dict[tuple[int, int], list[Studio]],
                      in_file: dict[tuple[int, int], tuple[Row, Studio | None]],
                      members_seen: dict[tuple[int, int], int], existing_members: set[tuple[int, int]]) -> Checked:
    org = _unit_in_city(row, "org_uscc", _valid_uscc(row, "org_uscc"), orgs, ctx)
    studio = _studio_of(row, org, normalize_id_number(row.identifier("leader_id")), people, in_file, existing)
    role = row.choice("role", MEMBER_ROLES) or ApplicationMember.MemberRole.MEMBER
    person = people.resolve(row, PERSON_COLUMNS_MEMBER, studio.organization if studio is not None else None)
    if studio is None or person is None or not row.ok:
        return _finish(row, ERROR)
    if person is studio.leader or (person.pk and person.pk == studio.leader_id):
        row.fail("id_number", _("此人是本工作室的领办人，不必再作为成员添加。"))
        return _finish(row, ERROR)
    key = (studio.pk or id(studio), person.pk or id(person))
    if key in members_seen:
        row.fail("id_number", _("此人已是本工作室成员（第%(row)d行）。") % {"row": members_seen[key]})
        return _finish(row, ERROR)
    members_seen[key] = row.number
    if studio.pk and person.pk and (studio.pk, person.pk) in existing_members:
        return _finish(row, SAME)
    return _finish(row, NEW, StudioMember(studio=studio, person=person, role=role))


def _write_studios(ctx: Context, outcome: Outcome, job: ImportJob) -> dict[str, int]:
    people: People = outcome.extra["people"]
    studio_sheet, member_sheet = (str(s.name) for s in outcome.sheets)
    plans = [c for c in outcome.ready(studio_sheet)]
    members = [c for c in outcome.ready(member_sheet)]
    used = {id(c.payload.studio.leader) for c in plans} | {id(c.payload.person) for c in members}
    ctx.progress("write", 0, len(plans) + len(members))
    people_created, people_updated = people.save(used)
    studios = [c.payload.studio for c in plans]
    for i, chunk in enumerate(_chunks(studios, BATCH)):
        # The state comes from the data: FSMField(protected=True) refuses assignment, but a value given to
        # the constructor on creation is allowed (django_fsm only guards a second __set__).
        Studio.objects.bulk_create(chunk)
        ctx.progress("write", i * BATCH + len(chunk), len(plans) + len(members))
    Plaque.objects.bulk_create([c.payload.plaque for c in plans if c.payload.plaque], batch_size=BATCH)
    revocations = [c.payload for c in plans if c.payload.revocation]
    Revocation.objects.bulk_create([p.revocation for p in revocations], batch_size=BATCH)
    sanctions = [s for p in revocations for s in actions.revocation_sanctions(p.studio, p.ground,
                                                                               p.revocation.decided_on)]
    Sanction.objects.bulk_create(sanctions, batch_size=BATCH)
    StudioMember.objects.bulk_create([c.payload for c in members], batch_size=BATCH)
    _announce(studios, [c.payload.plaque for c in plans if c.payload.plaque], [p.revocation for p in revocations],
              sanctions, [c.payload for c in members])
    _audit_rows(job, "studio.import", [(c.payload.studio, {
        "row": c.row.number, "policy_version": c.payload.studio.policy_version,
        "plaque": c.payload.plaque.number if c.payload.plaque else "",
        "revocation_ground": c.payload.revocation.ground if c.payload.revocation else ""}) for c in plans],
        to_state=lambda s: s.state)
    by_studio: dict[Studio, list[tuple[StudioMember, int]]] = defaultdict(list)
    for c in members:
        by_studio[c.payload.studio].append((c.payload, c.row.number))
    _audit_rows(job, "studio.import_members", [(studio, {"members": [m.person_id for m, _n in rows],
                                                         "rows": [n for _m, n in rows]})
                                               for studio, rows in by_studio.items()])
    return {"studios_created": len(studios), "members_created": len(members), "people_created": people_created,
            "people_updated": people_updated, "plaques_created": sum(1 for c in plans if c.payload.plaque),
            "revocations_created": len(revocations), "sanctions_created": len(sanctions)}


# --- Assessments and payments: rows that name an existing studio -----------------------------------------

def _studio_context(ctx: Context, rows: list[Row], extra_ids: Iterable[str] = ()
                    ) -> tuple[dict[str, Organization], People, dict[tuple[int, int], list[Studio]]]:
    orgs = _orgs_by_uscc(normalize_uscc(cell_text(r.raw("org_uscc"))) for r in rows)
    ids = [cell_text(r.raw("leader_id")) for r in rows] + list(extra_ids)
    people = People(_people_by_hash(i for i in ids if len(normalize_id_number(i)) == 18))
    existing = _existing_studios(ctx, [o.pk for o in orgs.values() if o.city_id == ctx.city.pk])
    return orgs, people, existing


def _row_studio(ctx: Context, row: Row, orgs: dict[str, Organization], people: People,
                existing: dict[tuple[int, int], list[Studio]]) -> Studio | None:
    org = _unit_in_city(row, "org_uscc", _valid_uscc(row, "org_uscc"), orgs, ctx)
    leader_id = normalize_id_number(row.identifier("leader_id"))
    return _studio_of(row, org, leader_id, people, {}, existing)


ASSESSMENT_COLUMNS = {"kind": "kind", "joint_with": "joint_with", "passed": "passed", "bonus": "bonus",
                      "opinion": "opinion", "period": "period", "conducted_on": "conducted_on"}


def _departments(row: Row, key: str) -> list[str]:
    codes = []
    for part in re.split(r"[、,，;；/\s]+", row.text(key)):
        if part:
            code = DEPARTMENTS.get(part)
            if code is None:
                row.fail(key, _("“%(value)s”不是可选的部门，应为：%(allowed)s。") % {
                    "value": part, "allowed": "、".join(DEPARTMENTS.labels)})
            else:
                codes.append(code)
    return sorted(set(codes))


def _check_assessments(ctx: Context, sheets: dict[str, list[Row]], outcome: Outcome) -> None:
    rows = next(iter(sheets.values()))
    orgs, people, existing = _studio_context(ctx, rows)
    studio_ids = [s.pk for group in existing.values() for s in group]
    recorded: set[tuple[int, str, int]] = set()
    for chunk in _chunks(studio_ids):
        recorded.update(Assessment.objects.filter(studio_id__in=chunk).values_list("studio_id", "kind", "period"))
    seen: dict[tuple[int, str, int], int] = {}
    item_keys = [c.key for c in outcome.sheets[0].cols if c.key.startswith("score:")]
    for i, row in enumerate(rows):
        if i % PROGRESS_EVERY == 0:
            ctx.progress("check", i, len(rows))
        studio = _row_studio(ctx, row, orgs, people, existing)
        kind = row.choice("kind", ASSESSMENT_KINDS, required=True)
        period = row.integer("period", required=True, low=1990, high=ctx.today.year)
        conducted_on = row.date("conducted_on", required=True)
        passed = row.choice("passed", VERDICTS)
        joint_with = _departments(row, "joint_with")
        bonus = row.text("bonus") if "bonus" in row.values else "0"
        scores = {k.split(":", 1)[1]: row.text(k) or None for k in item_keys}
        if studio is None or not row.ok:
            outcome.rows.append(_finish(row, ERROR))
            continue
        if conducted_on is not None and not studio.established_on <= conducted_on <= ctx.today:
            row.fail("conducted_on", _("考核日期应在工作室设立日期（%(date)s）和今天之间。") % {
                "date": studio.established_on})
        key = (studio.pk, kind, period)
        if key in seen:
            row.fail("period", _("与第%(row)d行是同一工作室同一年度的同类考核。") % {"row": seen[key]})
        seen.setdefault(key, row.number)
        if not row.ok:
            outcome.rows.append(_finish(row, ERROR))
            continue
        if key in recorded:
            outcome.rows.append(_finish(row, SAME))
            continue
        policy = studio.policy
        columns = dict(ASSESSMENT_COLUMNS)
        table = policy.assessment.scoring
        if table is not None:
            columns.update({item.code: f"score:{item.code}" for s in table.sections for item in s.items})
            scores = {code: value for code, value in scores.items() if f"score:{code}" in columns.values()}
        try:
            grade, is_pass, total, extra = actions.assessment_outcome(
                policy, kind=kind, passed=passed, scores=scores, bonus=bonus or 0, joint_with=joint_with)
        except ValidationError as exc:
            row.fail_all(exc, columns, "kind")
            outcome.rows.append(_finish(row, ERROR))
            continue
        if passed is not None and passed != is_pass:
            row.fail("passed", _("与按得分评定的等级“%(grade)s”不一致。") % {
                "grade": next((g.label for g in policy.assessment.grades if g.code == grade), grade)})
        assessment = Assessment(studio=studio, kind=kind, period=period, conducted_on=conducted_on,
                                scores={k: v for k, v in scores.items() if v is not None} if total is not None else {},
                                bonus=extra, total=total, grade=grade, passed=is_pass, joint_with=joint_with,
                                opinion=row.text("opinion"), recorded_by=ctx.actor)
        outcome.rows.append(_finish(row, NEW, assessment))


def _write_assessments(ctx: Context, outcome: Outcome, job: ImportJob) -> dict[str, int]:
    ready = outcome.ready()
    rows = [c.payload for c in ready]
    for i, chunk in enumerate(_chunks(rows, BATCH)):
        Assessment.objects.bulk_create(chunk)
        ctx.progress("write", i * BATCH + len(chunk), len(rows))
    _announce(rows)
    _audit_rows(job, "assessment.import", [(c.payload.studio, {
        "row": c.row.number, "kind": c.payload.kind, "period": c.payload.period, "grade": c.payload.grade,
        "total": c.payload.total}) for c in ready])
    return {"assessments_created": len(rows)}


class ImportFacts(money.DatabaseFacts):
    """What entitlements count, for a payments file: triggers read once per studio, and the amounts paid so
    far held in memory, this file's rows added as they are accepted (a second payment must see the first)."""

    def __init__(self, paid: dict[tuple[int, str, int | None], Decimal]) -> None:
        self._occurrences: dict[tuple[int, str, int | None], int] = {}
        self._paid = defaultdict(Decimal, paid)

    def occurrences(self, studio: Studio, trigger: str, level: int | None) -> int:
        key = (studio.pk, trigger, level)
        if key not in self._occurrences:
            self._occurrences[key] = super().occurrences(studio, trigger, level)
        return self._occurrences[key]

    def paid(self, studio: Studio, code: str, level: int | None, by_level: bool) -> Decimal:
        if by_level:
            return self._paid[(studio.pk, code, level)]
        return sum((v for (s, c, _l), v in self._paid.items() if s == studio.pk and c == code), Decimal(0))

    def add(self, studio: Studio, code: str, level: int | None, amount: Decimal) -> None:
        self._paid[(studio.pk, code, level)] += amount


PAYMENT_COLUMNS = {"subsidy": "subsidy", "amount": "amount", "basis": "basis", "approver": "approver",
                   "level": "level", "quantity": "quantity", "paid_on": "paid_on"}


def _payment_key(studio_id: int, subsidy: str, amount: Decimal, paid_on: date, level: int | None,
                 recipient_id: int | None, quantity: int) -> tuple[Any, ...]:
    return (studio_id, subsidy, amount.quantize(Decimal("0.01")), paid_on, level, recipient_id, quantity)


def _check_payments(ctx: Context, sheets: dict[str, list[Row]], outcome: Outcome) -> None:
    rows = next(iter(sheets.values()))
    recipients = [cell_text(r.raw("recipient_id")) for r in rows]
    orgs, people, existing = _studio_context(ctx, rows, recipients)
    studio_ids = [s.pk for group in existing.values() for s in group]
    paid: dict[tuple[int, str, int | None], Decimal] = {}
    recorded: Counter[tuple[Any, ...]] = Counter()
    revoked_on: dict[int, date] = {}
    for chunk in _chunks(studio_ids):
        for r in Disbursement.objects.filter(studio_id__in=chunk).values("studio_id", "subsidy", "level").annotate(
                total=Sum("amount")):
            paid[(r["studio_id"], r["subsidy"], r["level"])] = r["total"]
        recorded.update(_payment_key(*values) for values in Disbursement.objects.filter(studio_id__in=chunk)
                        .values_list("studio_id", "subsidy", "amount", "paid_on", "level", "recipient_id", "quantity"))
        revoked_on.update(Revocation.objects.filter(studio_id__in=chunk).values_list("studio_id", "decided_on"))
    facts = ImportFacts(paid)
    for i, row in enumerate(rows):
        if i % PROGRESS_EVERY == 0:
            ctx.progress("check", i, len(rows))
        studio = _row_studio(ctx, row, orgs, people, existing)
        amount = row.decimal("amount", required=True)
        quantity = row.integer("quantity", low=1, high=100_000) or 1
        level = row.choice("level", SKILL_LEVELS)
        paid_on = row.date("paid_on", required=True)
        basis, approver = row.text("basis", required=True), row.text("approver", required=True)
        subsidy_text = row.text("subsidy", required=True)
        recipient = None
        recipient_id = normalize_id_number(row.identifier("recipient_id", required=False))
        if recipient_id:
            recipient = people.existing.get(blind_index(recipient_id))
            if recipient is None:
                row.fail("recipient_id", _("领取人未登记：请先在工作室表中登记（领办人或成员）。"))
        if studio is None or not row.ok:
            outcome.rows.append(_finish(row, ERROR))
            continue
        policy = studio.policy
        code = ctx.choices(policy, "subsidy").get(subsidy_text) or subsidy_text
        if paid_on is not None and not studio.established_on <= paid_on <= ctx.today:
            row.fail("paid_on", _("拨付日期应在工作室设立日期（%(date)s）和今天之间。") % {
                "date": studio.established_on})
            outcome.rows.append(_finish(row, ERROR))
            continue
        key = _payment_key(studio.pk, code, amount, paid_on, level, recipient.pk if recipient else None, quantity)
        if recorded[key] > 0:
            recorded[key] -= 1  # this very payment is in the portal already (amounts already counted as paid)
            outcome.rows.append(_finish(row, SAME))
            continue
        before_revocation = studio.pk in revoked_on and paid_on < revoked_on[studio.pk]
        try:
            value = actions.checked_disbursement(studio, subsidy=code, amount=amount, basis=basis, approver=approver,
                                                 level=level, before_revocation=before_revocation, facts=facts)
        except ValidationError as exc:
            columns = dict(PAYMENT_COLUMNS)
            columns["basis"] = "basis" if not basis else "approver"
            row.fail_all(exc, columns, "subsidy")
            outcome.rows.append(_finish(row, ERROR))
            continue
        facts.add(studio, code, level, value)
        outcome.rows.append(_finish(row, NEW, Disbursement(
            studio=studio, subsidy=code, amount=value, quantity=quantity, level=level, recipient=recipient,
            paid_on=paid_on, basis=basis, approver=approver, recorded_by=ctx.actor)))


def _write_payments(ctx: Context, outcome: Outcome, job: ImportJob) -> dict[str, int]:
    ready = outcome.ready()
    rows = [c.payload for c in ready]
    for i, chunk in enumerate(_chunks(rows, BATCH)):
        Disbursement.objects.bulk_create(chunk)
        ctx.progress("write", i * BATCH + len(chunk), len(rows))
    _announce(rows)
    _audit_rows(job, "money.import", [(c.payload.studio, {
        "row": c.row.number, "subsidy": c.payload.subsidy, "amount": c.payload.amount, "level": c.payload.level,
        "paid_on": c.payload.paid_on}) for c in ready])
    return {"payments_created": len(rows)}


CHECKERS: dict[str, Callable[[Context, dict[str, list[Row]], Outcome], None]] = {
    ImportJob.Kind.UNITS: _check_units, ImportJob.Kind.STUDIOS: _check_studios,
    ImportJob.Kind.ASSESSMENTS: _check_assessments, ImportJob.Kind.PAYMENTS: _check_payments,
}
WRITERS: dict[str, Callable[[Context, Outcome, ImportJob], dict[str, int]]] = {
    ImportJob.Kind.UNITS: _write_units, ImportJob.Kind.STUDIOS: _write_studios,
    ImportJob.Kind.ASSESSMENTS: _write_assessments, ImportJob.Kind.PAYMENTS: _write_payments,
}


def _parsed(content: bytes, specs: list[SheetSpec]) -> tuple[dict[str, list[Row]], list[Problem]]:
    """The file's rows: parsing XML is most of a check's time, and the import task checks the file again
    right after the check task did, so the parsed cells are kept for an hour under the file's hash."""
    layout = "|".join(f"{s.name}:{','.join(f'{c.key}={c.label}' for c in s.cols)}" for s in specs)
    key = f"imports:cells:{hashlib.sha256(content).hexdigest()}:{hashlib.sha256(layout.encode()).hexdigest()}"
    cached = cache.get(key)
    if cached is not None:
        cells, problems = cached
        by_name = {str(s.name): s for s in specs}
        return {name: [Row(by_name[name], n, dict(v)) for n, v in rows] for name, rows in cells.items()}, problems
    sheets, problems = read_sheets(content, specs)
    try:
        cache.set(key, ({name: [(r.number, r.values) for r in rows] for name, rows in sheets.items()}, problems),
                  3600)
    except Exception:  # a value too large for the cache backend only costs a second parse
        logger.warning("import: parsed cells not cached", exc_info=True)
    return sheets, problems


def check_content(ctx: Context, kind: str, content: bytes) -> Outcome:
    """Judge every row of a workbook without writing anything."""
    specs = sheets_for(kind, ctx)
    ctx.progress("read", 0, 0)
    sheets, problems = _parsed(content, specs)
    outcome = Outcome(kind, specs, file_problems=problems)
    if not problems:
        CHECKERS[kind](ctx, sheets, outcome)
    elif kind == ImportJob.Kind.STUDIOS:
        outcome.extra["people"] = People({})
    return outcome


def _announce(*groups: list[Any]) -> None:
    """bulk_create sends no post_save. The receivers on these models are cache invalidations (the bureau's
    dashboards, the public directory's pages): after the import commits, one signal per model nudges them all
    (a receiver that needs every row would have to be told about bulk imports)."""
    for objs in groups:
        if objs:
            last = objs[-1]
            transaction.on_commit(lambda o=last: post_save.send(
                sender=type(o), instance=o, created=True, raw=False, using=o._state.db or "default",
                update_fields=None))


def _audit_rows(job: ImportJob, action: str, items: list[tuple[models.Model, dict[str, Any]]],
                to_state: Callable[[Any], str] | None = None) -> None:
    """One audit row per imported object: imported, by whom, from which file (and which row of it)."""
    reason = _("从文件“%(file)s”导入") % {"file": job.file_name}
    source = {"job": job.pk, "file": job.file_name, "sha256": job.sha256}
    audit.record_many(job.run_by, action, [(obj, {**source, **data}) for obj, data in items], reason=reason,
                      to_state=to_state)


# --- Jobs: upload, check, import (tasks), progress ---------------------------------------------------------

def _progress_key(job_id: int) -> str:
    return f"imports:progress:{job_id}"


def progress_of(job: ImportJob) -> dict[str, Any]:
    """Where a running job is: the task publishes it in the cache (the database row only changes on commit)."""
    return cache.get(_progress_key(job.pk)) or {}


def _publisher(job_id: int) -> Callable[[str, int, int], None]:
    def publish(phase: str, done: int, total: int) -> None:
        cache.set(_progress_key(job_id), {"phase": phase, "done": done, "total": total}, 3600)

    return publish


def do_upload(city: City, *, actor: User, kind: str, upload: UploadedFile) -> ImportJob:
    """Keep the uploaded workbook and have it checked (a task); nothing is imported yet."""
    from workshops import tasks

    access.require(actor, "import.manage", city)
    if kind not in ImportJob.Kind.values:
        raise ValidationError({"kind": _("请选择模板类别。")})
    content = check_upload(upload)
    with transaction.atomic():
        job = ImportJob.objects.create(city=city, kind=kind, file_name=(upload.name or "upload.xlsx")[:200],
                                       file_size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                                       content=content, created_by=actor)
        audit.record(actor, "import.upload", job, data={"kind": kind, "file": job.file_name, "sha256": job.sha256,
                                                        "size": job.file_size})
        transaction.on_commit(lambda: tasks.check_import.delay(job.pk))
    return job


def check_job(job_id: int) -> str:
    """The check task: judge the file, store the report. Safe to run twice (only a job still being checked)."""
    job = (ImportJob.objects.select_related("city", "created_by")
           .filter(pk=job_id, state=ImportJob.State.CHECKING).first())
    if job is None:
        return "skipped"
    try:
        outcome = check_content(Context(job.city, actor=job.created_by, progress=_publisher(job.pk)), job.kind,
                                bytes(job.content))
    except Exception:
        logger.exception("import job %s: check failed", job_id)
        ImportJob.objects.filter(pk=job_id, state=ImportJob.State.CHECKING).update(
            state=ImportJob.State.FAILED, message=_("校验时出错，请检查文件后重新上传；如仍出错请联系系统管理员。"),
            finished_at=timezone.now())
        return "failed"
    report = outcome.report()
    ImportJob.objects.filter(pk=job_id, state=ImportJob.State.CHECKING).update(
        state=ImportJob.State.CHECKED, report=report, total_rows=report["total"], error_rows=report["errors"])
    cache.delete(_progress_key(job_id))
    return "checked"


def do_start_import(job: ImportJob, *, actor: User, mode: str) -> ImportJob:
    """The clerk's choice: all rows (only when the file is clean) or only the good rows. The task imports."""
    from workshops import tasks

    access.require(actor, "import.manage", job)
    if mode not in ImportJob.Mode.values:
        raise ValidationError({"mode": _("请选择导入方式。")})
    with transaction.atomic():
        fresh = ImportJob.objects.select_for_update().get(pk=job.pk)
        if fresh.state != ImportJob.State.CHECKED:
            raise ValidationError(_("该文件当前状态为“%(state)s”，不能导入。") % {"state": fresh.get_state_display()})
        report = fresh.report
        if mode == ImportJob.Mode.ALL and (fresh.error_rows or report.get("file_problems")):
            raise ValidationError({"mode": _("文件中有 %(n)d 行有错误：请改正后重新上传，或选择“仅导入无误的行”。") % {
                "n": fresh.error_rows}})
        if not report.get("ready"):
            raise ValidationError({"mode": _("没有可导入的行（均已存在或有错误）。")})
        fresh.state, fresh.mode, fresh.run_by, fresh.started_at = (ImportJob.State.IMPORTING, mode, actor,
                                                                   timezone.now())
        fresh.save(update_fields=["state", "mode", "run_by", "started_at"])
        audit.record(actor, "import.start", fresh, data={"mode": mode, "ready": report.get("ready")})
        transaction.on_commit(lambda: tasks.run_import.delay(fresh.pk))
    return fresh


def run_job(job_id: int) -> str:
    """The import task. Re-checks the file against the data as it is now, then writes in one transaction
    (all or nothing). Safe to run twice: a second delivery waits on the job's row lock and finds it done."""
    if not ImportJob.objects.filter(pk=job_id, state=ImportJob.State.IMPORTING).exists():
        return "skipped"
    publish = _publisher(job_id)
    try:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update(of=("self",)).select_related("city", "run_by").get(pk=job_id)
            if job.state != ImportJob.State.IMPORTING:
                return "skipped"
            # One import per city at a time: what the check matched (units, people, studios) stays true
            # until the writes commit.
            City.objects.select_for_update().get(pk=job.city_id)
            ctx = Context(job.city, actor=job.run_by, progress=publish)
            outcome = check_content(ctx, job.kind, bytes(job.content))
            report = outcome.report()
            job.report, job.total_rows, job.error_rows = report, report["total"], report["errors"]
            if job.mode == ImportJob.Mode.ALL and not outcome.clean:
                job.state = ImportJob.State.CHECKED
                job.message = _("导入前重新校验发现 %(n)d 行有错误（数据已被他人修改），未写入任何数据。") % {
                    "n": outcome.error_rows}
                job.save(update_fields=["state", "message", "report", "total_rows", "error_rows"])
                return "rechecked"
            result = WRITERS[job.kind](ctx, outcome, job)
            result["skipped_existing"] = sum(1 for c in outcome.rows if c.status == SAME)
            result["skipped_errors"] = outcome.error_rows
            job.state, job.result, job.finished_at = ImportJob.State.DONE, result, timezone.now()
            job.message = ""
            job.save(update_fields=["state", "result", "finished_at", "message", "report", "total_rows",
                                    "error_rows"])
            audit.record(job.run_by, "import.done", job, data={"kind": job.kind, "mode": job.mode, **result})
    except Exception:
        logger.exception("import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id, state=ImportJob.State.IMPORTING).update(
            state=ImportJob.State.FAILED, finished_at=timezone.now(),
            message=_("导入时出错，已全部撤销，未写入任何数据。请重新上传；如仍出错请联系系统管理员。"))
        return "failed"
    finally:
        cache.delete(_progress_key(job_id))
    return "done"


# --- Export (the round trip) -------------------------------------------------------------------------------

def _level_label(level: int | None) -> str:
    return SKILL_LEVELS.label(level) if level else ""


def export_rows(ctx: Context, kind: str) -> dict[str, list[list[Any]]]:
    specs = sheets_for(kind, ctx)
    city = ctx.city
    if kind == ImportJob.Kind.UNITS:
        orgs = Organization.objects.filter(city=city).select_related("district").order_by("pk")
        return {str(specs[0].name): [[o.name, o.uscc, ORG_KINDS.label(o.kind), o.district.name, o.address,
                                      o.legal_representative, o.contact_name, o.contact_phone, o.training_site_area]
                                     for o in orgs]}
    studios = list(Studio.objects.filter(city=city).select_related("organization", "leader", "revocation")
                   .prefetch_related("plaques").order_by("pk"))
    for studio in studios:
        studio.city = city
    if kind == ImportJob.Kind.STUDIOS:
        rows, members = [], []
        for s in studios:
            policy, leader = s.policy, s.leader
            plaque = min(s.plaques.all(), key=lambda p: p.pk, default=None)
            revocation = getattr(s, "revocation", None)
            rows.append([s.name, s.organization.uscc, s.occupation, ctx.choices(policy, "category").label(s.category),
                         s.established_on, s.establishment_doc, STUDIO_STATES.label(s.state), s.support_ends_on,
                         plaque.number if plaque else "", plaque.issued_on if plaque else None,
                         revocation.decided_on if revocation else None,
                         ctx.choices(policy, "ground").label(revocation.ground) if revocation else "",
                         revocation.notice_text if revocation else "", leader.name, leader.id_number, leader.mobile,
                         _level_label(leader.skill_level), JOB_CATEGORIES.label(leader.job_category),
                         ICH_LEVELS.label(leader.ich_inheritor_level), leader.honours])
        by_pk = {s.pk: s for s in studios}
        by_app = {s.application_id: s for s in studios if s.application_id}
        found = [(by_pk[m.studio_id], m.person, m.role) for m in StudioMember.objects.filter(
            studio__city=city).select_related("person").order_by("pk")]
        found += [(by_app[m.application_id], m.person, m.role) for m in ApplicationMember.objects.filter(
            application_id__in=list(by_app)).select_related("person").order_by("pk")]
        for studio, person, role in found:
            members.append([studio.organization.uscc, studio.leader.id_number, studio.name, person.name,
                            person.id_number, MEMBER_ROLES.label(role), person.mobile, _level_label(person.skill_level),
                            JOB_CATEGORIES.label(person.job_category)])
        return {str(specs[0].name): rows, str(specs[1].name): members}
    by_pk = {s.pk: s for s in studios}

    def key(s: Studio) -> list[Any]:
        return [s.organization.uscc, s.leader.id_number, s.name]

    if kind == ImportJob.Kind.ASSESSMENTS:
        item_keys = [c.key.split(":", 1)[1] for c in specs[0].cols if c.key.startswith("score:")]
        rows = []
        for a in Assessment.objects.filter(studio__city=city).order_by("studio_id", "period", "pk"):
            studio = by_pk[a.studio_id]
            scored = [a.scores.get(code) for code in item_keys]
            bonus = [a.bonus if a.total is not None else None] if item_keys else []
            rows.append([*key(studio), ASSESSMENT_KINDS.label(a.kind), a.period, a.conducted_on,
                         VERDICTS.label(a.passed), *scored, *bonus,
                         "、".join(str(policy_vocab.DEPARTMENTS.get(d, d)) for d in a.joint_with), a.opinion])
        return {str(specs[0].name): rows}
    rows = []
    for d in Disbursement.objects.filter(studio__city=city).select_related("recipient").order_by("paid_on", "pk"):
        studio = by_pk[d.studio_id]
        rows.append([*key(studio), ctx.choices(studio.policy, "subsidy").label(d.subsidy), d.amount, d.quantity,
                     _level_label(d.level), d.recipient.id_number if d.recipient else "", d.paid_on, d.basis,
                     d.approver])
    return {str(specs[0].name): rows}


def do_export(city: City, *, actor: User, kind: str) -> bytes:
    """The city's data in the import template. It holds full 身份证号, so the export is audited."""
    access.require(actor, "import.manage", city)
    ctx = Context(city, actor=actor)
    rows = export_rows(ctx, kind)
    audit.record(actor, "import.export", city, data={"kind": kind, "rows": {k: len(v) for k, v in rows.items()}})
    return build_workbook(kind, ctx, rows)


def report_workbook(job: ImportJob) -> bytes:
    """The validation report as a sheet the clerk can sort and filter while correcting the file."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("校验报告"))
    report = job.report or {}
    ws.append([_("文件"), job.file_name])
    for sheet in report.get("sheets", []):
        ws.append([sheet["name"], _("共 %(total)d 行：新增 %(new)d，更新 %(update)d，已存在 %(same)d，"
                                    "有错误 %(error)d") % sheet])
    ws.append([])
    ws.append([_("工作表"), _("行号"), _("列"), _("问题")])
    for p in report.get("file_problems", []) + report.get("problems", []):
        ws.append([p["sheet"], p["row"] or "", p["column"], p["message"]])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
