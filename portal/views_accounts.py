"""Account pages: the second login step, TOTP set-up, password change, the account-security page, and
the two administrators' pages (审计管理员: the audit log and its CSV export; 安全管理员: role assignment).

The two login-step views run before anyone is signed in; what they check instead of
`portal.access` is the half-authenticated login the password step left in the session
(portal.security.pending_login), which expires after five minutes.
"""
from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import access, audit, security
from portal.models import AuditEvent, User
from portal.roles import Role
from portal.spreadsheet import safe_cell

PAGE_SIZE = 50


def _may_self_serve(user: Any) -> bool:
    # The break-glass superuser has no role, so portal.access refuses it everything; it must still be
    # able to change its own password and second factor, or an expired password would lock it out.
    return access.can(user, "account.self_service") or bool(user.is_authenticated and user.is_active
                                                            and user.is_superuser)


def _safe_next(request: HttpRequest, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


# --- Login ----------------------------------------------------------------------------------------

def after_password(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Called by LoginView once the password is right: either the code step or straight in."""
    if security.second_factor_needed(user):
        security.start_pending_login(request, user, next_url)
        return redirect("portal:login_totp" if user.totp_enabled else "portal:login_totp_setup")
    return finish_login(request, user, getattr(user, "backend", ""), next_url, second_factor=False)


def finish_login(request: HttpRequest, user: User, backend: str, next_url: str, *,
                 second_factor: bool) -> HttpResponse:
    previous_login, previous_ip = user.last_login, user.last_login_ip
    security.clear_pending_login(request)
    security.clear_setup_secret(request)
    security.reset_failures(user)
    auth.login(request, user, backend=backend or None)  # cycles the session key; audits auth.login
    request.session[security.SESSION_SECOND_FACTOR] = second_factor
    request.session[security.SESSION_LAST_ACTIVITY] = int(time.time())
    ip = audit.client_ip(request)
    if ip != user.last_login_ip:
        user.last_login_ip = ip
        user.save(update_fields=["last_login_ip"])

    # The previous sign-in, not this one: a login the user does not recognise is how they notice theft.
    if previous_login is not None:
        messages.info(request, _("上次登录：%(at)s，来自 IP %(ip)s") % {
            "at": security.local_minute(previous_login), "ip": previous_ip or _("未知")})
        failures = _failures_since(user, previous_login)
        if failures:
            messages.warning(request, _("自上次登录以来，您的账号有 %(n)d 次登录失败记录。"
                                        "如非本人操作，请及时修改密码。") % {"n": failures})
    else:
        messages.info(request, _("这是您首次登录本平台。"))
    expires = security.password_expires_at(user)
    if expires is not None and timezone.now() < expires < timezone.now() + timedelta(days=7):
        messages.warning(request, _("您的密码将于 %(at)s 过期，请尽快修改。") % {"at": security.local_minute(expires)})
    return redirect(_safe_next(request, next_url))


def _failures_since(user: User, since: datetime) -> int:
    by_name = AuditEvent.objects.filter(action="auth.login_failed", data__username=user.get_username(), at__gt=since)
    by_code = AuditEvent.objects.filter(action="auth.totp_failed", object_type="portal.user",
                                        object_id=str(user.pk), at__gt=since)
    return by_name.count() + by_code.count()


def _refuse_pending(request: HttpRequest, message: str) -> HttpResponse:
    security.clear_pending_login(request)
    messages.error(request, message)
    return redirect("portal:login")


def _pending_or_refusal(request: HttpRequest) -> security.PendingLogin | HttpResponse:
    pending = security.pending_login(request)
    if pending is None:
        messages.error(request, _("登录已超时或无效，请重新输入账号和密码。"))
        return redirect("portal:login")
    now = timezone.now()
    until = security.locked_until(pending.user.get_username(), now)
    if until is not None:
        return _refuse_pending(request, security.lock_message(until))
    until = security.ip_throttled_until(audit.client_ip(request), now)
    if until is not None:
        return _refuse_pending(request, security.ip_message(until))
    return pending


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_totp(request: HttpRequest) -> HttpResponse:
    """Second step: the 6-digit code. The user is not signed in until it is right."""
    pending = _pending_or_refusal(request)
    if isinstance(pending, HttpResponse):
        return pending
    user = pending.user
    if not user.totp_enabled:
        if security.second_factor_required(user):
            return redirect("portal:login_totp_setup")
        return finish_login(request, user, pending.backend, pending.next_url, second_factor=False)
    form = security.TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if security.verify_totp(user, form.cleaned_data["code"]):
            return finish_login(request, user, pending.backend, pending.next_url, second_factor=True)
        audit.record(None, "auth.totp_failed", user, request=request, data={"username": user.get_username()})
        until = security.register_failure(user.get_username(), request)
        if until is not None:
            return _refuse_pending(request, security.lock_message(until))
        form.add_error("code", _("动态口令不正确或已使用过，请输入验证器上当前显示的 6 位数字。"))
    return render(request, "registration/login_totp.html", {"form": form})


def _setup_context(request: HttpRequest, user: User, secret: str, form: forms.Form, during_login: bool
                   ) -> dict[str, Any]:
    uri = security.provisioning_uri(user, secret)
    # qr_svg builds the markup from the module matrix and escapes the one text it embeds.
    qr = mark_safe(security.qr_svg(uri, label=_("动态口令绑定二维码")))
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))  # easier to type by hand
    return {"form": form, "secret": secret, "secret_grouped": grouped, "otpauth_uri": uri,
            "qr_svg": qr, "during_login": during_login, "issuer": security.TOTP_ISSUER}


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_totp_setup(request: HttpRequest) -> HttpResponse:
    """First sign-in of an account that must use a second factor: bind an authenticator app."""
    pending = _pending_or_refusal(request)
    if isinstance(pending, HttpResponse):
        return pending
    user = pending.user
    if user.totp_enabled:
        return redirect("portal:login_totp")
    if not security.second_factor_required(user):
        return finish_login(request, user, pending.backend, pending.next_url, second_factor=False)
    secret = security.setup_secret(request)
    form = security.TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = security.code_matches(secret, form.cleaned_data["code"])
        if step is not None:
            security.enable_totp(user, secret, step, request)
            messages.success(request, _("动态口令已绑定，以后登录时请输入验证器上的 6 位数字。"))
            return finish_login(request, user, pending.backend, pending.next_url, second_factor=True)
        # Not counted toward the lockout: whoever sees this page already knows the secret.
        form.add_error("code", _("动态口令不正确，请确认手机时间准确后输入当前显示的 6 位数字。"))
    return render(request, "portal/accounts/totp_setup.html", _setup_context(request, user, secret, form, True))


@require_GET
def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The admin's own login page would skip the lockout and the second factor: send it here."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), resolve_url(settings.LOGIN_URL))


# --- Password -------------------------------------------------------------------------------------

class NewPasswordChangeForm(PasswordChangeForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("new_password2")
        # A "change" to the same password would restart the age without changing anything.
        if password and "new_password2" not in self.errors and self.user.check_password(password):
            self.add_error("new_password2", ValidationError(_("新密码不能与当前密码相同。"), code="password_unchanged"))
        return data


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    form_class = NewPasswordChangeForm
    success_url = reverse_lazy("portal:account_security")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not _may_self_serve(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # login_required is applied there

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["expired"] = security.password_expired(self.request.user)
        context["max_age_days"] = settings.PASSWORD_MAX_AGE_DAYS
        return context

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)  # saves, and keeps this session signed in
        audit.record(self.request.user, "auth.password_changed", self.request.user, request=self.request)
        messages.success(self.request, _("密码已修改。"))
        return response


# --- Own account security -------------------------------------------------------------------------

@login_required
@require_GET
def account_security(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_self_serve(user):
        raise PermissionDenied
    return render(request, "portal/accounts/security.html", {
        "password_expires_at": security.password_expires_at(user) if user.password_changed_at else None,
        "totp_required": security.second_factor_required(user),
        "can_view_audit": access.can(user, "audit.view"),
        "can_assign_roles": access.can(user, "account.assign_role"),
        "disable_form": security.TotpCodeForm(),
    })


@login_required
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_self_serve(user):
        raise PermissionDenied
    if user.totp_enabled:
        messages.info(request, _("您的账号已绑定动态口令。"))
        return redirect("portal:account_security")
    secret = security.setup_secret(request)
    form = security.TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = security.code_matches(secret, form.cleaned_data["code"])
        if step is not None:
            security.enable_totp(user, secret, step, request)
            security.clear_setup_secret(request)
            # The code just proved the second factor: this session counts as having passed it.
            request.session[security.SESSION_SECOND_FACTOR] = True
            messages.success(request, _("动态口令已绑定，以后登录时请输入验证器上的 6 位数字。"))
            return redirect("portal:account_security")
        form.add_error("code", _("动态口令不正确，请确认手机时间准确后输入当前显示的 6 位数字。"))
    return render(request, "portal/accounts/totp_setup.html", _setup_context(request, user, secret, form, False))


@login_required
@sensitive_post_parameters("code")
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_self_serve(user):
        raise PermissionDenied
    if security.second_factor_required(user):
        messages.error(request, _("您的账号必须使用动态口令登录，不能停用。"))
        return redirect("portal:account_security")
    if not user.totp_enabled:
        return redirect("portal:account_security")
    form = security.TotpCodeForm(request.POST)
    if form.is_valid() and security.verify_totp(user, form.cleaned_data["code"]):
        security.disable_totp(user, user, request)
        messages.success(request, _("已停用动态口令。"))
        return redirect("portal:account_security")
    if form.is_valid():
        # Someone at an unattended session guessing codes: counts toward the lockout like a login.
        audit.record(user, "auth.totp_failed", user, request=request, data={"username": user.get_username()})
        until = security.register_failure(user.get_username(), request)
        if until is not None:
            auth.logout(request)
            messages.error(request, security.lock_message(until))
            return redirect("portal:login")
    messages.error(request, _("动态口令不正确，未停用。"))
    return redirect("portal:account_security")


# --- 审计管理员: the audit log --------------------------------------------------------------------------

class AuditFilterForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("起始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("截止日期"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.CharField(label=gettext_lazy("操作（前缀，如 auth.）"), required=False, max_length=60)
    actor = forms.CharField(label=gettext_lazy("操作人账号"), required=False, max_length=150)
    object_type = forms.CharField(label=gettext_lazy("对象类型"), required=False, max_length=100)
    ip = forms.GenericIPAddressField(label=gettext_lazy("IP 地址"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("起始日期不能晚于截止日期。"))
        return data

    def filter(self, qs: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        if data.get("start"):
            qs = qs.filter(at__gte=datetime.combine(data["start"], dtime.min, tz))
        if data.get("end"):
            qs = qs.filter(at__lt=datetime.combine(data["end"] + timedelta(days=1), dtime.min, tz))
        if data.get("action"):
            qs = qs.filter(action__startswith=data["action"])
        if data.get("actor"):
            qs = qs.filter(actor_username=data["actor"])
        if data.get("object_type"):
            qs = qs.filter(object_type=data["object_type"])
        if data.get("ip"):
            qs = qs.filter(ip=data["ip"])
        return qs

    def used(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.cleaned_data.items() if v not in (None, "")}


def _audit_rows(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    form = AuditFilterForm(request.GET or None)
    qs = access.visible(request.user, AuditEvent.objects.all()).order_by("-id")
    if form.is_bound and form.is_valid():
        qs = form.filter(qs)
    elif form.is_bound:
        qs = qs.none()  # a bad filter shows nothing rather than everything
    return form, qs


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "audit.view")
    form, qs = _audit_rows(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/accounts/audit_log.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "can_export": access.can(request.user, "audit.export"),
        # order_by replaces the model's ordering by id, which would otherwise defeat DISTINCT.
        "actions": list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:200]),
    })




def _csv_cell(value: Any) -> str:
    return safe_cell(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "audit.export")
    form, qs = _audit_rows(request)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("筛选条件有误，未导出。"))
        return redirect(f"{reverse('portal:audit_log')}?{urlencode(request.GET)}")
    count = qs.count()
    # Who took a copy of the trail, and which part of it, is itself part of the trail.
    audit.record(request.user, "audit.export", request=request,
                 data={"filters": form.used() if form.is_bound else {}, "rows": count})
    header = ["ID", _("时间"), _("操作人账号"), _("操作人角色"), _("操作"), _("对象类型"), _("对象ID"), _("对象"),
              _("原状态"), _("新状态"), _("理由/意见"), _("详情"), _("IP 地址"), _("哈希")]
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff"  # BOM: Excel and WPS then read the file as UTF-8
        yield writer.writerow(header)
        for e in qs.order_by("id").iterator(chunk_size=2000):
            yield writer.writerow([_csv_cell(v) for v in (
                e.id, timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.actor_username, e.actor_role,
                e.action, e.object_type, e.object_id, e.object_repr, e.from_state, e.to_state, e.reason,
                json.dumps(e.data, ensure_ascii=False, sort_keys=True), e.ip, e.hash)])

    filename = timezone.localtime().strftime("audit-%Y%m%d-%H%M.csv")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- 安全管理员: role assignment ----------------------------------------------------------------------

class RoleAssignmentForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("角色"))
    is_active = forms.BooleanField(label=gettext_lazy("账号启用"), required=False)

    def __init__(self, *args: Any, allow_admin_roles: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(value, label) for value, label in Role.choices
                                       if allow_admin_roles or value not in access.ADMIN_ROLES]


@login_required
@require_GET
def role_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "account.assign_role")
    qs = access.visible(request.user, User.objects.select_related("city", "district", "organization"))
    q = request.GET.get("q", "").strip()[:150]
    role = request.GET.get("role", "")
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
    if role in Role.values:
        qs = qs.filter(role=role)
    page = Paginator(qs.order_by("username"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/accounts/role_list.html", {
        "page": page, "q": q, "role": role, "roles": Role.choices, "query": query.urlencode()})


@login_required
@require_http_methods(["GET", "POST"])
def role_assign(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, "account.assign_role")
    target = access.get_visible_or_404(request.user, User.objects.all(), pk=pk)
    access.require(request.user, "account.assign_role_to", target)
    allow_admin = access.can(request.user, "account.grant_admin_role")
    form = RoleAssignmentForm(request.POST or None, allow_admin_roles=allow_admin,
                              initial={"role": target.role, "is_active": target.is_active})
    if request.method == "POST" and form.is_valid():
        old_role, old_active = target.role, target.is_active
        new_role, new_active = form.cleaned_data["role"], form.cleaned_data["is_active"]
        if (new_role, new_active) == (old_role, old_active):
            messages.info(request, _("未作修改。"))
            return redirect("portal:role_list")
        target.role, target.is_active = new_role, new_active
        # Admin access follows the role; the secadmin never sets is_staff/is_superuser directly.
        target.is_staff = new_role == Role.SYSADMIN
        try:
            target.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            form.add_error(None, _("所属城市、县区或单位由系统管理员维护；请先请其调整，再分配该角色。"))
        else:
            target.save(update_fields=["role", "is_active", "is_staff"])
            audit.record(request.user, "account.role_assigned", target, request=request,
                         from_state=old_role, to_state=new_role,
                         data={"is_active": [old_active, new_active]})
            messages.success(request, _("已更新 %(user)s 的角色和状态。") % {"user": target})
            return redirect("portal:role_list")
        target.refresh_from_db()
    return render(request, "portal/accounts/role_assign.html", {"target": target, "form": form})
