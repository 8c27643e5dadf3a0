"""Django admin for judging records: read-only evidence. Decisions, panels, scores and opinions are
made on the bureaus' pages (reviews/views.py) through reviews/actions.py, which keep the audit
trail; the admin only lets a break-glass superuser read them."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdmin
from reviews.models import (
    Assignment,
    ExportJob,
    Notice,
    NoticeEntry,
    Objection,
    OpinionRequest,
    Panel,
    ReviewStep,
    Score,
)
from workshops.admin import ReadOnlyInline


@admin.register(ReviewStep)
class ReviewStepAdmin(ReadOnlyAdmin):
    list_display = ("at", "application", "stage", "outcome", "actor", "actor_role", "originals_checked")
    list_filter = ("stage", "outcome", "actor_role")
    list_select_related = ("application", "actor")
    search_fields = ("application__studio_name", "opinion")
    date_hierarchy = "at"


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fields = ("application", "expert", "conflict_declared", "conflict_note", "submitted_at")


@admin.register(Panel)
class PanelAdmin(ReadOnlyAdmin):
    list_display = ("name", "round", "due_on", "closed_at", "created_by", "created_at")
    list_filter = ("round__city",)
    list_select_related = ("round", "created_by")
    inlines = [AssignmentInline]


class ScoreInline(ReadOnlyInline):
    model = Score
    fields = ("criterion", "value")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("application", "expert", "panel", "conflict_declared", "submitted_at", "total_display")
    list_filter = ("conflict_declared", "panel__round__city")
    list_select_related = ("application", "expert", "panel")
    search_fields = ("application__studio_name", "expert__full_name")
    inlines = [ScoreInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("scores")

    @admin.display(description=_("总分"))
    def total_display(self, obj: Assignment) -> Any:
        return obj.total


@admin.register(OpinionRequest)
class OpinionRequestAdmin(ReadOnlyAdmin):
    list_display = ("department", "round", "due_on", "responded_at", "recorded_by")
    list_filter = ("round__city",)
    list_select_related = ("round", "recorded_by")
    search_fields = ("department", "response")


class NoticeEntryInline(ReadOnlyInline):
    model = NoticeEntry
    fields = ("position", "studio_name", "leader_name", "organization_name", "occupation", "category_label")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("title", "city", "starts_on", "ends_on", "working_days", "published_at", "closed_at")
    list_filter = ("city",)
    inlines = [NoticeEntryInline]


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "notice", "entry", "name", "state", "handled_at")
    list_filter = ("state",)
    # The objector's phone stays out of the admin; staff handle objections in the portal.
    exclude = ("phone", "source_hash")


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "created_by", "dataset", "format", "state", "total_rows", "finished_at")
    list_filter = ("dataset", "format", "state")
    list_select_related = ("created_by",)
    # The file itself is downloaded in the portal, where the download is audited.
    exclude = ("content",)
