"""Account security (等保2.0 三级 身份鉴别 / 入侵防范): lockout, password age, idle timeout, TOTP,
last-login notice. docs/security.md points at these tests."""
from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from portal import security
from portal.models import AuditEvent, User
from portal.roles import Role
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WORKBENCH = "/workbench/"
NEW_PASSWORD = "Neu#2026-portal-x"


@pytest.fixture(autouse=True)
def _policy(settings: Any) -> None:
    # The documented defaults, stated here so a deployment's environment cannot change the tests.
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_LOCKOUT_MINUTES = 15
    settings.LOGIN_IP_FAILURE_LIMIT = 30
    settings.PASSWORD_MAX_AGE_DAYS = 90
    settings.STAFF_IDLE_TIMEOUT_MINUTES = 30
    settings.IDLE_TIMEOUT_MINUTES = 120
    settings.REQUIRE_STAFF_TOTP = False


def login(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def actions() -> list[str]:
    return list(AuditEvent.objects.values_list("action", flat=True))


def enable_totp(user: User) -> pyotp.TOTP:
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = timezone.now()
    user.save()
    return pyotp.TOTP(user.totp_secret)


def age_session(client: Client, minutes: float) -> None:
    session = client.session
    session[security.SESSION_LAST_ACTIVITY] = time.time() - minutes * 60
    session.save()


# --- Lockout --------------------------------------------------------------------------------------

def test_it_locks_an_account_after_five_failures_and_says_until_when(client, zz) -> None:  # noqa: ANN001
    for _ in range(4):
        assert "账号或密码不正确" in login(client, zz.unit.username, "wrong").content.decode()
    page = login(client, zz.unit.username, "wrong").content.decode()
    zz.unit.refresh_from_db()
    assert zz.unit.locked_until is not None
    assert timedelta(minutes=14) < zz.unit.locked_until - timezone.now() <= timedelta(minutes=15)
    assert f"已被锁定至 {security.local_minute(zz.unit.locked_until)}" in page
    # Even the right password is refused while locked, and nothing signs in.
    page = login(client, zz.unit.username, PASSWORD).content.decode()
    assert "已被锁定至" in page and not signed_in(client)
    assert actions().count("auth.locked") == 1
    assert AuditEvent.objects.get(action="auth.locked").object_id == str(zz.unit.pk)


def test_it_gives_unknown_usernames_the_same_answers_as_real_ones(client, zz) -> None:  # noqa: ANN001
    def answers(username: str) -> list[str]:
        out = []
        for _ in range(6):
            page = login(client, username, "wrong").content.decode()
            out.append("locked" if "已被锁定至" in page else "invalid" if "账号或密码不正确" in page else "?")
        return out

    real, unknown = answers(zz.city_staff.username), answers("no_such_account")
    assert real == unknown == ["invalid"] * 4 + ["locked"] * 2
    assert security.locked_until("no_such_account") is not None


def test_it_resets_the_count_after_a_successful_login(client, zz) -> None:  # noqa: ANN001
    for _ in range(4):
        login(client, zz.unit.username, "wrong")
    assert login(client, zz.unit.username).status_code == 302 and signed_in(client)
    zz.unit.refresh_from_db()
    assert zz.unit.failed_login_count == 0 and zz.unit.locked_until is None
    client.logout()
    for _ in range(4):
        login(client, zz.unit.username, "wrong")
    assert security.locked_until(zz.unit.username) is None


def test_it_counts_only_failures_within_the_window(zz) -> None:  # noqa: ANN001
    policy = security.LockPolicy(5, timedelta(minutes=15), timedelta(minutes=15))
    t0 = timezone.now()
    state = security.LockState()
    for minute in (0, 4, 8, 12):
        state = security.advance(state, t0 + timedelta(minutes=minute), policy)
    state = security.advance(state, t0 + timedelta(minutes=16), policy)  # first one fell out: a new window
    assert state.locked_until is None and state.count == 1
    # And the same through the database fields of a real account.
    for minute in (0, 4, 8, 12):
        security.register_failure(zz.unit.username, None, t0 + timedelta(minutes=minute))
    assert security.register_failure(zz.unit.username, None, t0 + timedelta(minutes=16)) is None
    until = None
    for minute in (17, 18, 19, 20):
        until = security.register_failure(zz.unit.username, None, t0 + timedelta(minutes=minute))
    assert until == t0 + timedelta(minutes=35)


def test_it_lets_the_account_in_again_after_the_lockout(client, zz) -> None:  # noqa: ANN001
    User.objects.filter(pk=zz.unit.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert login(client, zz.unit.username).status_code == 302 and signed_in(client)


def test_it_throttles_one_address_spraying_many_usernames(client, zz, settings) -> None:  # noqa: ANN001
    settings.LOGIN_IP_FAILURE_LIMIT = 3
    for name in ("alice", "bob", zz.expert.username):
        login(client, name, "wrong")
    page = login(client, zz.unit.username).content.decode()  # right password, same address
    assert "网络地址的登录失败次数过多" in page and not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.login_refused", data__reason="ip_throttled").exists()
    other = Client(REMOTE_ADDR="10.20.30.40")
    assert login(other, zz.unit.username).status_code == 302


# --- Password age ---------------------------------------------------------------------------------

def test_it_stamps_the_password_change_time_even_with_update_fields(zz) -> None:  # noqa: ANN001
    old = timezone.now() - timedelta(days=100)
    User.objects.filter(pk=zz.unit.pk).update(password_changed_at=old)
    user = User.objects.get(pk=zz.unit.pk)
    user.set_password(NEW_PASSWORD)
    user.save(update_fields=["password"])  # as seed_demo does
    assert User.objects.get(pk=user.pk).password_changed_at > old + timedelta(days=99)


def test_it_does_not_restart_the_age_when_django_upgrades_the_hash(zz, settings) -> None:  # noqa: ANN001
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    old = timezone.now() - timedelta(days=30)
    User.objects.filter(pk=zz.unit.pk).update(password=make_password(PASSWORD, hasher="md5"),
                                              password_changed_at=old)
    user = User.objects.get(pk=zz.unit.pk)
    assert user.check_password(PASSWORD)
    user = User.objects.get(pk=zz.unit.pk)
    assert user.password.startswith("pbkdf2_") and user.password_changed_at == old


def test_it_sends_staff_with_an_expired_password_to_the_change_page(client, zz) -> None:  # noqa: ANN001
    User.objects.filter(pk=zz.city_staff.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client.force_login(zz.city_staff)
    for path in (WORKBENCH, "/accounts/security/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url == "/accounts/password/", path
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and "您的密码已过期" in page.content.decode()
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                   "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(WORKBENCH).status_code == 200  # still signed in, and free to go anywhere
    page = client.get("/accounts/security/").content.decode()
    assert "密码有效期至" in page and "未绑定" in page
    assert AuditEvent.objects.filter(action="auth.password_changed", actor_id=zz.city_staff.pk).exists()


def test_it_treats_an_unknown_password_age_as_expired_for_staff_only(client, zz) -> None:  # noqa: ANN001
    User.objects.filter(pk__in=[zz.district.pk, zz.unit.pk]).update(password_changed_at=None)
    client.force_login(zz.district)
    assert client.get(WORKBENCH).url == "/accounts/password/"
    unit = Client()
    unit.force_login(zz.unit)
    User.objects.filter(pk=zz.unit.pk).update(password_changed_at=timezone.now() - timedelta(days=400))
    assert unit.get(WORKBENCH).status_code == 200  # unit users have no maximum age


def test_it_refuses_the_current_password_as_the_new_one(client, zz) -> None:  # noqa: ANN001
    client.force_login(zz.city_staff)
    page = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": PASSWORD,
                                               "new_password2": PASSWORD}).content.decode()
    assert "新密码不能与当前密码相同" in page


# --- Idle timeout ---------------------------------------------------------------------------------

def test_it_logs_staff_out_after_thirty_idle_minutes(client, zz) -> None:  # noqa: ANN001
    client.force_login(zz.city_staff)
    assert client.get(WORKBENCH).status_code == 200
    age_session(client, 29)
    assert client.get(WORKBENCH).status_code == 200
    age_session(client, 31)
    response = client.get(WORKBENCH)
    assert response.status_code == 302 and response.url == f"{LOGIN}?next=%2Fworkbench%2F"
    assert not signed_in(client)
    assert "由于长时间未操作，您已自动退出，请重新登录。" in client.get(response.url).content.decode()
    assert "auth.session_timeout" in actions() and "auth.logout" in actions()


def test_it_gives_units_and_experts_two_hours(client, zz) -> None:  # noqa: ANN001
    for user in (zz.unit, zz.expert):
        c = Client()
        c.force_login(user)
        c.get(WORKBENCH)
        age_session(c, 119)
        assert c.get(WORKBENCH).status_code == 200
        age_session(c, 121)
        assert c.get(WORKBENCH).status_code == 302 and "_auth_user_id" not in c.session


def test_it_tells_htmx_to_navigate_to_the_login_page(client, zz) -> None:  # noqa: ANN001
    client.force_login(zz.city_staff)
    client.get(WORKBENCH)
    age_session(client, 45)
    response = client.get(WORKBENCH, HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == LOGIN


def test_it_clears_the_whole_session_on_logout(client, zz) -> None:  # noqa: ANN001
    login(client, zz.unit.username)
    session = client.session
    session["draft"] = "个人信息草稿"
    session.save()
    key = session.session_key
    client.post("/accounts/logout/")
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=key).exists()
    assert "draft" not in client.session


# --- Second factor (TOTP) ---------------------------------------------------------------------------

def test_it_asks_for_the_code_before_signing_in(client, zz) -> None:  # noqa: ANN001
    totp = enable_totp(zz.unit)  # a unit user who opted in
    response = client.post(f"{LOGIN}?next=/workbench/%3Fx%3D1", {"username": zz.unit.username, "password": PASSWORD})
    assert response.url == "/accounts/login/code/" and not signed_in(client)
    assert client.get(WORKBENCH).status_code == 302  # not signed in between the two steps
    wrong = str((int(totp.now()) + 1) % 1_000_000).zfill(6)
    page = client.post("/accounts/login/code/", {"code": wrong}).content.decode()
    assert "动态口令不正确" in page and not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.totp_failed", object_id=str(zz.unit.pk)).exists()
    response = client.post("/accounts/login/code/", {"code": totp.now()})
    assert response.url == "/workbench/?x=1" and signed_in(client)
    assert client.session[security.SESSION_SECOND_FACTOR] is True


def test_it_forgets_the_half_login_after_five_minutes(client, zz) -> None:  # noqa: ANN001
    totp = enable_totp(zz.unit)
    login(client, zz.unit.username)
    session = client.session
    pending = session[security.SESSION_PENDING_LOGIN]
    pending["expires"] = time.time() - 1
    session[security.SESSION_PENDING_LOGIN] = pending
    session.save()
    response = client.post("/accounts/login/code/", {"code": totp.now()}, follow=True)
    assert "登录已超时" in response.content.decode() and not signed_in(client)


def test_it_counts_wrong_codes_toward_the_lockout(client, zz) -> None:  # noqa: ANN001
    totp = enable_totp(zz.unit)
    wrong = str((int(totp.now()) + 500_000) % 1_000_000).zfill(6)
    login(client, zz.unit.username, "wrong")  # one wrong password, then four wrong codes
    login(client, zz.unit.username)
    for _ in range(3):
        client.post("/accounts/login/code/", {"code": wrong})
    response = client.post("/accounts/login/code/", {"code": wrong}, follow=True)
    assert "已被锁定至" in response.content.decode() and not signed_in(client)
    assert security.SESSION_PENDING_LOGIN not in client.session
    assert "auth.locked" in actions()
    assert "已被锁定至" in login(client, zz.unit.username).content.decode()


def test_it_accepts_each_code_only_once(zz) -> None:  # noqa: ANN001
    totp = enable_totp(zz.unit)
    code = totp.now()
    assert security.verify_totp(zz.unit, code)
    assert not security.verify_totp(User.objects.get(pk=zz.unit.pk), code)


def test_it_makes_required_staff_bind_totp_at_first_login(client, zz, settings) -> None:  # noqa: ANN001
    settings.REQUIRE_STAFF_TOTP = True
    response = login(client, zz.city_staff.username)
    assert response.url == "/accounts/login/bind-totp/" and not signed_in(client)
    page = client.get(response.url)
    body = page.content.decode()
    secret = page.context["secret"]
    assert "<svg" in body and not re.search(r"<script(?![^>]*\bsrc=)", body) and 'style="' not in body
    assert page.context["otpauth_uri"].startswith("otpauth://totp/") and f"secret={secret}" in body
    assert client.get(response.url).context["secret"] == secret  # a reload keeps the scanned secret
    response = client.post(response.url, {"code": pyotp.TOTP(secret).now()})
    assert response.url == "/workbench/" and signed_in(client)
    user = User.objects.get(pk=zz.city_staff.pk)
    assert user.totp_enabled and user.totp_secret == secret
    assert "auth.totp_enabled" in actions()
    # The secret is stored encrypted.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM portal_user WHERE id = %s", [user.pk])
        assert cursor.fetchone()[0].startswith("enc1:")


def test_it_signs_staff_in_with_the_password_alone_when_totp_is_not_required(client, zz) -> None:  # noqa: ANN001
    assert login(client, zz.city_staff.username).url == "/workbench/" and signed_in(client)


def test_it_ends_sessions_that_skipped_a_required_second_factor(client, zz, settings) -> None:  # noqa: ANN001
    settings.REQUIRE_STAFF_TOTP = True
    client.force_login(zz.city_staff)  # e.g. via some other login path
    response = client.get(WORKBENCH)
    assert response.status_code == 302 and response.url.startswith(LOGIN) and not signed_in(client)
    assert "auth.second_factor_missing" in actions()
    unit = Client()
    unit.force_login(zz.unit)  # not required for unit users
    assert unit.get(WORKBENCH).status_code == 200


def test_it_lets_a_unit_user_opt_in_and_out(client, zz) -> None:  # noqa: ANN001
    client.force_login(zz.unit)
    page = client.get("/accounts/security/totp/")
    secret = page.context["secret"]
    response = client.post("/accounts/security/totp/", {"code": pyotp.TOTP(secret).now()})
    assert response.url == "/accounts/security/"
    assert User.objects.get(pk=zz.unit.pk).totp_enabled
    assert client.get(WORKBENCH).status_code == 200  # this session proved the code: not thrown out
    assert "停用动态口令" in client.get("/accounts/security/").content.decode()
    client.post("/accounts/security/totp/disable/", {"code": "000000"})
    assert User.objects.get(pk=zz.unit.pk).totp_enabled  # a wrong code changes nothing
    # A fresh code (the one used to bind cannot be used twice).
    user = User.objects.get(pk=zz.unit.pk)
    later = pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=30))
    client.post("/accounts/security/totp/disable/", {"code": later})
    user.refresh_from_db()
    assert not user.totp_enabled and "auth.totp_disabled" in actions()


def test_it_does_not_let_required_staff_turn_totp_off(client, zz, settings) -> None:  # noqa: ANN001
    totp = enable_totp(zz.city_staff)
    settings.REQUIRE_STAFF_TOTP = True
    login(client, zz.city_staff.username)
    client.post("/accounts/login/code/", {"code": totp.now()})
    client.post("/accounts/security/totp/disable/", {"code": totp.now()})
    assert User.objects.get(pk=zz.city_staff.pk).totp_enabled


def test_it_sends_the_admin_login_page_to_the_portal_login(client) -> None:  # noqa: ANN001
    response = client.get("/admin/login/?next=/admin/portal/user/")
    assert response.status_code == 302 and response.url == f"{LOGIN}?next=/admin/portal/user/"


def test_it_draws_qr_codes_that_match_an_independent_encoder() -> None:
    # Fingerprints of matrices checked module-for-module against segno and decoded by zxing-cpp when
    # this encoder was written (versions 1–40); any change to the encoder must reproduce them.
    def fingerprint(n: int) -> str:
        text = "".join(chr(ord("a") + (i * 7) % 26) for i in range(n))
        rows = security.qr_matrix(text)
        return hashlib.sha256("\n".join("".join("1" if v else "0" for v in r) for r in rows).encode()).hexdigest()

    assert fingerprint(14) == "f732ecbd2bf194e124c8acb1adda143ce9d2d23da930327b3c01494c857672c9"  # version 1
    assert fingerprint(122) == "0bbc2abd31e0aaf2a457c98667ae9b5f769cff7180a663ded814806e66f48da4"  # version 7
    svg = security.qr_svg("otpauth://totp/x?secret=ABC", label="<二维码>")
    assert svg.startswith("<svg") and "&lt;二维码&gt;" in svg and "style" not in svg


def test_it_requires_totp_for_staff_by_default_in_production_only() -> None:
    from tests.portal.test_settings import production_env, run_django

    code = "from django.conf import settings as s; print('REQUIRE', s.REQUIRE_STAFF_TOTP)"
    for env, expected in (({}, "False"), (production_env(), "True")):
        result = run_django(env, "shell", "-c", code)
        assert result.returncode == 0, result.stderr
        assert f"REQUIRE {expected}" in result.stdout


# --- Last login -----------------------------------------------------------------------------------

def test_it_shows_the_previous_login_not_this_one(client, zz) -> None:  # noqa: ANN001
    previous = datetime(2026, 1, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    User.objects.filter(pk=zz.unit.pk).update(last_login=previous, last_login_ip="10.1.2.3")
    other = Client(REMOTE_ADDR="10.9.9.9")
    login(other, zz.unit.username, "wrong")
    response = other.post(LOGIN, {"username": zz.unit.username, "password": PASSWORD}, follow=True)
    body = response.content.decode()
    assert "上次登录：2026-01-02 09:30，来自 IP 10.1.2.3" in body
    assert "有 1 次登录失败记录" in body
    user = User.objects.get(pk=zz.unit.pk)
    assert user.last_login_ip == "10.9.9.9" and user.last_login > previous


def test_it_says_so_on_a_first_login(client, zz) -> None:  # noqa: ANN001
    user = make_user(Role.EXPERT, zz.city)
    assert "首次登录" in client.post(LOGIN, {"username": user.username, "password": PASSWORD},
                                    follow=True).content.decode()
