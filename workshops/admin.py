"""Django admin for rounds and applications: read-only evidence. Every change to a round or an
application goes through workshops/actions.py (state machine, optimistic lock, audit trail); the
admin only lets a break-glass superuser read what happened. The one exception is a sanction
(申报限制), which the bureau may record here; each addition or change is written to the audit trail."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal import audit
from portal.admin import ReadOnlyAdmin
from workshops.models import (
    AnnualPlan,
    Application,
    ApplicationMember,
    ApplicationProject,
    ApplicationRevision,
    Assessment,
    Attachment,
    Disbursement,
    LeaderChange,
    PlanAggregation,
    Plaque,
    Revocation,
    Round,
    Sanction,
    Studio,
    StudioRecord,
    Upgrade,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    list_display = ("title", "city", "year", "policy_version", "opens_on", "closes_on", "quota")
    list_filter = ("city", "year")
    search_fields = ("title",)


class MemberInline(ReadOnlyInline):
    model = ApplicationMember
    fields = ("person", "role")


class ProjectInline(ReadOnlyInline):
    model = ApplicationProject
    fields = ("name", "objective", "duration_months")


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    # No file link: uploads are served only through the portal's access-checked download view.
    fields = ("kind", "original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = fields


class RevisionInline(ReadOnlyInline):
    model = ApplicationRevision
    fields = ("number", "submitted_at", "data")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "organization", "round", "district", "state", "submitted_at", "stage_due_on",
                    "score", "rank")
    list_filter = ("city", "state", "round")
    list_select_related = ("organization", "round", "district", "district__city")
    search_fields = ("studio_name", "organization__name", "occupation")
    date_hierarchy = "submitted_at"
    inlines = [MemberInline, ProjectInline, AttachmentInline, RevisionInline]


@admin.register(Sanction)
class SanctionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "organization", "person", "article", "starts_on", "ends_on")
    list_filter = ("starts_on",)
    search_fields = ("organization__name", "person__name", "reason")
    autocomplete_fields = ("organization", "person")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a ban that ended is kept, with its dates, as the record of it

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit.record(request.user, "sanction.created", obj, request=request, reason=obj.reason,
                     data={"article": obj.article, "starts_on": obj.starts_on, "ends_on": obj.ends_on})
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit.record(request.user, "sanction.changed", obj, request=request, reason=obj.reason,
                     data={"change": message, "starts_on": obj.starts_on, "ends_on": obj.ends_on})
        return super().log_change(request, obj, message)


class PlaqueInline(ReadOnlyInline):
    model = Plaque
    fields = ("number", "issuing_body", "issued_on", "withdrawn_on")


class PlanInline(ReadOnlyInline):
    model = AnnualPlan
    fields = ("year", "due_on", "filed_at", "is_late", "forwarded_at")


class RecordInline(ReadOnlyInline):
    model = StudioRecord
    fields = ("kind", "date", "title", "person_name", "level", "is_new_certificate")


class AssessmentInline(ReadOnlyInline):
    model = Assessment
    fields = ("kind", "period", "conducted_on", "total", "grade", "passed")


class DisbursementInline(ReadOnlyInline):
    model = Disbursement
    fields = ("subsidy", "amount", "quantity", "level", "paid_on", "basis", "approver")


class RevocationInline(ReadOnlyInline):
    model = Revocation
    fields = ("ground", "is_fraud", "decided_on", "decision_body", "plaque_recovered_on")


class LeaderChangeInline(ReadOnlyInline):
    model = LeaderChange
    fields = ("old_leader", "new_leader", "reason", "state", "decided_at")


class UpgradeInline(ReadOnlyInline):
    model = Upgrade
    fields = ("level", "recognized_on", "document")


@admin.register(Studio)
class StudioAdmin(ReadOnlyAdmin):
    list_display = ("name", "city", "district", "organization", "state", "established_on", "establishment_doc")
    list_filter = ("city", "state")
    search_fields = ("name",)
    inlines = [PlaqueInline, PlanInline, RecordInline, AssessmentInline, DisbursementInline, RevocationInline,
               LeaderChangeInline, UpgradeInline]


@admin.register(PlanAggregation)
class PlanAggregationAdmin(ReadOnlyAdmin):
    list_display = ("city", "year", "due_on", "submitted_at", "plan_count", "is_late")


# Imports (workshops/imports.py): read-only records; the file itself is not shown (it holds 身份证号).
from workshops.models import ImportJob, StudioMember  # noqa: E402


@admin.register(StudioMember)
class StudioMemberAdmin(ReadOnlyAdmin):
    list_display = ("person", "studio", "role", "created_at")
    list_select_related = ("person", "studio")
    search_fields = ("studio__name",)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "city", "kind", "state", "mode", "total_rows", "error_rows", "created_by",
                    "created_at", "finished_at")
    list_filter = ("city", "kind", "state")
    exclude = ("content",)
