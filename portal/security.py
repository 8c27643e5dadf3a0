"""Account security (等保2.0 三级 身份鉴别 / 入侵防范): login lockout, password age, idle timeout and the
TOTP second factor. docs/security.md maps each control to the code here and the test that proves it.

Everything that must hold across gunicorn workers lives in the database: the per-account lockout in
fields on User, the per-address throttle in the audit trail (which already records every failed
login with its IP), so neither a worker restart nor a second worker resets a counter.
"""
from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django import forms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import audit
from portal.models import AuditEvent, User

# --- Session keys ---------------------------------------------------------------------------------
SESSION_LAST_ACTIVITY = "portal.last_activity"
SESSION_SECOND_FACTOR = "portal.second_factor"  # set when this session passed the TOTP step
SESSION_PENDING_LOGIN = "portal.pending_login"  # password checked, code not yet: NOT logged in
SESSION_TOTP_SETUP = "portal.totp_setup"  # encrypted secret being set up, until the first code

PENDING_LOGIN_SECONDS = 5 * 60
# Writing the session on every request costs a database write each time; to the minute is enough.
ACTIVITY_WRITE_INTERVAL_SECONDS = 60
TOTP_ISSUER = "技能大师工作室"  # short: the issuer appears twice in the QR code's URI

FAILURE_ACTIONS = ("auth.login_failed", "auth.totp_failed")


def local_minute(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


# --- Lockout --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LockPolicy:
    limit: int
    window: timedelta
    lockout: timedelta

    @classmethod
    def from_settings(cls) -> LockPolicy:
        minutes = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        return cls(settings.LOGIN_FAILURE_LIMIT, minutes, minutes)


@dataclass(frozen=True)
class LockState:
    count: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None


def advance(state: LockState, at: datetime, policy: LockPolicy) -> LockState:
    """One failed attempt at `at`. The same function drives real accounts (state in User fields) and
    unknown usernames (state replayed from the audit trail), so the two behave identically and the
    lock message never tells an attacker which usernames exist."""
    if state.locked_until is not None and at < state.locked_until:
        return state  # attempts refused during a lock do not extend it
    if state.window_start is None or at - state.window_start > policy.window:
        state = LockState(1, at, state.locked_until)
    else:
        state = LockState(state.count + 1, state.window_start, state.locked_until)
    if state.count >= policy.limit:
        return LockState(0, None, at + policy.lockout)
    return state


def _replayed_state(username: str, now: datetime, policy: LockPolicy) -> tuple[LockState, bool]:
    """The lock state of a username with no account, from its failures in the audit trail; and
    whether the most recent failure is the one that locked it."""
    since = now - 2 * policy.window - policy.lockout
    times = AuditEvent.objects.filter(
        action="auth.login_failed", data__username=username, at__gte=since,
    ).order_by("at").values_list("at", flat=True)
    state, locked_by_last = LockState(), False
    for at in times:
        before = state.locked_until
        state = advance(state, at, policy)
        locked_by_last = state.locked_until != before
    return state, locked_by_last


def _find_user(username: str) -> User | None:
    # The same lookup ModelBackend makes, so "exists" means the same thing to both.
    try:
        return User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        return None


def locked_until(username: str, now: datetime | None = None) -> datetime | None:
    """When the username's lock ends, or None if it is not locked."""
    now = now or timezone.now()
    policy = LockPolicy.from_settings()
    user = _find_user(username)
    until = user.locked_until if user is not None else _replayed_state(username, now, policy)[0].locked_until
    return until if until is not None and until > now else None


def register_failure(username: str, request: HttpRequest | None, now: datetime | None = None) -> datetime | None:
    """Count one failed password or code; returns the end of the lock if this attempt locked it."""
    now = now or timezone.now()
    policy = LockPolicy.from_settings()
    with transaction.atomic():
        user = User._default_manager.select_for_update().filter(username=username).first()
        if user is None:
            # The failure itself is already in the audit trail (portal.signals); replay it.
            state, newly_locked = _replayed_state(username, now, policy)
            if newly_locked and state.locked_until is not None:
                audit.record(None, "auth.locked", request=request,
                             data={"username": username[:150], "until": state.locked_until.isoformat()})
                return state.locked_until
            return None
        before = LockState(user.failed_login_count, user.failed_login_window_start, user.locked_until)
        after = advance(before, now, policy)
        user.failed_login_count = after.count
        user.failed_login_window_start = after.window_start
        user.locked_until = after.locked_until
        user.save(update_fields=["failed_login_count", "failed_login_window_start", "locked_until"])
        if after.locked_until != before.locked_until and after.locked_until is not None:
            audit.record(None, "auth.locked", user, request=request,
                         data={"username": username, "until": after.locked_until.isoformat()})
            return after.locked_until
    return None


def reset_failures(user: User) -> None:
    if user.failed_login_count or user.failed_login_window_start or user.locked_until:
        user.failed_login_count = 0
        user.failed_login_window_start = None
        user.locked_until = None
        user.save(update_fields=["failed_login_count", "failed_login_window_start", "locked_until"])


def ip_throttled_until(ip: str | None, now: datetime | None = None) -> datetime | None:
    """Per-address limit, so spraying many usernames (or enumerating them) from one address stops."""
    if not ip:
        return None
    now = now or timezone.now()
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    limit = settings.LOGIN_IP_FAILURE_LIMIT
    times = list(AuditEvent.objects.filter(action__in=FAILURE_ACTIONS, ip=ip, at__gt=now - window)
                 .order_by("-at").values_list("at", flat=True)[:limit])
    if len(times) < limit:
        return None
    # Allowed again once fewer than `limit` failures remain in the window.
    return times[limit - 1] + window


def lock_message(until: datetime) -> str:
    return _("登录失败次数过多，该账号已被锁定至 %(until)s，请届时再试。") % {"until": local_minute(until)}


def ip_message(until: datetime) -> str:
    return _("来自您所在网络地址的登录失败次数过多，请于 %(until)s 后再试。") % {"until": local_minute(until)}


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's login form with the lockout in front of the password check."""

    error_messages = {
        # One message for a wrong password and an unknown account: no username enumeration.
        "invalid_login": gettext_lazy("账号或密码不正确。请注意区分大小写。"),
        "inactive": gettext_lazy("账号或密码不正确。请注意区分大小写。"),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        now = timezone.now()
        ip = audit.client_ip(self.request)
        until = ip_throttled_until(ip, now)
        if until is not None:
            audit.record(None, "auth.login_refused", request=self.request,
                         data={"username": username[:150], "reason": "ip_throttled"})
            raise ValidationError(ip_message(until), code="ip_throttled")
        until = locked_until(username, now)
        if until is not None:
            audit.record(None, "auth.login_refused", request=self.request,
                         data={"username": username[:150], "reason": "locked"})
            raise ValidationError(lock_message(until), code="locked")
        user = auth.authenticate(self.request, username=username, password=password)
        if user is None:
            until = register_failure(username, self.request, now)
            if until is not None:
                raise ValidationError(lock_message(until), code="locked")
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(user)
        self.user_cache = user
        return self.cleaned_data


# --- Password age ---------------------------------------------------------------------------------

def password_expires_at(user: User) -> datetime | None:
    """When the password must be changed; None if the account has no maximum age."""
    # No password at all (an empty hash can never match) means nothing to age, e.g. accounts made
    # with objects.create() and signed in by force_login in tests.
    if not user.is_strict_account or not user.password or not user.has_usable_password():
        return None
    if user.password_changed_at is None:
        return datetime.min.replace(tzinfo=timezone.get_current_timezone())  # age unknown: expired
    return user.password_changed_at + timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)


def password_expired(user: User, now: datetime | None = None) -> bool:
    expires = password_expires_at(user)
    return expires is not None and expires <= (now or timezone.now())


# --- TOTP -----------------------------------------------------------------------------------------

def second_factor_required(user: User) -> bool:
    """Must this account use a second factor (whether or not it has set one up yet)?"""
    return bool(settings.REQUIRE_STAFF_TOTP and user.is_strict_account)


def second_factor_needed(user: User) -> bool:
    """Must this login pass the code step: required by policy, or opted into by the user."""
    return second_factor_required(user) or user.totp_enabled


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, RFC 4226's recommended length


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=TOTP_ISSUER)


def normalise_code(code: str) -> str:
    return re.sub(r"\s+", "", code or "")


def code_matches(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step the code belongs to (±1 step of clock drift), or None."""
    code = normalise_code(code)
    if not secret or not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now or timezone.now())
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_totp(user: User, code: str, now: datetime | None = None) -> bool:
    """Check a code for an enabled account; each code is accepted once (no replay within its window)."""
    step = code_matches(user.totp_secret, code, now)
    if step is None:
        return False
    # A conditional update is atomic on every database: of two requests with one code, one wins.
    won = User._default_manager.filter(pk=user.pk).filter(
        Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step)).update(totp_last_step=step)
    if won:
        user.totp_last_step = step
    return bool(won)


def enable_totp(user: User, secret: str, step: int, request: HttpRequest | None) -> None:
    user.totp_secret = secret
    user.totp_confirmed_at = timezone.now()
    user.totp_last_step = step
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    audit.record(user, "auth.totp_enabled", user, request=request)


def disable_totp(user: User, actor: Any, request: HttpRequest | None, action: str = "auth.totp_disabled") -> None:
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    audit.record(actor, action, user, request=request)


def setup_secret(request: HttpRequest) -> str:
    """The secret being set up in this session; kept until confirmed so a reload keeps the QR code
    the user already scanned. Encrypted in the session like every other secret at rest."""
    from portal import crypto

    token = request.session.get(SESSION_TOTP_SETUP)
    if token:
        try:
            return crypto.decrypt(token)
        except (ValueError, ImproperlyConfigured):
            pass  # a key rotated meanwhile: start again with a fresh secret
    secret = new_totp_secret()
    request.session[SESSION_TOTP_SETUP] = crypto.encrypt(secret)
    return secret


def clear_setup_secret(request: HttpRequest) -> None:
    request.session.pop(SESSION_TOTP_SETUP, None)


# --- Half-authenticated login (password checked, code pending) -------------------------------------

@dataclass(frozen=True)
class PendingLogin:
    user: User
    backend: str
    next_url: str


def start_pending_login(request: HttpRequest, user: User, next_url: str) -> None:
    # A fresh session key: whatever an attacker may have planted before the password step is useless.
    request.session.cycle_key()
    request.session[SESSION_PENDING_LOGIN] = {
        "uid": user.pk,
        "backend": getattr(user, "backend", ""),  # set by authenticate(); login() needs it back
        "next": next_url,
        "expires": time.time() + PENDING_LOGIN_SECONDS,
    }


def pending_login(request: HttpRequest) -> PendingLogin | None:
    data = request.session.get(SESSION_PENDING_LOGIN)
    try:
        expired = not isinstance(data, dict) or float(data.get("expires", 0)) < time.time()
    except (TypeError, ValueError):
        expired = True
    if expired or not isinstance(data, dict):
        clear_pending_login(request)
        return None
    user = User._default_manager.filter(pk=data.get("uid"), is_active=True).first()
    if user is None:
        clear_pending_login(request)
        return None
    return PendingLogin(user, str(data.get("backend") or ""), str(data.get("next") or ""))


def clear_pending_login(request: HttpRequest) -> None:
    request.session.pop(SESSION_PENDING_LOGIN, None)


# --- Middleware -----------------------------------------------------------------------------------

def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        # An htmx swap would paste the login page into a fragment; make the browser navigate instead.
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _login_url(request: HttpRequest) -> str:
    url = resolve_url(settings.LOGIN_URL)
    if request.method == "GET" and not getattr(request, "htmx", False):
        return f"{url}?{urlencode({'next': request.get_full_path()})}"
    return url


def _is_static(request: HttpRequest) -> bool:
    return request.path.startswith(settings.STATIC_URL) or request.path == reverse("portal:healthz")


class _AccountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not _is_static(request):
            response = self.check(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def check(self, request: HttpRequest, user: User) -> HttpResponse | None:
        raise NotImplementedError


class IdleTimeoutMiddleware(_AccountMiddleware):
    """Log out after a period without requests (等保2.0 三级: 登录连接超时自动退出)."""

    def check(self, request: HttpRequest, user: User) -> HttpResponse | None:
        minutes = settings.STAFF_IDLE_TIMEOUT_MINUTES if user.is_strict_account else settings.IDLE_TIMEOUT_MINUTES
        now = time.time()
        last = request.session.get(SESSION_LAST_ACTIVITY)
        if isinstance(last, int | float) and now - last > minutes * 60:
            audit.record(user, "auth.session_timeout", user, request=request,
                         data={"idle_minutes": int((now - last) // 60), "limit_minutes": minutes})
            auth.logout(request)  # flushes the session: nothing of it is left (剩余信息保护)
            messages.info(request, _("由于长时间未操作，您已自动退出，请重新登录。"))
            return _redirect(request, _login_url(request))
        if not isinstance(last, int | float) or now - last >= ACTIVITY_WRITE_INTERVAL_SECONDS:
            request.session[SESSION_LAST_ACTIVITY] = int(now)
        return None


class SecondFactorMiddleware(_AccountMiddleware):
    """A session that needs a second factor but did not pass the code step is ended, whatever way it
    was opened (the admin's own login page, a future login path, a policy switched on later)."""

    def check(self, request: HttpRequest, user: User) -> HttpResponse | None:
        if second_factor_needed(user) and not request.session.get(SESSION_SECOND_FACTOR):
            audit.record(user, "auth.second_factor_missing", user, request=request)
            auth.logout(request)
            messages.warning(request, _("该账号须使用动态口令登录，请重新登录。"))
            return _redirect(request, _login_url(request))
        return None


class PasswordExpiryMiddleware(_AccountMiddleware):
    """An expired password sends every request to the change page until it is changed."""

    def check(self, request: HttpRequest, user: User) -> HttpResponse | None:
        if not password_expired(user):
            return None
        allowed = {reverse("portal:password_change"), reverse("portal:logout")}
        if request.path in allowed:
            return None
        messages.warning(request, _("您的密码已超过 %(days)d 天未修改，请先修改密码。")
                         % {"days": settings.PASSWORD_MAX_AGE_DAYS})
        return _redirect(request, reverse("portal:password_change"))


# --- QR code (SVG) for the TOTP setup page ----------------------------------------------------------
# A small QR encoder (ISO/IEC 18004: byte mode, error-correction level M, versions 1–40), so the
# setup page needs no extra package and no image sent to anyone else. Follows the structure of
# Project Nayuki's reference implementation (MIT licence).

_ECC_CODEWORDS_PER_BLOCK_M = (
    -1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28)
_NUM_BLOCKS_M = (
    -1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28,
    29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49)
_FORMAT_BITS_M = 0  # level M's two format bits


def _gf_mul(x: int, y: int) -> int:
    z = 0
    for i in reversed(range(8)):
        z = (z << 1) ^ ((z >> 7) * 0x11D)
        z ^= ((y >> i) & 1) * x
    return z


def _rs_divisor(degree: int) -> list[int]:
    result = [0] * (degree - 1) + [1]
    root = 1
    for _i in range(degree):
        for j in range(degree):
            result[j] = _gf_mul(result[j], root)
            if j + 1 < degree:
                result[j] ^= result[j + 1]
        root = _gf_mul(root, 0x02)
    return result


def _rs_remainder(data: Iterable[int], divisor: list[int]) -> list[int]:
    result = [0] * len(divisor)
    for b in data:
        factor = b ^ result.pop(0)
        result.append(0)
        for i, coef in enumerate(divisor):
            result[i] ^= _gf_mul(coef, factor)
    return result


def _raw_data_modules(ver: int) -> int:
    result = (16 * ver + 128) * ver + 64
    if ver >= 2:
        numalign = ver // 7 + 2
        result -= (25 * numalign - 10) * numalign - 55
        if ver >= 7:
            result -= 36
    return result


def _data_codewords(ver: int) -> int:
    return _raw_data_modules(ver) // 8 - _ECC_CODEWORDS_PER_BLOCK_M[ver] * _NUM_BLOCKS_M[ver]


def _alignment_positions(ver: int, size: int) -> list[int]:
    if ver == 1:
        return []
    numalign = ver // 7 + 2
    step = (ver * 8 + numalign * 3 + 5) // (numalign * 4 - 4) * 2
    result = [size - 7 - i * step for i in range(numalign - 1)] + [6]
    return list(reversed(result))


class _QrMatrix:
    def __init__(self, ver: int) -> None:
        self.ver = ver
        self.size = ver * 4 + 17
        self.modules = [[False] * self.size for _ in range(self.size)]
        self.function = [[False] * self.size for _ in range(self.size)]

    def set_function(self, x: int, y: int, dark: bool) -> None:
        self.modules[y][x] = dark
        self.function[y][x] = True

    def draw_function_patterns(self) -> None:
        size = self.size
        for i in range(size):
            self.set_function(6, i, i % 2 == 0)
            self.set_function(i, 6, i % 2 == 0)
        for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):
            for dy in range(-4, 5):
                for dx in range(-4, 5):
                    x, y = cx + dx, cy + dy
                    if 0 <= x < size and 0 <= y < size:
                        self.set_function(x, y, max(abs(dx), abs(dy)) not in (2, 4))
        positions = _alignment_positions(self.ver, size)
        last = len(positions) - 1
        for i, px in enumerate(positions):
            for j, py in enumerate(positions):
                if (i, j) in ((0, 0), (0, last), (last, 0)):
                    continue  # the finder patterns' corners
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        self.set_function(px + dx, py + dy, max(abs(dx), abs(dy)) != 1)
        self.draw_format_bits(0)
        self.draw_version()

    def draw_format_bits(self, mask: int) -> None:
        data = _FORMAT_BITS_M << 3 | mask
        rem = data
        for _i in range(10):
            rem = (rem << 1) ^ ((rem >> 9) * 0x537)
        bits = (data << 10 | rem) ^ 0x5412
        size = self.size

        def bit(i: int) -> bool:
            return (bits >> i) & 1 != 0

        for i in range(0, 6):
            self.set_function(8, i, bit(i))
        self.set_function(8, 7, bit(6))
        self.set_function(8, 8, bit(7))
        self.set_function(7, 8, bit(8))
        for i in range(9, 15):
            self.set_function(14 - i, 8, bit(i))
        for i in range(0, 8):
            self.set_function(size - 1 - i, 8, bit(i))
        for i in range(8, 15):
            self.set_function(8, size - 15 + i, bit(i))
        self.set_function(8, size - 8, True)  # the dark module

    def draw_version(self) -> None:
        if self.ver < 7:
            return
        rem = self.ver
        for _i in range(12):
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
        bits = self.ver << 12 | rem
        for i in range(18):
            dark = (bits >> i) & 1 != 0
            a, b = self.size - 11 + i % 3, i // 3
            self.set_function(a, b, dark)
            self.set_function(b, a, dark)

    def draw_codewords(self, data: list[int]) -> None:
        i = 0
        right = self.size - 1
        while right >= 1:
            if right == 6:
                right = 5
            for vert in range(self.size):
                for j in range(2):
                    x = right - j
                    upward = ((right + 1) & 2) == 0
                    y = (self.size - 1 - vert) if upward else vert
                    if not self.function[y][x] and i < len(data) * 8:
                        self.modules[y][x] = (data[i >> 3] >> (7 - (i & 7))) & 1 != 0
                        i += 1
            right -= 2

    def apply_mask(self, mask: int) -> None:
        for y in range(self.size):
            for x in range(self.size):
                if self.function[y][x]:
                    continue
                if mask == 0:
                    invert = (x + y) % 2 == 0
                elif mask == 1:
                    invert = y % 2 == 0
                elif mask == 2:
                    invert = x % 3 == 0
                elif mask == 3:
                    invert = (x + y) % 3 == 0
                elif mask == 4:
                    invert = (x // 3 + y // 2) % 2 == 0
                elif mask == 5:
                    invert = x * y % 2 + x * y % 3 == 0
                elif mask == 6:
                    invert = (x * y % 2 + x * y % 3) % 2 == 0
                else:
                    invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                self.modules[y][x] ^= invert

    def penalty(self) -> int:
        """ISO/IEC 18004 §7.8.3 mask penalty: runs, 2×2 blocks, finder-like patterns, balance."""
        size, m = self.size, self.modules
        score = 0
        lines = [row for row in m] + [[m[y][x] for y in range(size)] for x in range(size)]
        finder_a = [True, False, True, True, True, False, True, False, False, False, False]
        finder_b = finder_a[::-1]
        for line in lines:
            run, colour = 0, None
            for value in line:
                if value == colour:
                    run += 1
                else:
                    if run >= 5:
                        score += 3 + run - 5
                    run, colour = 1, value
            if run >= 5:
                score += 3 + run - 5
            for start in range(size - 10):
                window = line[start:start + 11]
                if window == finder_a or window == finder_b:
                    score += 40
        for y in range(size - 1):
            for x in range(size - 1):
                if m[y][x] == m[y][x + 1] == m[y + 1][x] == m[y + 1][x + 1]:
                    score += 3
        dark = sum(sum(row) for row in m)
        total = size * size  # odd, so never exactly half dark
        return score + ((abs(dark * 20 - total * 10) + total - 1) // total - 1) * 10


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of a QR code for `text` (UTF-8, byte mode, level M), smallest version that fits."""
    payload = text.encode("utf-8")
    for ver in range(1, 41):
        count_bits = 8 if ver <= 9 else 16
        needed = 4 + count_bits + len(payload) * 8
        if needed <= _data_codewords(ver) * 8:
            break
    else:
        raise ValueError("text too long for a QR code")
    capacity = _data_codewords(ver) * 8
    bits: list[int] = []

    def append(value: int, length: int) -> None:
        bits.extend((value >> i) & 1 for i in reversed(range(length)))

    append(0b0100, 4)
    append(len(payload), count_bits)
    for byte in payload:
        append(byte, 8)
    append(0, min(4, capacity - len(bits)))
    append(0, -len(bits) % 8)
    data = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8)]
    pad = 0xEC
    while len(data) < capacity // 8:
        data.append(pad)
        pad ^= 0xEC ^ 0x11

    num_blocks, ecc_len = _NUM_BLOCKS_M[ver], _ECC_CODEWORDS_PER_BLOCK_M[ver]
    raw_codewords = _raw_data_modules(ver) // 8
    num_short = num_blocks - raw_codewords % num_blocks
    short_len = raw_codewords // num_blocks
    divisor = _rs_divisor(ecc_len)
    blocks: list[list[int]] = []
    k = 0
    for i in range(num_blocks):
        length = short_len - ecc_len + (0 if i < num_short else 1)
        block = data[k:k + length]
        k += length
        ecc = _rs_remainder(block, divisor)
        if i < num_short:
            block.append(0)
        blocks.append(block + ecc)
    interleaved = [
        block[i] for i in range(len(blocks[0])) for j, block in enumerate(blocks)
        if i != short_len - ecc_len or j >= num_short
    ]

    qr = _QrMatrix(ver)
    qr.draw_function_patterns()
    qr.draw_codewords(interleaved)
    best_mask, best_score = 0, None
    for mask in range(8):
        qr.apply_mask(mask)
        qr.draw_format_bits(mask)
        score = qr.penalty()
        if best_score is None or score < best_score:
            best_mask, best_score = mask, score
        qr.apply_mask(mask)  # XOR again undoes it
    qr.apply_mask(best_mask)
    qr.draw_format_bits(best_mask)
    return qr.modules


def qr_svg(text: str, *, label: str = "", border: int = 4) -> str:
    """An inline SVG of the QR code: presentation attributes only, no style, so the CSP allows it."""
    matrix = qr_matrix(text)
    size = len(matrix) + 2 * border
    path = "".join(f"M{x + border},{y + border}h1v1h-1z"
                   for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark)
    title = f"<title>{escape(label)}</title>" if label else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="264" height="264" '
            f'role="img" shape-rendering="crispEdges">{title}'
            f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>')


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("6 位动态口令"), max_length=12, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": "[0-9 ]*", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError(_("请输入 6 位数字动态口令。"), code="format")
        return code
