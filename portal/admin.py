"""Django admin for every shared model. Day-to-day work happens in the portal's own pages; the
admin is for the administrators (accounts, calendar, reference data) and is read-only where the
data is evidence (audit trail, loaded policies)."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

import portal.access as access
import portal.audit as audit
from portal import admin_calendar  # noqa: F401  (registers the working-day calendar)
from portal.models import (
    AuditChainHead,
    AuditEvent,
    City,
    District,
    Notification,
    Organization,
    Person,
    PolicyVersion,
    User,
)
from portal.roles import Role

admin.site.site_header = "技能大师工作室管理服务平台 · 管理后台"
admin.site.site_title = "管理后台"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "city", "district", "organization", "is_active", "last_login")
    list_filter = ("role", "city", "is_active")
    search_fields = ("username", "full_name")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("身份", {"fields": ("full_name", "title", "email", "role", "city", "district", "organization")}),
        ("状态", {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "role", "city", "district",
                                                  "organization", "password1", "password2")}),
    )
    readonly_fields = ("last_login", "date_joined")
    actions = ["unlock_accounts", "reset_second_factor"]

    # --- Who may do what here (三权分立; rules in portal.access) ------------------------------------
    # The system administrator manages accounts but never grants roles or admin rights, and cannot
    # touch another administrator's account. The security administrator assigns roles on the portal's
    # 角色分配 page, the audit administrator reads the trail on the 审计日志 page; neither uses this
    # screen. The superuser flag is for break-glass use only (docs/security.md).
    _security_fields = ("failed_login_count", "locked_until", "password_changed_at", "last_login_ip",
                        "totp_confirmed_at")

    def _manages_accounts(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or access.can(request.user, "account.manage")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._manages_accounts(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages_accounts(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._manages_accounts(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        return access.can(request.user, "account.manage") and access.can(request.user, "account.edit", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Accounts are disabled, not deleted, so the audit trail's actors stay identifiable.
        return request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else access.visible(request.user, qs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = [*super().get_readonly_fields(request, obj), *self._security_fields]
        if not request.user.is_superuser:
            fields += ["is_staff", "is_superuser"]
            if obj is not None:
                fields.append("role")  # roles are the security administrator's to assign
        return tuple(fields)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (*fieldsets, ("账号安全", {"fields": self._security_fields}))

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A new account needs a role (the model requires one), but not an administrator role.
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [("", "---------")] + [
                (value, label) for value, label in Role.choices
                if value not in access.ADMIN_ROLES or access.can(request.user, "account.grant_admin_role")]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.action(description="解除登录锁定", permissions=["change"])
    def unlock_accounts(self, request: HttpRequest, queryset: Any) -> None:
        from portal import security

        for user in queryset:
            if self.has_change_permission(request, user) and (user.locked_until or user.failed_login_count):
                security.reset_failures(user)
                audit.record(request.user, "auth.unlocked", user, request=request)
        self.message_user(request, "已解除所选账号的登录锁定。")

    @admin.action(description="重置动态口令（下次登录时重新绑定）", permissions=["change"])
    def reset_second_factor(self, request: HttpRequest, queryset: Any) -> None:
        from portal import security

        for user in queryset:
            if self.has_change_permission(request, user) and user.totp_confirmed_at:
                security.disable_totp(user, request.user, request, action="auth.totp_reset")
        self.message_user(request, "已重置所选账号的动态口令。")

    # Account changes made here go into the portal's audit trail as well as the admin's own log.
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit.record(request.user, "account.created", obj, request=request, to_state=obj.role)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit.record(request.user, "account.changed", obj, request=request, data={"change": message})
        return super().log_change(request, obj, message)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            target = User.objects.filter(pk=id).first()
            audit.record(request.user, "auth.password_changed", target, request=request, data={"by_admin": True})
        return response


class DistrictInline(admin.TabularInline):
    model = District
    extra = 0


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "bureau_name", "is_active")
    inlines = [DistrictInline]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "city")
    list_filter = ("city", "kind")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "kind", "city", "district", "on_dishonesty_list")
    list_filter = ("city", "kind", "on_dishonesty_list")
    search_fields = ("name", "uscc")
    exclude = ("contact_phone",)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "masked_id_number", "sex", "skill_level", "occupation", "organization")
    list_filter = ("skill_level", "sex")
    search_fields = ("name",)
    # The admin never shows full ID numbers, phones or addresses; reveals go through the portal's
    # audited reveal action.
    exclude = ("id_number", "mobile", "home_address")
    readonly_fields = ("masked_id_number", "sex", "birth_date")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_username", "actor_role", "action", "object_repr", "from_state", "to_state", "ip")
    list_filter = ("action", "actor_role")
    search_fields = ("actor_username", "object_repr", "reason")

    # Only the audit administrator reads the trail (三权分立); the portal's 审计日志 page is the usual way.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or access.can(request.user, "audit.view")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser or access.can(request.user, "audit.view")

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else access.visible(request.user, qs)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("city", "version", "title", "effective_from", "effective_until", "loaded_at")
    list_filter = ("city",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "subject", "read_at", "emailed_at")
    list_filter = ("kind",)


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("id", "count", "last_hash")
