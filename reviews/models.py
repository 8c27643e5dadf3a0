"""Judging: the record of each review step, expert panels, assignments and scores."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from portal.crypto import EncryptedTextField
from workshops.models import private_upload_to


class ReviewStep(models.Model):
    """One bureau decision on an application: formal review, aggregation, opinion or decision.

    The audit trail has the same facts; this table is what the unit and the next reviewer read
    (the 意见 boxes of the application forms), in a shape that can be queried and printed.
    """

    class Outcome(models.TextChoices):
        PASSED = "passed", _("通过")
        RETURNED = "returned", _("退回修改")
        REJECTED = "rejected", _("不通过")
        BACKUP = "backup", _("列入备选")

    application = models.ForeignKey("workshops.Application", on_delete=models.CASCADE, related_name="review_steps")
    stage = models.CharField(_("环节"), max_length=30)
    outcome = models.CharField(_("结果"), max_length=20, choices=Outcome.choices)
    opinion = models.TextField(_("意见"))
    originals_checked = models.BooleanField(_("已核对原件"), default=False)
    actor = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(max_length=20)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("审查记录")
        verbose_name_plural = _("审查记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application} {self.stage} {self.outcome}"


class Panel(models.Model):
    """An expert panel for one round (评审专家组)."""

    round = models.ForeignKey("workshops.Round", on_delete=models.PROTECT, related_name="panels")
    name = models.CharField(_("专家组名称"), max_length=100)
    due_on = models.DateField(_("评审截止日期"), null=True, blank=True)
    closed_at = models.DateTimeField(_("评审结束时间"), null=True, blank=True)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("专家组")
        verbose_name_plural = _("专家组")

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class Assignment(models.Model):
    """One expert asked to score one application."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="assignments")
    application = models.ForeignKey("workshops.Application", on_delete=models.CASCADE, related_name="assignments")
    expert = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="assignments")
    conflict_declared = models.BooleanField(_("申报利益冲突（回避）"), default=False)
    conflict_note = models.CharField(_("回避理由"), max_length=200, blank=True)
    comment = models.TextField(_("总体评价"), blank=True)
    submitted_at = models.DateTimeField(_("提交评分时间"), null=True, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("评审任务")
        verbose_name_plural = _("评审任务")
        constraints = [models.UniqueConstraint(fields=["panel", "application", "expert"], name="assignment_once")]

    def __str__(self) -> str:
        return f"{self.expert} → {self.application}"

    @property
    def total(self) -> Decimal | None:
        if self.submitted_at is None:
            return None
        return sum((s.value for s in self.scores.all()), Decimal(0))


class Score(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="scores")
    criterion = models.CharField(_("评分项"), max_length=40)
    value = models.DecimalField(_("得分"), max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = _("评分")
        verbose_name_plural = _("评分")
        constraints = [models.UniqueConstraint(fields=["assignment", "criterion"], name="score_once")]

    def __str__(self) -> str:
        return f"{self.criterion}={self.value}"


class OpinionRequest(models.Model):
    """征求意见 (东莞 第九条(四)): a city department's opinion on the proposed list."""

    round = models.ForeignKey("workshops.Round", on_delete=models.PROTECT, related_name="opinion_requests")
    department = models.CharField(_("征求意见部门"), max_length=100)
    due_on = models.DateField(_("反馈期限"))
    response = models.TextField(_("反馈意见"), blank=True)
    objects_to = models.ManyToManyField("workshops.Application", blank=True, related_name="+",
                                        verbose_name=_("提出异议的申报"))
    responded_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    recorded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("征求意见")
        verbose_name_plural = _("征求意见")

    def __str__(self) -> str:
        return self.department


class NoticeQuerySet(models.QuerySet["Notice"]):
    def published(self) -> NoticeQuerySet:
        return self.filter(published_at__isnull=False)

    def current(self, on: date) -> NoticeQuerySet:
        return self.published().filter(starts_on__lte=on, ends_on__gte=on)


class Notice(models.Model):
    """公示: the list of proposed studios, public for a number of working days."""

    round = models.ForeignKey("workshops.Round", on_delete=models.PROTECT, related_name="notices")
    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="notices")
    title = models.CharField(_("公示标题"), max_length=200)
    body = models.TextField(_("公示说明"), blank=True)
    contact = models.CharField(_("异议受理联系方式"), max_length=200, blank=True)
    starts_on = models.DateField(_("公示开始日期"), db_index=True)
    ends_on = models.DateField(_("公示结束日期"), db_index=True)
    working_days = models.PositiveSmallIntegerField(_("公示期（工作日）"))
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="followups",
                                 verbose_name=_("替补重新公示自"))
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, db_index=True)
    published_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, null=True, related_name="+")
    closed_at = models.DateTimeField(_("公示结束处理时间"), null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["city", "starts_on"], name="notice_city_start_idx")]

    def __str__(self) -> str:
        return self.title

    def is_open_on(self, on: date) -> bool:
        return self.published_at is not None and self.starts_on <= on <= self.ends_on


class NoticeEntry(models.Model):
    """One studio on a notice. The public fields are copied at publication: the public page never
    reads personal data tables, and what was published stays what it was."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="entries")
    application = models.ForeignKey("workshops.Application", on_delete=models.PROTECT, related_name="notice_entries")
    position = models.PositiveSmallIntegerField(_("序号"))
    studio_name = models.CharField(_("工作室名称"), max_length=120)
    leader_name = models.CharField(_("领办人"), max_length=50)
    organization_name = models.CharField(_("依托单位"), max_length=200)
    occupation = models.CharField(_("职业（工种）"), max_length=100)
    category_label = models.CharField(_("类别"), max_length=50, blank=True)
    district_name = models.CharField(_("县区/镇街"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("公示名单")
        verbose_name_plural = _("公示名单")
        ordering = ["notice", "position"]
        constraints = [models.UniqueConstraint(fields=["notice", "application"], name="notice_entry_once")]

    def __str__(self) -> str:
        return self.studio_name


class ObjectionState(models.TextChoices):
    RECEIVED = "received", _("已受理")
    INVESTIGATING = "investigating", _("调查核实中")
    UPHELD = "upheld", _("异议成立")
    DISMISSED = "dismissed", _("异议不成立")


class Objection(ConcurrentTransitionMixin, models.Model):
    """An objection raised during the notice period (东莞 第九条(五); 呼和浩特 第九条(四))."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="objections")
    entry = models.ForeignKey(NoticeEntry, on_delete=models.PROTECT, related_name="objections",
                              verbose_name=_("异议对象"))
    name = models.CharField(_("姓名"), max_length=50)
    phone = EncryptedTextField(_("联系电话"))
    email = models.EmailField(_("电子邮箱"), blank=True)
    reason = models.TextField(_("异议事由"))
    evidence = models.FileField(_("证明材料"), upload_to=private_upload_to, blank=True)
    evidence_name = models.CharField(max_length=200, blank=True)
    state = FSMField(_("处理状态"), default=ObjectionState.RECEIVED, choices=ObjectionState.choices, protected=True)
    findings = models.TextField(_("调查结论"), blank=True)
    handled_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    handled_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # A keyed hash of the sender's address, for rate limiting without storing the address itself.
    source_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.entry}：{self.name}"

    @property
    def is_open(self) -> bool:
        return self.state in (ObjectionState.RECEIVED, ObjectionState.INVESTIGATING)

    @transition(field=state, source=ObjectionState.RECEIVED, target=ObjectionState.INVESTIGATING)
    def investigate(self) -> None:
        """Staff start checking the facts."""

    @transition(field=state, source=[ObjectionState.RECEIVED, ObjectionState.INVESTIGATING],
                target=ObjectionState.UPHELD)
    def uphold(self) -> None:
        """东莞 第九条(五): 经调查异议成立且确认不符合条件的，撤消其资格."""

    @transition(field=state, source=[ObjectionState.RECEIVED, ObjectionState.INVESTIGATING],
                target=ObjectionState.DISMISSED)
    def dismiss(self) -> None:
        """东莞 第九条(六): 经调查异议不成立 → the notice may close."""


class ExportJob(models.Model):
    """One export of a filtered list (XLSX or CSV), built by a task (reviews/exports.py).

    The file is kept in the row, not on disk: the worker that builds it may run on another machine
    than the web process that serves it. Files are deleted after EXPORT_RETENTION_DAYS; the row
    (who exported what, with which filters, how many rows) stays as the record, with the audit rows.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("排队等待")
        RUNNING = "running", _("正在生成")
        DONE = "done", _("已完成")
        FAILED = "failed", _("生成失败")
        EXPIRED = "expired", _("文件已过期删除")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel 表格（XLSX）")
        CSV = "csv", _("CSV 文本")

    dataset = models.CharField(_("数据"), max_length=40)
    title = models.CharField(_("名称"), max_length=200)
    format = models.CharField(_("格式"), max_length=10, choices=Format.choices)
    # The list's filters as submitted (GET parameters); the task validates them again, in the
    # exporter's scope as it is when the task runs.
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.QUEUED)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    done_rows = models.PositiveIntegerField(_("已写入行数"), default=0)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    content = models.BinaryField(null=True, blank=True, editable=False)
    size = models.PositiveIntegerField(_("文件大小"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    message = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("导出人"))
    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    district = models.ForeignKey("portal.District", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据导出")
        verbose_name_plural = _("数据导出")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="exportjob_owner_idx")]

    def __str__(self) -> str:
        return self.file_name or self.title

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED, self.State.EXPIRED)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(99, self.done_rows * 100 // self.total_rows) if self.total_rows else 0
