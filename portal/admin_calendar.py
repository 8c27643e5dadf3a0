"""Admin screens of the working-day calendar (“工作日历”).

Importing this module registers both models on ``django.contrib.admin.site``; call
``register(other_site)`` to put them on another ``AdminSite`` as well.  ``register`` skips a model
that the site already has, so calling it for the default site again is harmless.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.calendar import package_covers_year
from portal.models.calendar import CalendarDay, CalendarYear

__all__ = ["CalendarDayAdmin", "CalendarYearAdmin", "register"]

_WEEKDAYS = (
    _("星期一"),
    _("星期二"),
    _("星期三"),
    _("星期四"),
    _("星期五"),
    _("星期六"),
    _("星期日"),
)


class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "complete", "data_source", "entered_days", "note")
    list_filter = ("complete",)
    search_fields = ("note",)
    ordering = ("-year",)

    @admin.display(description=_("数据来源"))
    def data_source(self, obj: CalendarYear) -> str:
        # Tells the bureau at a glance whether deadlines into this year can be computed at all.
        if package_covers_year(obj.year):
            return str(_("内置节假日数据（已录入的日期优先）"))
        if obj.complete:
            return str(_("手工录入，已完整"))
        return str(_("手工录入，未完成：跨入本年度的期限暂不能计算"))

    @admin.display(description=_("已录入日期数"))
    def entered_days(self, obj: CalendarYear) -> int:
        return CalendarDay.objects.filter(date__year=obj.year).count()


class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "weekday", "is_working_day", "name")
    list_filter = ("is_working_day",)
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("date",)

    @admin.display(description=_("星期"), ordering="date")
    def weekday(self, obj: CalendarDay) -> str:
        # Shown next to the date because 调休 rows are exactly the weekends marked as working.
        return str(_WEEKDAYS[obj.date.weekday()])


def register(site: admin.AdminSite) -> None:
    """Register the calendar models on ``site`` (idempotent)."""
    if not site.is_registered(CalendarYear):
        site.register(CalendarYear, CalendarYearAdmin)
    if not site.is_registered(CalendarDay):
        site.register(CalendarDay, CalendarDayAdmin)


register(admin.site)
