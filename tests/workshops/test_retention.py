"""Retention purge: materials of rejected and withdrawn applications are deleted after the period,
the audit trail stays (个人信息保护法 第十九条、第四十七条; workshops/retention.py)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from portal.audit import verify_chain
from portal.models import AuditEvent
from reviews.actions import do_review_stage
from tests.factories import Cast, make_application, make_org, make_round
from workshops import actions, retention, tasks
from workshops.models import Application, Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def wz(cast_for: Any) -> Cast:
    return cast_for("wenzhou")  # formal review by the district, so one reviewer decides it


@pytest.fixture
def apps(wz: Cast) -> dict[str, Application]:
    """One application in each interesting state, all decided today."""
    rnd = make_round(wz.city)

    def submitted() -> Application:
        app = make_application(wz, rnd, org=make_org(wz.city, wz.org.district))
        return actions.do_submit_application(app, actor=app.created_by)

    rejected = do_review_stage(submitted(), actor=wz.district, outcome="rejected", opinion="不符合申报条件")
    returned = do_review_stage(submitted(), actor=wz.district, outcome="returned", opinion="补充材料")
    pending = submitted()
    to_withdraw = submitted()
    withdrawn = actions.do_withdraw_application(to_withdraw, actor=to_withdraw.created_by, reason="不再申报")
    return {"rejected": rejected, "withdrawn": withdrawn, "returned": returned, "pending": pending,
            "draft": make_application(wz, rnd, org=make_org(wz.city, wz.org.district))}


def in_three_years(days: int = 0) -> date:
    return retention.years_before(timezone.localdate(), -3) + timedelta(days=days)


def files_of(app: Application) -> list[str]:
    return [a.file.name for a in app.attachments.all()]


def test_it_purges_old_rejected_and_withdrawn_materials_and_keeps_the_trail(apps) -> None:  # noqa: ANN001
    names = {key: files_of(app) for key, app in apps.items()}
    sha = {key: sorted(app.attachments.values_list("sha256", flat=True)) for key, app in apps.items()}
    before = AuditEvent.objects.count()
    assert all(names.values()) and all(default_storage.exists(n) for ns in names.values() for n in ns)

    report = retention.purge_expired(in_three_years(days=1))

    assert {a.application_id for a in report.applications} == {apps["rejected"].pk, apps["withdrawn"].pk}
    for key in ("rejected", "withdrawn"):
        app = apps[key]
        app.refresh_from_db()
        assert app.state == key and not app.attachments.exists()
        assert not any(default_storage.exists(n) for n in names[key])
        (row,) = AuditEvent.objects.for_object(app).filter(action="attachment.purge")
        assert row.actor_id is None and row.data["count"] == len(names[key])
        assert sorted(row.data["sha256"]) == sha[key] and row.data["retention_years"] == 3
        # The decision that started the clock is still there, with its reason.
        assert AuditEvent.objects.for_object(app).filter(to_state=key).exists()
    for key in ("returned", "pending", "draft"):
        assert files_of(apps[key]) == names[key] and all(default_storage.exists(n) for n in names[key])
    assert AuditEvent.objects.count() == before + 2  # nothing removed, one row per purged application
    assert verify_chain().ok


def test_it_keeps_materials_until_the_full_period_has_passed(apps) -> None:  # noqa: ANN001
    assert retention.purge_expired(in_three_years()).applications == []
    assert Attachment.objects.filter(application=apps["rejected"]).exists()
    assert not AuditEvent.objects.filter(action="attachment.purge").exists()


def test_it_reads_the_period_from_the_setting(apps, settings) -> None:  # noqa: ANN001
    settings.ATTACHMENT_RETENTION_YEARS = 1
    one_year = retention.years_before(timezone.localdate(), -1) + timedelta(days=1)
    assert len(retention.purge_expired(one_year).applications) == 2
    assert django_settings.ATTACHMENT_RETENTION_YEARS == 1


def test_it_is_safe_to_run_twice(apps) -> None:  # noqa: ANN001
    on = in_three_years(days=1)
    first = retention.purge_expired(on, batch_size=1)  # one application per query: the keyset paging works
    second = retention.purge_expired(on)
    assert len(first.applications) == 2 and second.applications == []
    assert AuditEvent.objects.filter(action="attachment.purge").count() == 2
    assert verify_chain().ok


def test_it_changes_nothing_on_a_dry_run(apps, capsys) -> None:  # noqa: ANN001
    before = (Attachment.objects.count(), AuditEvent.objects.count())
    report = retention.purge_expired(in_three_years(days=1), dry_run=True)
    assert report.dry_run and len(report.applications) == 2 and report.attachment_count > 0
    call_command("purge_attachments", "--date", in_three_years(days=1).isoformat(), "--dry-run")
    out = capsys.readouterr().out
    assert "将删除" in out and "试运行" in out and f"申报 #{apps['rejected'].pk}" in out
    assert (Attachment.objects.count(), AuditEvent.objects.count()) == before
    assert all(default_storage.exists(n) for n in files_of(apps["rejected"]))


def test_the_command_and_the_task_purge(apps, capsys) -> None:  # noqa: ANN001
    call_command("purge_attachments", "--date", in_three_years().isoformat())
    assert "已删除 0 件申报" in capsys.readouterr().out
    expected = Attachment.objects.filter(application__in=[apps["rejected"], apps["withdrawn"]]).count()
    assert tasks.purge_expired_attachments.delay(in_three_years(days=1).isoformat()).get() == expected
    assert not Attachment.objects.filter(application__in=[apps["rejected"], apps["withdrawn"]]).exists()


def test_the_command_refuses_a_bad_date() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("purge_attachments", "--date", "2026-13-01")


def test_it_runs_daily_from_beat() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-expired-attachments"]
    assert entry["task"] == tasks.purge_expired_attachments.name
    schedule = entry["schedule"]
    assert schedule.hour == {2} and schedule.minute == {30}


def test_it_counts_back_from_29_february() -> None:
    assert retention.years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert timezone.localtime(retention.cutoff_for(date(2029, 3, 2), 3)).date() == date(2026, 3, 2)
