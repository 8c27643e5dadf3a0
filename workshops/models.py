"""Rounds and applications: what a unit submits, and the state machine that carries it."""
from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from portal.crypto import EncryptedBinaryField
from portal.models import SkillLevel
from portal.policies import Policy, get_policy_version
from workshops.states import (
    REVIEW_STATES,
    STAGE_STATES,
    STATE_INFO,
    STUDIO_STATE_INFO,
    AppState,
    StudioState,
    StudioStateInfo,
)


def private_upload_to(instance: models.Model, filename: str) -> str:
    """A random stored name: original names often carry people's names, and uploads must not be guessable."""
    ext = os.path.splitext(filename)[1].lower()
    ext = ext if ext in {".pdf", ".jpg", ".jpeg", ".png", ".ofd", ".docx"} else ""
    folder = instance._meta.model_name
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}"


class Round(models.Model):
    """申报批次: one call for applications in one city (东莞 第九条: 每年申报评定一次)."""

    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="rounds", verbose_name=_("城市"))
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("名称"), max_length=100)
    policy_version = models.CharField(_("适用办法版本"), max_length=32)
    opens_on = models.DateField(_("开始申报"))
    closes_on = models.DateField(_("截止申报"))
    quota = models.PositiveSmallIntegerField(_("拟设立名额"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("申报批次")
        verbose_name_plural = _("申报批次")
        ordering = ["-year", "-opens_on"]
        constraints = [models.UniqueConstraint(fields=["city", "year", "title"], name="round_unique_title")]

    def __str__(self) -> str:
        return self.title

    @cached_property
    def policy(self) -> Policy:
        return get_policy_version(self.city.code, self.policy_version)

    def is_open(self, on: date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.opens_on <= on <= self.closes_on


class ApplicationQuerySet(models.QuerySet["Application"]):
    def in_city(self, city_id: int) -> ApplicationQuerySet:
        return self.filter(city_id=city_id)

    def in_district(self, district_id: int) -> ApplicationQuerySet:
        return self.filter(district_id=district_id)

    def in_state(self, *states: str) -> ApplicationQuerySet:
        return self.filter(state__in=states)

    def in_review(self) -> ApplicationQuerySet:
        return self.filter(state__in=REVIEW_STATES)


class Application(ConcurrentTransitionMixin, models.Model):
    # ConcurrentTransitionMixin: the UPDATE also matches the state read, a second guard behind the row lock.
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="applications", verbose_name=_("申报批次"))
    organization = models.ForeignKey("portal.Organization", on_delete=models.PROTECT, related_name="applications",
                                     verbose_name=_("申报单位"))
    # City and district are copied from the unit when the application is created, so scoping a
    # reviewer's queue is one indexed filter and a unit moving district later changes no history.
    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="applications")
    district = models.ForeignKey("portal.District", on_delete=models.PROTECT, related_name="applications")
    state = FSMField(_("状态"), default=AppState.DRAFT, choices=AppState.choices, protected=True, db_index=True)
    # Optimistic lock: every action bumps it; a form carrying an older number is refused.
    version = models.PositiveIntegerField(default=1)

    studio_name = models.CharField(_("工作室名称"), max_length=120, blank=True)
    occupation = models.CharField(_("职业（工种）"), max_length=100, blank=True)
    category = models.CharField(_("类别"), max_length=30, blank=True)
    leader = models.ForeignKey("portal.Person", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="led_applications", verbose_name=_("领办人"))
    site_address = models.CharField(_("工作室地点"), max_length=200, blank=True)
    site_area = models.DecimalField(_("工作室面积（平方米）"), max_digits=8, decimal_places=1, null=True, blank=True)
    equipment = models.TextField(_("基本设施设备"), blank=True)
    funding_commitment = models.DecimalField(_("单位承诺配套资金（万元）"), max_digits=8, decimal_places=2,
                                             null=True, blank=True)
    education_fund_share = models.DecimalField(_("职工教育经费用于高技能人才培养的比例（%）"), max_digits=5,
                                               decimal_places=2, null=True, blank=True)
    necessity = models.TextField(_("成立的必要性和现有优势"), blank=True)
    goals = models.TextField(_("计划目标"), blank=True)
    work_plan = models.TextField(_("工作计划和主要工作方向"), blank=True)
    support_measures = models.TextField(_("单位支持措施"), blank=True)

    # Declarations the unit confirms (policy eligibility.conditions codes) and which of the
    # policy's alternative achievements the leader meets (e.g. 郑州 第四条: 具备下列条件之一).
    declarations = models.JSONField(_("申报单位承诺事项"), default=list, blank=True)
    leader_achievements = models.JSONField(_("领办人符合的业绩条件"), default=list, blank=True)
    leader_achievements_text = models.TextField(_("技能大师工作业绩、获奖情况、主要创新发明"), blank=True)
    consent_version = models.CharField(_("个人信息告知同意版本"), max_length=20, blank=True)
    consented_at = models.DateTimeField(_("同意时间"), null=True, blank=True)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    stage_due_on = models.DateField(_("本环节办理期限"), null=True, blank=True)
    score = models.DecimalField(_("专家评审得分"), max_digits=6, decimal_places=2, null=True, blank=True)
    rank = models.PositiveSmallIntegerField(_("排名"), null=True, blank=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("申报")
        verbose_name_plural = _("申报")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["city", "state"], name="app_city_state_idx"),
                   models.Index(fields=["district", "state"], name="app_district_state_idx")]

    def __str__(self) -> str:
        return self.studio_name or f"申报 #{self.pk}"

    @property
    def policy(self) -> Policy:
        return self.round.policy

    def stage_state_after(self, current: str | None) -> str:
        """The next state this city's policy has after `current` (None: the first stage).

        Past the last stage the application is approved: 郑州, 平顶山 and 温州 publish no notice and
        set up the studio on the decision; 呼和浩特 decides before its notice, 东莞 after it
        (第九条(六) 审定授牌), so "notice" is simply one more stage in the list.
        """
        names = list(self.policy.stages)
        if current is not None:
            stage = STATE_INFO[current].stage
            names = names[names.index(stage) + 1:] if stage in names else []
        return STAGE_STATES[names[0]] if names else AppState.APPROVED

    # --- transitions: each step one verb; the policy decides which stage comes next -------------

    @transition(field=state, source=[AppState.DRAFT, AppState.RETURNED],
                target=RETURN_VALUE(*STAGE_STATES.values()))
    def submit(self) -> str:
        """Submitting starts the first review stage the city's policy lists."""
        self.submitted_at = timezone.now()
        return self.stage_state_after(None)

    @transition(field=state, source=list(REVIEW_STATES), target=RETURN_VALUE(*STAGE_STATES.values(), AppState.APPROVED))
    def pass_stage(self) -> str:
        """Passing a stage moves to the next stage in the policy's order (e.g. 郑州 第七条)."""
        return self.stage_state_after(self.state)

    @transition(field=state, source=[AppState.FORMAL_REVIEW, AppState.AGGREGATION], target=AppState.RETURNED)
    def return_for_revision(self) -> None:
        """Formal review (or the agency's guidance, 郑州 第七条) sends it back to the unit to amend."""

    @transition(field=state, source=list(REVIEW_STATES), target=AppState.REJECTED)
    def reject(self) -> None:
        """Fails a review stage: not eligible, or not chosen by the decision makers."""

    @transition(field=state, source=[AppState.EXPERT_REVIEW, AppState.OPINION, AppState.DECISION],
                target=AppState.BACKUP)
    def place_on_backup_list(self) -> None:
        """Below the cut-off: kept in rank order to replace a disqualified one (东莞 第九条(五))."""

    @transition(field=state, source=[s for s, i in STATE_INFO.items() if i.withdrawable], target=AppState.WITHDRAWN)
    def withdraw(self) -> None:
        """The unit withdraws before a decision is taken."""

    @transition(field=state, source=AppState.READY_FOR_NOTICE, target=AppState.ON_NOTICE)
    def start_notice(self) -> None:
        """The list is published for public notice (e.g. 东莞 第九条(五) 公示5个工作日)."""

    @transition(field=state, source=AppState.ON_NOTICE, target=RETURN_VALUE(*STAGE_STATES.values(), AppState.APPROVED))
    def end_notice(self) -> str:
        """The notice ended with no objection upheld: on to the stage after the notice (东莞 审定授牌) or approved."""
        return self.stage_state_after(AppState.READY_FOR_NOTICE)

    @transition(field=state, source=AppState.ON_NOTICE, target=AppState.DISQUALIFIED)
    def disqualify(self) -> None:
        """东莞 第九条(五): 异议成立且确认不符合条件的，撤消其资格."""

    @transition(field=state, source=AppState.BACKUP, target=AppState.READY_FOR_NOTICE)
    def promote_from_backup(self) -> None:
        """东莞 第九条(五): 从备选名单中择优替补，重新公示."""

    def snapshot(self) -> dict[str, Any]:
        """What the unit submitted, for the revision history and the reviewer's diff."""
        fields = ["studio_name", "occupation", "category", "site_address", "site_area", "equipment",
                  "funding_commitment", "education_fund_share", "necessity", "goals", "work_plan",
                  "support_measures"]
        data: dict[str, Any] = {f: str(getattr(self, f) or "") for f in fields}
        data["leader"] = self.leader.name if self.leader_id else ""
        data["members"] = [f"{m.person.name}（{m.get_role_display()}）" for m in self.members.select_related("person")]
        data["projects"] = [p.name for p in self.projects.all()]
        data["attachments"] = sorted(f"{a.kind}:{a.original_name}" for a in self.attachments.all())
        return data


class ApplicationMember(models.Model):
    class MemberRole(models.TextChoices):
        MEMBER = "member", _("工作室成员")
        ASSISTANT = "assistant", _("青年技术技能骨干（助手）")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey("portal.Person", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("成员角色"), max_length=20, choices=MemberRole.choices, default=MemberRole.MEMBER)

    class Meta:
        verbose_name = _("工作室成员")
        verbose_name_plural = _("工作室成员")
        constraints = [models.UniqueConstraint(fields=["application", "person"], name="member_once")]

    def __str__(self) -> str:
        return str(self.person)


class ApplicationProject(models.Model):
    """立项项目 (东莞 第六条(三): 申报时至少有一个项目纳入工作室实施)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(_("项目名称"), max_length=120)
    objective = models.TextField(_("项目目标"))
    content = models.TextField(_("主要内容"), blank=True)
    duration_months = models.PositiveSmallIntegerField(_("实施周期（月）"), default=36)

    class Meta:
        verbose_name = _("立项项目")
        verbose_name_plural = _("立项项目")

    def __str__(self) -> str:
        return self.name


class Attachment(models.Model):
    """An uploaded material; stored outside the web root, served only through an access check."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("材料类别"), max_length=40)
    file = models.FileField(_("文件"), upload_to=private_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("申报材料")
        verbose_name_plural = _("申报材料")

    def __str__(self) -> str:
        return self.original_name


class ApplicationRevision(models.Model):
    """Each submission's content, kept so a resubmission can be compared with the last one."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveSmallIntegerField()
    data = models.JSONField()
    submitted_at = models.DateTimeField()

    class Meta:
        verbose_name = _("申报版本")
        verbose_name_plural = _("申报版本")
        ordering = ["application", "number"]
        constraints = [models.UniqueConstraint(fields=["application", "number"], name="revision_number_once")]

    def __str__(self) -> str:
        return f"{self.application} v{self.number}"


class SanctionQuerySet(models.QuerySet["Sanction"]):
    def active_on(self, on: date) -> SanctionQuerySet:
        return self.filter(starts_on__lte=on, ends_on__gte=on)


class Sanction(models.Model):
    """A ban on applying (平顶山 第十四条 / 郑州 第十七条: 弄虚作假 → 所在单位和负责人三年内不得参与申报)."""

    organization = models.ForeignKey("portal.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="sanctions", verbose_name=_("受限单位"))
    person = models.ForeignKey("portal.Person", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="sanctions", verbose_name=_("受限人员"))
    reason = models.CharField(_("事由"), max_length=200)
    article = models.CharField(_("依据条款"), max_length=60)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SanctionQuerySet.as_manager()

    class Meta:
        verbose_name = _("申报限制")
        verbose_name_plural = _("申报限制")
        constraints = [models.CheckConstraint(
            condition=models.Q(organization__isnull=False) | models.Q(person__isnull=False),
            name="sanction_has_subject")]

    def __str__(self) -> str:
        return f"{self.organization or self.person}：{self.reason}（至 {self.ends_on}）"


class StudioQuerySet(models.QuerySet["Studio"]):
    def public(self) -> StudioQuerySet:
        return self.filter(state__in=[s for s, i in STUDIO_STATE_INFO.items() if i.public])

    def in_city(self, city_id: int) -> StudioQuerySet:
        return self.filter(city_id=city_id)


class Studio(ConcurrentTransitionMixin, models.Model):
    """技能大师工作室: established from an approved application (发文设立), or imported."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="studio", verbose_name=_("来源申报"))
    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="studios", verbose_name=_("城市"))
    district = models.ForeignKey("portal.District", on_delete=models.PROTECT, related_name="studios",
                                 verbose_name=_("县区/镇街"))
    organization = models.ForeignKey("portal.Organization", on_delete=models.PROTECT, related_name="studios",
                                     verbose_name=_("依托单位"))
    leader = models.ForeignKey("portal.Person", on_delete=models.PROTECT, related_name="led_studios",
                               verbose_name=_("领办人"))
    name = models.CharField(_("工作室名称"), max_length=120, db_index=True)
    occupation = models.CharField(_("职业（工种）"), max_length=100)
    category = models.CharField(_("类别"), max_length=30, blank=True)
    policy_version = models.CharField(_("适用办法版本"), max_length=32)
    state = FSMField(_("状态"), default=StudioState.ESTABLISHED, choices=StudioState.choices, protected=True,
                     db_index=True)
    version = models.PositiveIntegerField(default=1)
    established_on = models.DateField(_("设立日期"), db_index=True)
    establishment_doc = models.CharField(_("设立文号"), max_length=100, blank=True)
    support_ends_on = models.DateField(_("扶持（培育建设）期满日期"), null=True, blank=True)
    # Raised by the assessment rule (平顶山 第十四条(四) / 郑州 第十七条(四): 连续2年考核不合格), cleared by a decision.
    revocation_proposed_at = models.DateTimeField(_("提出撤销建议时间"), null=True, blank=True)
    renewals = models.PositiveSmallIntegerField(_("续期次数"), default=0,
                                                help_text=_("郑州 第十六条：扶持期满后重新享受下一轮扶持政策期的次数"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StudioQuerySet.as_manager()

    class Meta:
        verbose_name = _("技能大师工作室")
        verbose_name_plural = _("技能大师工作室")
        ordering = ["-established_on", "name"]
        indexes = [models.Index(fields=["city", "state", "established_on"], name="studio_city_state_idx"),
                   # The public directory's order: its first page is read straight off this index.
                   models.Index(fields=["-established_on", "name", "id"], name="studio_directory_order_idx")]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def policy(self) -> Policy:
        return get_policy_version(self.city.code, self.policy_version)

    @property
    def state_info(self) -> StudioStateInfo:
        return STUDIO_STATE_INFO[self.state]

    def _has_milestone(self, kind: str) -> bool:
        return self.policy.acceptance.has_milestone(kind)

    def _no_final_acceptance(self) -> bool:
        return not self._has_milestone("final")

    @transition(field=state, source=StudioState.ESTABLISHED, target=StudioState.MIDTERM_ACCEPTED,
                conditions=[lambda s: s._has_milestone("midterm")])
    def accept_midterm(self) -> None:
        """平顶山 第十条: 中期验收通过 (first tranche of the construction grant)."""

    @transition(field=state, source=[StudioState.ESTABLISHED, StudioState.MIDTERM_ACCEPTED],
                target=StudioState.ACCEPTED, conditions=[lambda s: s._has_milestone("final")])
    def accept(self) -> None:
        """Final acceptance passed (平顶山 第十条; 郑州 第十二条 → plaque; 东莞 第十七条; 呼和浩特 第十条)."""

    @transition(field=state, source=[StudioState.ACCEPTED, StudioState.ESTABLISHED], target=StudioState.OPERATING,
                conditions=[lambda s: s.state == StudioState.ACCEPTED or s._no_final_acceptance()])
    def start_operation(self) -> None:
        """In operation: after acceptance, or at once where the policy has no acceptance (温州)."""

    @transition(field=state, source=[StudioState.OPERATING, StudioState.ACCEPTED], target=StudioState.PERIOD_ENDED)
    def end_support_period(self) -> None:
        """The support (培育建设) period ends (郑州 第十三条 三年扶持期, 东莞 第十四条 3年)."""

    @transition(field=state, source=StudioState.PERIOD_ENDED, target=StudioState.OPERATING)
    def renew(self) -> None:
        """郑州 第十六条: 扶持政策期满后，经考核成绩突出的，可以重新享受下一轮扶持政策期."""
        self.renewals += 1

    @transition(field=state, source=[s for s, i in STUDIO_STATE_INFO.items() if not i.terminal],
                target=StudioState.REVOKED)
    def revoke(self) -> None:
        """Revocation on one of the policy's grounds (e.g. 平顶山 第十四条, 郑州 第十七条, 东莞 第十八条)."""


class Plaque(models.Model):
    """牌匾: recorded when due (on establishment, or 郑州 第十二条 only after acceptance); withdrawn on revocation."""

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="plaques")
    number = models.CharField(_("牌匾编号"), max_length=40, unique=True)
    issuing_body = models.CharField(_("授牌单位"), max_length=200)
    issued_on = models.DateField(_("授牌日期"), null=True, blank=True)
    withdrawn_on = models.DateField(_("收回日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("牌匾")
        verbose_name_plural = _("牌匾")

    def __str__(self) -> str:
        return self.number



class AnnualPlan(models.Model):
    """年度工作计划 (郑州 第九条(六): 1月20日前报实训管理服务机构; 平顶山 第八条(五): 4月30日前报市人社局)."""

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="plans")
    year = models.PositiveSmallIntegerField(_("年度"))
    content = models.TextField(_("带徒传技和技术攻关计划"))
    due_on = models.DateField(_("报送期限"), null=True, blank=True)
    filed_at = models.DateTimeField(_("报送时间"))
    filed_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    # Late filing is kept and marked, never refused: the bureau needs the plan either way.
    is_late = models.BooleanField(_("逾期报送"), default=False)
    forwarded_at = models.DateTimeField(_("汇总上报时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("年度工作计划")
        verbose_name_plural = _("年度工作计划")
        ordering = ["-year"]
        constraints = [models.UniqueConstraint(fields=["studio", "year"], name="plan_once_a_year")]

    def __str__(self) -> str:
        return f"{self.studio} {self.year}"


class PlanAggregation(models.Model):
    """郑州 第十一条(五): the agency forwards the year's plans to the city by 10 February."""

    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    due_on = models.DateField(_("汇总期限"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("上报时间"))
    submitted_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    plan_count = models.PositiveIntegerField(_("计划份数"))
    is_late = models.BooleanField(_("逾期上报"), default=False)

    class Meta:
        verbose_name = _("年度计划汇总")
        verbose_name_plural = _("年度计划汇总")
        constraints = [models.UniqueConstraint(fields=["city", "year"], name="aggregation_once_a_year")]

    def __str__(self) -> str:
        return f"{self.city} {self.year}"


class StudioRecord(models.Model):
    """The studio's ledger: apprentices, trainees, activities, competitions, achievements, textbooks."""

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(_("类别"), max_length=20)  # portal.policies.vocab.RECORD_KINDS
    date = models.DateField(_("日期"))
    title = models.CharField(_("名称/事项"), max_length=200)
    person_name = models.CharField(_("人员姓名"), max_length=50, blank=True)
    level = models.PositiveSmallIntegerField(_("取得的职业技能等级"), null=True, blank=True,
                                             choices=SkillLevel.choices)
    certificate_no = models.CharField(_("证书编号"), max_length=60, blank=True)
    is_new_certificate = models.BooleanField(_("当年新取得证书"), default=False)
    agreement_on = models.DateField(_("以师带徒协议签订日期"), null=True, blank=True)
    detail = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("工作室台账")
        verbose_name_plural = _("工作室台账")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["studio", "kind", "date"], name="record_studio_kind_date_idx")]

    def __str__(self) -> str:
        return self.title


class Assessment(models.Model):
    """A yearly or biennial assessment, an acceptance, a progress report or a third-party evaluation."""

    class Kind(models.TextChoices):
        ANNUAL = "annual", _("年度考核")
        BIENNIAL = "biennial", _("两年一次绩效评估")
        SETUP = "setup", _("组建完善检查")
        PROGRESS_REPORT = "progress_report", _("工作开展情况报告")
        EVALUATION = "evaluation", _("第三方绩效评价")
        MIDTERM = "midterm", _("中期验收")
        FINAL = "final", _("终期（期满）验收")

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="assessments")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    period = models.PositiveSmallIntegerField(_("年度"))
    conducted_on = models.DateField(_("考核日期"))
    self_scores = models.JSONField(_("自评分"), default=dict, blank=True)
    scores = models.JSONField(_("考核分"), default=dict, blank=True)
    bonus = models.DecimalField(_("加分"), max_digits=5, decimal_places=1, default=0)
    total = models.DecimalField(_("总分"), max_digits=6, decimal_places=1, null=True, blank=True)
    grade = models.CharField(_("等级"), max_length=20)
    passed = models.BooleanField(_("合格"))
    joint_with = models.JSONField(_("会同部门"), default=list, blank=True)
    opinion = models.TextField(_("考核意见"), blank=True)
    recorded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("考核与验收")
        verbose_name_plural = _("考核与验收")
        ordering = ["-period", "-conducted_on"]
        constraints = [models.UniqueConstraint(fields=["studio", "kind", "period"], name="assessment_once")]

    def __str__(self) -> str:
        return f"{self.studio} {self.period} {self.get_kind_display()}"


class Disbursement(models.Model):
    """A payment under one of the policy's subsidies, checked against its entitlement and cap."""

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="disbursements")
    subsidy = models.CharField(_("资金项目"), max_length=40)  # policy subsidies[].code
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(_("人数/项数"), default=1)
    level = models.PositiveSmallIntegerField(_("证书等级"), null=True, blank=True, choices=SkillLevel.choices,
                                             help_text=_("按取证等级给予的培养奖励（东莞 第十二条(二)）"))
    recipient = models.ForeignKey("portal.Person", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("领取人"))
    paid_on = models.DateField(_("拨付日期"))
    basis = models.CharField(_("拨付依据"), max_length=200)
    approver = models.CharField(_("审批人"), max_length=50)
    recorded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("资金拨付")
        verbose_name_plural = _("资金拨付")
        ordering = ["-paid_on", "-id"]

    def __str__(self) -> str:
        return f"{self.studio} {self.subsidy} {self.amount}"


class Revocation(models.Model):
    """撤销 with its 通报: plaque and equipment recovered, unpaid money stopped, sanctions for fraud."""

    studio = models.OneToOneField(Studio, on_delete=models.PROTECT, related_name="revocation")
    ground = models.CharField(_("撤销情形"), max_length=40)  # policy revocation.grounds[].code
    is_fraud = models.BooleanField(_("弄虚作假"), default=False)
    decided_on = models.DateField(_("决定日期"))
    decision_body = models.CharField(_("决定机关"), max_length=200)
    joint_with = models.JSONField(_("会同部门"), default=list, blank=True)
    notice_text = models.TextField(_("通报内容"))
    plaque_recovered_on = models.DateField(_("牌匾收回日期"), null=True, blank=True)
    equipment_note = models.CharField(_("配套设备收回情况"), max_length=200, blank=True)
    decided_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("撤销")
        verbose_name_plural = _("撤销")

    def __str__(self) -> str:
        return f"{self.studio}：{self.ground}"


class LeaderChange(models.Model):
    """呼和浩特 第十二条(二): 因调离、退休等原因变更领办人，重新确定并报核准."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("待审核")
        APPROVED = "approved", _("已核准")
        REJECTED = "rejected", _("未核准")

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="leader_changes")
    old_leader = models.ForeignKey("portal.Person", on_delete=models.PROTECT, related_name="+")
    new_leader = models.ForeignKey("portal.Person", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("变更原因"), max_length=200)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.REQUESTED)
    opinion = models.TextField(_("审核意见"), blank=True)
    requested_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("领办人变更")
        verbose_name_plural = _("领办人变更")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.studio}：{self.old_leader} → {self.new_leader}"


class Upgrade(models.Model):
    """Recognised as a provincial or national studio (东莞 第十一条(3) rewards it)."""

    class Level(models.TextChoices):
        PROVINCIAL = "provincial", _("省级技能大师工作室")
        NATIONAL = "national", _("国家级技能大师工作室")

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="upgrades")
    level = models.CharField(_("级别"), max_length=20, choices=Level.choices)
    recognized_on = models.DateField(_("认定日期"))
    document = models.CharField(_("认定文件"), max_length=200)
    recorded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("升级认定")
        verbose_name_plural = _("升级认定")
        constraints = [models.UniqueConstraint(fields=["studio", "level"], name="upgrade_once")]

    def __str__(self) -> str:
        return f"{self.studio} {self.get_level_display()}"


class StudioMember(models.Model):
    """A member of a studio recorded on the studio itself: imported studios have no application to hold their
    members (a studio established in the portal keeps its members on its application)."""

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="members")
    person = models.ForeignKey("portal.Person", on_delete=models.PROTECT, related_name="studio_memberships")
    role = models.CharField(_("成员角色"), max_length=20, choices=ApplicationMember.MemberRole.choices,
                            default=ApplicationMember.MemberRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("工作室成员")
        verbose_name_plural = _("工作室成员")
        constraints = [models.UniqueConstraint(fields=["studio", "person"], name="studio_member_once")]

    def __str__(self) -> str:
        return str(self.person)


class ImportJob(models.Model):
    """One uploaded spreadsheet: checked, then imported (all rows, or only the good ones) by a task.

    The file is kept in the row, not on disk: the worker that imports it may run on another machine, and the
    bureau keeps the file each imported studio came from (the studio's audit row names the job)."""

    class Kind(models.TextChoices):
        UNITS = "units", _("依托单位")
        STUDIOS = "studios", _("工作室、领办人和成员")
        ASSESSMENTS = "assessments", _("考核与验收")
        PAYMENTS = "payments", _("资金拨付")

    class State(models.TextChoices):
        CHECKING = "checking", _("校验中")
        CHECKED = "checked", _("已校验")
        IMPORTING = "importing", _("导入中")
        DONE = "done", _("已导入")
        FAILED = "failed", _("失败")

    class Mode(models.TextChoices):
        ALL = "all", _("全部导入")
        GOOD = "good", _("仅导入无误的行")

    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="+", verbose_name=_("城市"))
    kind = models.CharField(_("模板"), max_length=20, choices=Kind.choices)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.CHECKING)
    mode = models.CharField(_("导入方式"), max_length=10, choices=Mode.choices, blank=True)
    file_name = models.CharField(_("文件名"), max_length=200)
    file_size = models.PositiveIntegerField(_("文件大小"))
    sha256 = models.CharField(max_length=64)
    # The uploaded workbook carries full ID numbers and phones: encrypted at rest like every other copy.
    content = EncryptedBinaryField(editable=False)
    total_rows = models.PositiveIntegerField(_("数据行数"), default=0)
    error_rows = models.PositiveIntegerField(_("有错误的行数"), default=0)
    report = models.JSONField(_("校验报告"), default=dict, blank=True)
    result = models.JSONField(_("导入结果"), default=dict, blank=True)
    message = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("上传人"))
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    run_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("导入人"))
    started_at = models.DateTimeField(_("开始导入"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据导入")
        verbose_name_plural = _("数据导入")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["city", "-created_at"], name="importjob_city_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.file_name}"
