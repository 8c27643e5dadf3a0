"""Admin-maintained working-day calendar data (see portal/calendar.py for the rules).

The State Council publishes each year's holiday arrangement (国务院办公厅关于某年部分节假日安排的
通知) only in the late autumn of the year before, so no package can know it in advance.  The
``chinesecalendar`` package covers the years it was released with; for later years, or to correct
a year, the bureau enters the days here.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    """A year whose holiday data the bureau has entered (or is entering) by hand."""

    year = models.PositiveSmallIntegerField(
        _("年度"),
        unique=True,
        validators=[MinValueValidator(1949), MaxValueValidator(2100)],
    )
    complete = models.BooleanField(
        _("本年度节假日数据已完整录入"),
        default=False,
        help_text=_(
            "勾选前请确认本年度全部放假日期和调休上班日期都已在“工作日历日期”中逐日录入。"
            "勾选后，未录入的周一至周五按工作日、周六和周日按休息日计算；"
            "未勾选时，系统拒绝计算跨入本年度的期限。"
        ),
    )
    note = models.TextField(
        _("备注"),
        blank=True,
        help_text=_("如：依据《国务院办公厅关于2027年部分节假日安排的通知》录入。"),
    )

    class Meta:
        verbose_name = _("工作日历年度")
        verbose_name_plural = _("工作日历年度")
        ordering = ("-year",)

    def __str__(self) -> str:
        return f"{self.year}"


class CalendarDay(models.Model):
    """One day whose status differs from (or must be pinned over) the default calendar."""

    date = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(
        _("工作日"),
        help_text=_("勾选表示当天上班（如调休上班日）；不勾选表示当天放假（如法定节假日）。"),
    )
    name = models.CharField(
        _("名称"),
        max_length=50,
        blank=True,
        help_text=_("如“春节”“国庆节”“调休上班”。"),
    )

    class Meta:
        verbose_name = _("工作日历日期")
        verbose_name_plural = _("工作日历日期")
        ordering = ("date",)

    def __str__(self) -> str:
        status = _("上班") if self.is_working_day else _("放假")
        label = f"{self.date.isoformat()} {status}"
        return f"{label}（{self.name}）" if self.name else label


@receiver(post_save, sender=CalendarYear, dispatch_uid="portal.calendar.year_saved")
@receiver(post_delete, sender=CalendarYear, dispatch_uid="portal.calendar.year_deleted")
@receiver(post_save, sender=CalendarDay, dispatch_uid="portal.calendar.day_saved")
@receiver(post_delete, sender=CalendarDay, dispatch_uid="portal.calendar.day_deleted")
def _calendar_changed(**kwargs: Any) -> None:
    # Deadlines are computed from an in-process cache (portal/calendar.py).  Drop it now, so this
    # process sees the change at once, and again after commit, so that a concurrent reader that
    # re-filled the cache from the not-yet-committed state does not keep it.  Other processes
    # pick the change up when their cache's time-to-live runs out.  (Imported here because
    # portal.calendar itself loads these models.)
    from portal.calendar import clear_cache

    clear_cache()
    transaction.on_commit(clear_cache, using=kwargs.get("using"), robust=True)
