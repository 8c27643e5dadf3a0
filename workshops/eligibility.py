"""Completeness and eligibility of an application, judged by its city's policy.

`check(app, on)` returns every problem at once, each tied to the form field it concerns and
citing the article it comes from, so the unit sees the whole list next to the fields in one go.
Nothing here branches on a city: every threshold is read from the policy.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from portal import retirement
from portal.models import SkillLevel
from portal.policies import Policy
from portal.policies import vocab as policy_vocab
from workshops.models import Application, Sanction
from workshops.states import STATE_INFO, AppState


@dataclass(frozen=True)
class Problem:
    field: str  # the form field ("leader", "site_area", "attachment:business_license", "__all__")
    message: str
    article: str = ""

    def __str__(self) -> str:
        return f"{self.message}（{self.article}）" if self.article else self.message


def _cite(policy: Policy, article: str) -> str:
    return f"《{policy.title}》{article}" if article else ""


def completeness(app: Application) -> list[Problem]:
    """What is still missing: the checklist shown while the unit fills in the form."""
    policy = app.policy
    problems: list[Problem] = []
    required = [
        ("studio_name", _("工作室名称")), ("occupation", _("职业（工种）")), ("site_address", _("工作室地点")),
        ("site_area", _("工作室面积")), ("equipment", _("基本设施设备")), ("necessity", _("成立的必要性和现有优势")),
        ("goals", _("计划目标")), ("work_plan", _("工作计划和主要工作方向")), ("support_measures", _("单位支持措施")),
        ("leader_achievements_text", _("技能大师工作业绩、获奖情况、主要创新发明")),
    ]
    for field, label in required:
        value = getattr(app, field)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem(field, _("请填写“%(label)s”。") % {"label": label}))
    if policy.categories and not app.category:
        problems.append(Problem("category", _("请选择工作室类别。")))
    if not app.leader_id:
        problems.append(Problem("leader", _("请填写领办人信息。")))
    if policy.eligibility.education_fund and app.organization.kind in policy.eligibility.education_fund.applies_to \
            and app.education_fund_share is None:
        problems.append(Problem("education_fund_share", _("请填写职工教育经费用于高技能人才培养的比例。")))
    have = set(app.attachments.values_list("kind", flat=True))
    for material in policy.materials_for(app.organization.kind):
        if material.code not in have:
            problems.append(Problem(f"attachment:{material.code}",
                                    _("请上传“%(label)s”。") % {"label": material.label},
                                    _cite(policy, material.article)))
    needed = {c.code for c in policy.eligibility.conditions}
    missing_declarations = needed - set(app.declarations or [])
    if missing_declarations:
        problems.append(Problem("declarations", _("请逐项确认申报条件承诺（尚有 %(n)d 项未确认）。")
                                % {"n": len(missing_declarations)}))
    from workshops.actions import CONSENT_VERSION  # actions imports this module

    # 个人信息保护法 第十四条: a changed notice needs consent again, so only the current text counts.
    if not app.consented_at or app.consent_version != CONSENT_VERSION:
        problems.append(Problem("consent", _("请阅读并同意《个人信息处理告知书》。")))
    return problems


def leader_eligibility(policy: Policy, leader: Any, organization_id: int | None, on: date) -> list[Problem]:
    """The leader's conditions on `on` (level unless waived, retirement age, employed by the unit): an
    application is judged on submission, an imported studio on the day it was established."""
    rules = policy.eligibility
    problems: list[Problem] = []
    waived: set[str] = set()
    for waiver in rules.leader.waivers:
        if waiver.code == "ich_inheritor" and leader.ich_inheritor_level:
            waived.update(waiver.waives)
    level_code = SkillLevel(leader.skill_level).name.lower() if leader.skill_level else None
    if "skill_level" not in waived and (level_code is None or not rules.leader.level_meets(level_code)):
        problems.append(Problem("leader", _("领办人须具有%(level)s及以上职业资格（技能等级）。")
                                % {"level": policy_vocab.SKILL_LEVELS[rules.leader.min_level]},
                                _cite(policy, rules.leader.article)))
    rule = rules.leader.retirement
    if rule is not None and "age" not in waived:
        args = (leader.birth_date, leader.sex, leader.job_category)
        if rule.min_years_before == 0 and retirement.is_retired(*args, on=on):
            problems.append(Problem("leader", _("领办人已到法定退休年龄（%(date)s），"
                                                "不符合“未到法定退休年龄”的条件。")
                                    % {"date": retirement.statutory_retirement_date(*args)},
                                    _cite(policy, rule.article)))
        elif rule.min_years_before > 0 and not retirement.is_at_least_years_before_retirement(
                *args, years=rule.min_years_before, on=on):
            problems.append(Problem("leader", _("领办人申请时距法定退休年龄（%(date)s）不足%(n)d年。")
                                    % {"date": retirement.statutory_retirement_date(*args),
                                       "n": rule.min_years_before}, _cite(policy, rule.article)))
    if leader.organization_id != organization_id:
        problems.append(Problem("leader", _("领办人应为申报单位在岗人员（与申报单位有稳定的劳动关系）。")))
    return problems


def eligibility(app: Application, on: date) -> list[Problem]:
    """Whether the unit and the leader meet the city's conditions on `on`."""
    policy = app.policy
    rules = policy.eligibility
    org = app.organization
    problems: list[Problem] = []

    rnd = app.round
    if app.state == AppState.DRAFT and not rnd.opens_on <= on <= rnd.closes_on:
        # A first submission belongs inside the round; an application returned for revision may be
        # resubmitted after it closes, or the unit could never answer the reviewer.
        problems.append(Problem("__all__", _("本批次申报时间为%(start)s至%(end)s，当前不在申报期内。")
                                % {"start": rnd.opens_on, "end": rnd.closes_on}))

    kinds = rules.org_kinds
    if not kinds.open_ended and org.kind not in kinds.kinds:
        allowed = "、".join(str(policy_vocab.ORG_KINDS[k]) for k in kinds.kinds)
        problems.append(Problem("__all__", _("申报单位类型“%(kind)s”不在申报主体范围内：应为%(allowed)s。")
                                % {"kind": org.get_kind_display(), "allowed": allowed}, _cite(policy, kinds.article)))

    leader = app.leader
    if leader is not None:
        problems += leader_eligibility(policy, leader, org.pk, on)
        needed = rules.leader.achievements_needed
        if needed and len(set(app.leader_achievements or []) & {a.code for a in rules.leader.achievements}) < needed:
            problems.append(Problem("leader_achievements", _("领办人应至少具备下列条件之一：%(list)s。")
                                    % {"list": "；".join(a.label for a in rules.leader.achievements)},
                                    _cite(policy, rules.leader.article)))

    minimum = policy.min_site_area_m2(org.kind)
    if minimum is not None and rules.site_area is not None:
        by_kind = org.kind in rules.site_area.by_org_kind
        area = org.training_site_area if by_kind else app.site_area
        field = "__all__" if by_kind else "site_area"
        if area is None or area < minimum:
            what = _("技能实训场地") if by_kind else _("工作室固定场所")
            problems.append(Problem(field, _("%(what)s面积应不少于%(min)d平方米（现为%(area)s平方米）。")
                                    % {"what": what, "min": minimum, "area": area if area is not None else "—"},
                                    _cite(policy, rules.site_area.article)))

    fund = rules.education_fund
    if fund is not None and org.kind in fund.applies_to and app.education_fund_share is not None \
            and app.education_fund_share < Decimal(fund.min_share_percent):
        problems.append(Problem("education_fund_share",
                                _("职工教育经费用于高技能人才培养、交流等方面的费用应不低于%(min)d%%。")
                                % {"min": fund.min_share_percent}, _cite(policy, fund.article)))

    if rules.one_per_legal_entity is not None:
        others = Application.objects.filter(organization=org).exclude(pk=app.pk).exclude(
            state__in=[s for s, i in STATE_INFO.items() if i.terminal and s != AppState.APPROVED]
        ).exclude(state=AppState.DRAFT)
        if others.exists():
            problems.append(Problem("__all__", _("同一法人单位原则上只设立一个技能大师工作室，"
                                                 "本单位已有在审或已设立的工作室。"),
                                    _cite(policy, rules.one_per_legal_entity.article)))

    if rules.dishonesty_exclusion is not None and org.on_dishonesty_list:
        problems.append(Problem("__all__", _("申报单位被列入失信名单，不纳入申报范围。"),
                                _cite(policy, rules.dishonesty_exclusion.article)))

    if rules.project is not None and app.projects.count() < rules.project.min_projects:
        problems.append(Problem("projects", _("申报时至少应有%(n)d个项目纳入工作室实施。")
                                % {"n": rules.project.min_projects}, _cite(policy, rules.project.article)))

    bans = Sanction.objects.active_on(on)
    for ban in bans.filter(organization=org):
        problems.append(Problem("__all__", _("申报单位因“%(reason)s”在%(until)s前不得申报。")
                                % {"reason": ban.reason, "until": ban.ends_on}, ban.article))
    if leader is not None:
        for ban in bans.filter(person__id_hash=leader.id_hash):
            problems.append(Problem("leader", _("领办人因“%(reason)s”在%(until)s前不得申报。")
                                    % {"reason": ban.reason, "until": ban.ends_on}, ban.article))
    return problems


def check(app: Application, on: date) -> list[Problem]:
    return completeness(app) + eligibility(app, on)
