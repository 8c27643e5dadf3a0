"""The unit's and the studio's documents as PDFs: application forms (申报表 and the city's other
attachments), the plaque certificate, the assessment sheet and the revocation 通报.

Each document is a template in templates/documents/ plus one function here returning its bytes
(`render_application_form(app) -> bytes`). What a city's document is called and which documents it
asks for come from its policy's materials (`application_form`, `truthfulness_pledge`,
`application_book`, `project_proposal`); a city with its own layout has its own template, looked up
by city code before the general one (呼和浩特's 附件2).

Personal data: 身份证号 and phone numbers print masked, except on the unit's own download of its
application documents (the paper form it signs and files needs them); such PDFs are stored
encrypted (portal.pdf).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from portal import access, pdf
from portal.masking import mask_id_number, mask_phone
from portal.roles import Role
from workshops.models import Application, Plaque

CN_DIGITS = "零一二三四五六七八九十"
FULL = "full"  # the unmasked variant


# --- titles from the policy --------------------------------------------------------------------------

@dataclass(frozen=True)
class Title:
    text: str
    attachment_mark: str  # "附件2", or "" where the policy's label names none

    @property
    def lines(self) -> list[str]:
        """Two lines on a cover, broken after "工作室" as the official forms are."""
        head, sep, tail = self.text.partition("工作室")
        return [head + sep, tail] if sep and tail else [self.text]

    @property
    def programme(self) -> str:
        """What is applied for: the title without the form's own name (…建设项目申报表 → …建设项目)."""
        return re.sub(r"(申报表|申办表|申报书|申办报告|项目立项书|立项书)$", "", self.text) or self.text


def title_from_label(label: str) -> Title:
    """《东莞市技能大师工作室申报书》（附件1） → 东莞市技能大师工作室申报书, 附件1."""
    mark = re.search(r"附件\s*(\d+)", label)
    text = re.sub(r"（[^）]*）|\([^)]*\)", "", label).strip().strip("《》").strip()
    return Title(text=text, attachment_mark=f"附件{mark.group(1)}" if mark else "")


def material_title(policy: Any, code: str) -> Title | None:
    material = next((m for m in policy.required_materials if m.code == code), None)
    return title_from_label(material.label) if material else None


def form_title(policy: Any) -> Title:
    """The city's application form: its `application_form` material, or (东莞) its `application_book`,
    or, where the policy names neither, "<市>技能大师工作室申报表"."""
    return (material_title(policy, "application_form") or material_title(policy, "application_book")
            or Title(f"{policy.city_name}技能大师工作室申报表", ""))


def chinese_number(n: int | None) -> str:
    if n is None:
        return ""
    if 0 <= n <= 10:
        return CN_DIGITS[n]
    return str(n)


# --- the application's values, masked or not ---------------------------------------------------------

def _applications() -> Any:
    return Application.objects.select_related("round__city", "organization", "district", "leader")


def _mobile_or_office(phone: str) -> tuple[str, str]:
    """The unit's one contact number goes in the 手机 box if it is a mobile, else in 办公电话."""
    digits = re.sub(r"\D", "", phone or "")
    return ("", phone) if re.fullmatch(r"1\d{10}", digits) else (phone, "")


def application_fields(app: Application, *, reveal: bool) -> dict[str, Any]:
    policy, org, leader = app.policy, app.organization, app.leader
    phone = (lambda v: v or "") if reveal else mask_phone
    category = policy.category(app.category) if app.category else None
    achievements = {a.code: a.label for a in policy.eligibility.leader.achievements}
    office, mobile = _mobile_or_office(org.contact_phone)
    return {
        "unit_name": org.name, "unit_kind": org.get_kind_display(), "uscc": org.uscc,
        "district": app.district.name, "address": org.address, "legal_rep": org.legal_representative,
        "legal_rep_phone": "", "contact_name": org.contact_name, "contact_phone": phone(org.contact_phone),
        "contact_office_phone": phone(office), "contact_mobile": phone(mobile),
        "email": "", "fax": "", "bank": "", "bank_account": "", "postcode": "",
        "training_site_area": org.training_site_area,
        "studio_name": app.studio_name, "occupation": app.occupation,
        "category": category.label if category else "",
        "leader_name": leader.name if leader else "",
        "sex": leader.get_sex_display() if leader else "", "birth": leader.birth_date if leader else None,
        "ethnicity": "", "work_start": "", "political": "",
        "id_number": (leader.id_number if reveal else mask_id_number(leader.id_number)) if leader else "",
        "workplace": (leader.organization.name if leader and leader.organization_id else org.name),
        "skill_level": leader.get_skill_level_display() if leader and leader.skill_level else "",
        "honours": leader.honours if leader else "",
        "leader_phone": "", "leader_mobile": phone(leader.mobile) if leader else "",
        "achievement_labels": [achievements.get(c, c) for c in app.leader_achievements],
        "achievements": app.leader_achievements_text,
        "site_address": app.site_address, "site_area": app.site_area, "equipment": app.equipment,
        "funding_commitment": app.funding_commitment, "education_fund_share": app.education_fund_share,
        "necessity": app.necessity, "goals": app.goals, "work_plan": app.work_plan,
        "support_measures": app.support_measures,
        "filled_on": timezone.localdate(app.submitted_at) if app.submitted_at else None,
    }


def members_text(members: list[dict[str, Any]]) -> str:
    if not members:
        return ""
    return f"共{len(members)}人：" + "、".join(f"{m['name']}（{m['role']}）" for m in members)


def _members(app: Application) -> list[dict[str, Any]]:
    return [{"name": m.person.name, "sex": m.person.get_sex_display(), "birth": m.person.birth_date,
             "skill_level": m.person.get_skill_level_display() if m.person.skill_level else "",
             "role": m.get_role_display()}
            for m in app.members.select_related("person").order_by("role", "pk")]


def _opinions(app: Application) -> dict[str, dict[str, Any]]:
    """The latest recorded opinion of each review stage (reviews.ReviewStep: "the 意见 boxes of the
    application forms"). Read through the reverse relation: workshops does not import reviews."""
    latest: dict[str, dict[str, Any]] = {}
    for step in app.review_steps.order_by("at", "pk"):
        latest[step.stage] = {"text": step.opinion, "date": timezone.localdate(step.at)}
    return latest


def _common(app: Application, *, reveal: bool, title: Title) -> dict[str, Any]:
    policy = app.policy
    return {"doc_title": title.text, "doc_author": app.organization.name, "title": title.text,
            "title_lines": title.lines, "attachment_mark": title.attachment_mark, "issuer": policy.bureau_name,
            "f": application_fields(app, reveal=reveal), "sensitive": reveal}


def application_form_source(app: Application, *, reveal: bool = False) -> pdf.Source:
    policy = app.policy
    title = form_title(policy)
    opinions = _opinions(app)
    boxes = [{"label": str(s.label) if str(s.label).endswith("意见") else f"{s.label}意见", "body": s.body,
              **opinions.get(s.name, {"text": "", "date": None})}
             for s in policy.review.stages if s.name != "notice"]
    copies = policy.review.submission.paper_copies
    members = _members(app)
    context = {**_common(app, reveal=reveal, title=title), "members": members, "members_text": members_text(members),
               "projects": list(app.projects.order_by("pk")), "opinions": opinions, "stage_boxes": boxes,
               "paper_copies_cn": chinese_number(copies)}
    return [f"documents/application_form_{policy.code}.html", "documents/application_form.html"], context


def render_application_form(app: Application, *, reveal: bool = False) -> bytes:
    return pdf.render(*application_form_source(app, reveal=reveal))


def pledge_source(app: Application, *, reveal: bool = False) -> pdf.Source:
    """呼和浩特 附件1 申报材料真实性承诺书."""
    policy = app.policy
    title = material_title(policy, "truthfulness_pledge") or Title("申报材料真实性承诺书", "")
    return "documents/pledge.html", {
        "doc_title": title.text, "doc_author": app.organization.name, "title": title.text,
        "attachment_mark": title.attachment_mark, "programme": form_title(policy).programme,
        "unit_name": app.organization.name, "studio_name": app.studio_name,
        "legal_rep": "", "sensitive": False}


def render_pledge(app: Application) -> bytes:
    return pdf.render(*pledge_source(app))


def application_book_source(app: Application, *, reveal: bool = False) -> pdf.Source:
    """呼和浩特 附件3 申报书: the eight items, filled from the application (no personal numbers)."""
    policy = app.policy
    title = material_title(policy, "application_book") or Title(f"{policy.city_name}技能大师工作室申报书", "")
    name_format = policy.name_format.format(leader="领办人姓名", occupation="职业（工种）", org="单位名称")
    return "documents/application_book.html", {
        **_common(app, reveal=False, title=title), "members": _members(app),
        "name_format_label": name_format}


def render_application_book(app: Application) -> bytes:
    return pdf.render(*application_book_source(app))


def project_proposal_source(app: Application, *, reveal: bool = False) -> pdf.Source:
    """东莞 附件2 项目立项书, from the application's projects (第六条(三))."""
    policy = app.policy
    title = material_title(policy, "project_proposal") or Title(f"{policy.city_name}技能大师工作室项目立项书", "")
    return "documents/project_proposal.html", {
        **_common(app, reveal=False, title=title), "projects": list(app.projects.order_by("pk"))}


def render_project_proposal(app: Application) -> bytes:
    return pdf.render(*project_proposal_source(app))


@dataclass(frozen=True)
class ApplicationDocument:
    slug: str
    kind: str  # portal.pdf registry name
    material: str | None  # the policy material that asks for it (None: every city)
    source: Any
    shows_personal_numbers: bool

    def title(self, policy: Any) -> Title:
        if self.material is None:
            return form_title(policy)
        return material_title(policy, self.material) or Title(self.slug, "")

    def offered(self, policy: Any) -> bool:
        if self.material is None:
            return True
        codes = {m.code for m in policy.required_materials}
        if self.material == "application_book":
            # Where the policy has no separate 申报表, the 申报书 *is* the form (东莞 附件1).
            return "application_book" in codes and "application_form" in codes
        return self.material in codes


APPLICATION_DOCUMENTS: dict[str, ApplicationDocument] = {d.slug: d for d in (
    ApplicationDocument("form", "workshops.application_form", None, application_form_source, True),
    ApplicationDocument("pledge", "workshops.pledge", "truthfulness_pledge", pledge_source, False),
    ApplicationDocument("book", "workshops.application_book", "application_book", application_book_source, False),
    ApplicationDocument("project", "workshops.project_proposal", "project_proposal", project_proposal_source,
                        False),
)}


def documents_for(app: Application) -> list[tuple[ApplicationDocument, Title]]:
    policy = app.policy
    return [(d, d.title(policy)) for d in APPLICATION_DOCUMENTS.values() if d.offered(policy)]


def _register(doc: ApplicationDocument) -> None:
    @pdf.document(doc.kind)
    def build(object_id: int, variant: str) -> pdf.Source:
        app = _applications().get(pk=object_id)
        return doc.source(app, reveal=variant == FULL and doc.shows_personal_numbers)


for _doc in APPLICATION_DOCUMENTS.values():
    _register(_doc)


@access.rule("document.application_unmasked")
def _application_unmasked(user: Any, app: Any) -> bool:
    """Full 身份证号 and phones on the printed form: only the unit that files it."""
    return user.role == Role.UNIT and app is not None and app.organization_id == user.organization_id


# --- the plaque certificate ---------------------------------------------------------------------------

def plaque_source(plaque: Plaque) -> pdf.Source:
    studio = plaque.studio
    policy = studio.policy
    return "documents/plaque.html", {
        "doc_title": f"{studio.name} 牌匾证书", "doc_author": plaque.issuing_body,
        "studio_name": studio.name, "organization_name": studio.organization.name, "leader_name": studio.leader.name,
        "occupation": studio.occupation, "city_name": policy.city_name, "number": plaque.number,
        "issuing_body": plaque.issuing_body, "issued_on": plaque.issued_on or studio.established_on,
        "establishment_doc": studio.establishment_doc, "withdrawn_on": plaque.withdrawn_on, "sensitive": False}


def render_plaque_certificate(plaque: Plaque) -> bytes:
    return pdf.render(*plaque_source(plaque))


@pdf.document("workshops.plaque")
def _plaque_document(object_id: int, variant: str) -> pdf.Source:
    return plaque_source(Plaque.objects.select_related("studio__city", "studio__organization", "studio__leader")
                         .get(pk=object_id))


@access.rule("document.plaque")
def _plaque_certificate(user: Any, plaque: Any) -> bool:
    """The studio's own unit, and the city bureau's staff who issue plaques."""
    if plaque is None:
        return False
    studio = plaque.studio
    if user.role == Role.UNIT:
        return studio.organization_id == user.organization_id
    return user.role == Role.CITY and studio.city_id == user.city_id


# --- the assessment sheet (温州 附件 绩效评估表) -------------------------------------------------------

@dataclass(frozen=True)
class ScoreLine:
    label: str
    points: int
    self_score: Decimal | None
    assessed_score: Decimal | None


@dataclass(frozen=True)
class ScoreSection:
    label: str
    points: int
    lines: tuple[ScoreLine, ...]


@dataclass(frozen=True)
class AssessmentSheet:
    """Everything the sheet prints, already computed: a renderer decides nothing."""

    title: str
    studio_name: str
    organization_name: str
    leader_name: str
    period: str
    sections: tuple[ScoreSection, ...]
    total_points: int
    self_total: Decimal | None
    assessed_total: Decimal | None
    bonus_note: str
    bonus_self: Decimal | None
    bonus: Decimal
    final_score: Decimal | None
    grade: str
    passing: bool | None
    notes: tuple[str, ...] = ()
    conducted_by: str = ""
    assessed_on: date | None = None

    @classmethod
    def from_scoring(cls, policy: Any, *, studio_name: str, organization_name: str, leader_name: str,
                     period: str, assessed: Mapping[str, Decimal | int | float | str],
                     self_scores: Mapping[str, Decimal | int | float | str] | None = None,
                     bonus: Decimal | int | float | str = 0, bonus_self: Decimal | int | float | str | None = None,
                     bonus_note: str = "", assessed_on: date | None = None) -> AssessmentSheet:
        """Build the sheet from a policy's scoring table and item scores (keys: item codes). The bonus
        is capped at the table's cap (温州 附件注2: 加分值不超过10分) and the grade read off the total."""
        rules = policy.assessment
        table = rules.scoring
        if table is None:
            raise ValueError(f"{policy.city_name}的考核没有评分表")
        dec = _decimal
        self_scores = self_scores or {}
        sections = tuple(ScoreSection(label=s.label, points=s.points, lines=tuple(
            ScoreLine(label=i.label, points=i.points, self_score=dec(self_scores.get(i.code)),
                      assessed_score=dec(assessed.get(i.code))) for i in s.items)) for s in table.sections)
        assessed_total = _sum(line.assessed_score for s in sections for line in s.lines)
        self_total = _sum(line.self_score for s in sections for line in s.lines)
        capped = min(dec(bonus) or Decimal(0), Decimal(table.bonus_cap))
        final = None if assessed_total is None else min(assessed_total, Decimal(table.total)) + capped
        grade = rules.grade_for(math.floor(final)) if final is not None else None
        return cls(title=f"{policy.city_name}技能大师工作室绩效评估表", studio_name=studio_name,
                   organization_name=organization_name, leader_name=leader_name, period=period,
                   sections=sections, total_points=table.total, self_total=self_total,
                   assessed_total=assessed_total, bonus_note=bonus_note or "、".join(table.bonus_items),
                   bonus_self=dec(bonus_self), bonus=capped, final_score=final,
                   grade=grade.label if grade else "", passing=grade.passing if grade else None,
                   notes=scoring_notes(policy), conducted_by=rules.conducted_by.body, assessed_on=assessed_on)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _sum(values: Any) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def scoring_notes(policy: Any) -> tuple[str, ...]:
    """The 注 under the table, from the policy (温州 附件注1、注2)."""
    rules, table = policy.assessment, policy.assessment.scoring
    graded = sorted((g for g in rules.grades if g.min_score is not None), key=lambda g: -(g.min_score or 0))
    bands, upper = [], table.total if table else 100
    for g in graded:
        if g.min_score:
            bands.append(f"{g.min_score}分-{upper}分为{g.label}")
            upper = g.min_score - 1
        else:
            bands.append(f"{upper + 1}分以下为{g.label}")
    notes = [f"技能大师工作室绩效考核满分为{table.total if table else 100}分，" + "，".join(bands)]
    if table and table.bonus_items:
        notes.append(f"加分项目：{'、'.join(table.bonus_items)}分别给予加分，加分值不超过{table.bonus_cap}分")
    return tuple(notes)


def assessment_sheet_source(sheet: AssessmentSheet) -> pdf.Source:
    return "documents/assessment_sheet.html", {
        "doc_title": sheet.title, "doc_author": sheet.conducted_by, "sheet": sheet, "sensitive": False}


def render_assessment_sheet(sheet: AssessmentSheet) -> bytes:
    return pdf.render(*assessment_sheet_source(sheet))


# --- the revocation 通报 -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RevocationGround:
    label: str
    article: str


@dataclass(frozen=True)
class RevocationNotice:
    """A 通报 on revoking a studio. Public: it names the studio, its unit and leader, never numbers."""

    issuer: str
    title: str
    studio_name: str
    organization_name: str
    leader_name: str
    grounds: tuple[RevocationGround, ...]
    decided_on: date
    decided_by: str
    consequences: tuple[str, ...]
    policy_title: str
    addressees: str = ""
    document_number: str = ""
    established_on: date | None = None
    establishment_doc: str = ""
    facts: str = ""
    sanction: str = ""
    cc: Sequence[str] = field(default_factory=tuple)


def revocation_notice_source(notice: RevocationNotice) -> pdf.Source:
    return "documents/revocation_notice.html", {
        "doc_title": notice.title, "doc_author": notice.issuer, "n": notice, "sensitive": False}


def render_revocation_notice(notice: RevocationNotice) -> bytes:
    return pdf.render(*revocation_notice_source(notice))


# --- the recorded assessment and revocation, as the dataclasses above ------------------------------------

def sheet_for_assessment(assessment: Any) -> AssessmentSheet | None:
    """The 绩效评估表 of a recorded assessment; None where the city's policy has no scoring table."""
    studio = assessment.studio
    policy = studio.policy
    if policy.assessment.scoring is None or not assessment.scores:
        return None
    cycle = policy.assessment_cycle_years or 1
    period = (f"{assessment.period - cycle + 1}—{assessment.period}年度" if cycle > 1 else f"{assessment.period}年度")
    return AssessmentSheet.from_scoring(
        policy, studio_name=studio.name, organization_name=studio.organization.name, leader_name=studio.leader.name,
        period=period, assessed=assessment.scores, self_scores=assessment.self_scores, bonus=assessment.bonus,
        bonus_note=assessment.opinion if assessment.bonus else "", assessed_on=assessment.conducted_on)


@pdf.document("workshops.assessment_sheet")
def _assessment_document(object_id: int, variant: str) -> pdf.Source:
    from workshops.models import Assessment

    sheet = sheet_for_assessment(Assessment.objects.select_related(
        "studio__city", "studio__organization", "studio__leader").get(pk=object_id))
    if sheet is None:
        raise Assessment.DoesNotExist
    return assessment_sheet_source(sheet)


def revocation_notice_for(revocation: Any) -> RevocationNotice:
    """The 通报 of a recorded revocation, worded from the city's policy (grounds, articles, consequences)."""
    from portal.policies.vocab import REVOCATION_CONSEQUENCES, SANCTION_SUBJECTS

    studio = revocation.studio
    policy = studio.policy
    rules = policy.revocation
    ground = next((g for g in rules.grounds if g.code == revocation.ground), None)
    grounds = (RevocationGround(ground.label, ground.article),) if ground else ()
    # 撤销称号 is the sentence itself, and the 通报 is the "notify": list only what follows from it.
    consequences = tuple(str(REVOCATION_CONSEQUENCES[c]) for c in rules.consequences
                         if c not in {"notify", "revoke_title"} and c in REVOCATION_CONSEQUENCES)
    sanction = ""
    if revocation.is_fraud and rules.sanction is not None:
        subjects = "和".join(str(SANCTION_SUBJECTS.get(s, s)) for s in rules.sanction.subjects)
        sanction = f"{subjects}{chinese_number(rules.sanction.ban_years)}年内不得参与{rules.sanction.scope}"
    return RevocationNotice(
        issuer=policy.bureau_name, title=f"关于撤销{studio.name}称号的通报", studio_name=studio.name,
        organization_name=studio.organization.name, leader_name=studio.leader.name, grounds=grounds,
        decided_on=revocation.decided_on, decided_by=revocation.decision_body, consequences=consequences,
        policy_title=policy.title, addressees=f"各{policy.jurisdiction.level_label}人力资源和社会保障部门，各有关单位",
        established_on=studio.established_on, establishment_doc=studio.establishment_doc,
        facts=revocation.notice_text.strip().rstrip("。"), sanction=sanction)


@pdf.document("workshops.revocation_notice")
def _revocation_document(object_id: int, variant: str) -> pdf.Source:
    from workshops.models import Revocation

    return revocation_notice_source(revocation_notice_for(Revocation.objects.select_related(
        "studio__city", "studio__organization", "studio__leader").get(pk=object_id)))


@access.rule("document.assessment_sheet")
def _assessment_sheet(user: Any, assessment: Any) -> bool:
    """The studio's own assessment: its unit and the city's bureau roles (the scope already narrowed)."""
    return assessment is not None and user.role in {Role.UNIT, Role.CITY, Role.DECISION, Role.OBSERVER, Role.AGENCY}
