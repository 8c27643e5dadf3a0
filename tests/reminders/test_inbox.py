"""The in-site inbox: one's own messages, mark read, mark all read, the unread count in the header."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import Notification

pytestmark = pytest.mark.django_db
INBOX, READ = reverse("portal:inbox"), reverse("portal:inbox_read")


def message(user: Any, subject: str = "提醒：年度工作计划", url: str = "/workbench/", **extra: Any) -> Notification:
    return Notification.objects.create(recipient=user, kind="reminder.test", subject=subject, body="请按时报送。",
                                       url=url, **extra)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_lists_ones_own_messages_only(zz) -> None:  # noqa: ANN001
    message(zz.unit, "给单位的提醒")
    message(zz.other_unit, "给别人的提醒")
    html = signed_in(zz.unit).get(INBOX).content.decode()
    assert "给单位的提醒" in html and "给别人的提醒" not in html


def test_it_filters_to_unread(zz) -> None:  # noqa: ANN001
    from django.utils import timezone

    message(zz.unit, "未读的")
    message(zz.unit, "已读的", read_at=timezone.now())
    html = signed_in(zz.unit).get(INBOX, {"show": "unread"}).content.decode()
    assert "未读的" in html and "已读的" not in html


def test_the_header_shows_the_unread_count_with_one_query(zz) -> None:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    message(zz.unit)
    message(zz.unit)
    client = signed_in(zz.unit)
    client.get(INBOX)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("portal:dashboard")).content.decode()
    assert 'class="unread-count"' in html and ">2</span>" in html
    assert [q["sql"] for q in queries if "portal_notification" in q["sql"]] == [
        next(q["sql"] for q in queries if "COUNT(*)" in q["sql"] and "portal_notification" in q["sql"])]
    Notification.objects.filter(recipient=zz.unit).update(read_at="2026-01-01T00:00:00Z")
    assert 'class="unread-count"' not in client.get(reverse("portal:dashboard")).content.decode()


def test_visitors_cost_no_inbox_query(client, django_assert_num_queries) -> None:  # noqa: ANN001
    from portal.context_processors import portal

    request = type("R", (), {"user": type("Anon", (), {"is_authenticated": False})()})()
    with django_assert_num_queries(0):
        assert portal(request)["inbox_unread"] == 0  # type: ignore[arg-type]


def test_it_marks_one_message_read(zz) -> None:  # noqa: ANN001
    first, second = message(zz.unit), message(zz.unit)
    response = signed_in(zz.unit).post(READ, {"id": first.pk})
    assert response.status_code == 302 and response["Location"] == INBOX
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_opening_a_message_marks_it_read_and_follows_its_link(zz) -> None:  # noqa: ANN001
    note = message(zz.unit, url="/applications/")
    response = signed_in(zz.unit).post(READ, {"id": note.pk, "open": "1"})
    assert response["Location"] == "/applications/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_it_never_redirects_off_site(zz) -> None:  # noqa: ANN001
    note = message(zz.unit, url="https://evil.example/phish")
    assert signed_in(zz.unit).post(READ, {"id": note.pk, "open": "1"})["Location"] == INBOX


def test_it_marks_all_read(zz) -> None:  # noqa: ANN001
    for _ in range(3):
        message(zz.unit)
    other = message(zz.other_unit)
    signed_in(zz.unit).post(READ, {"all": "1"})
    assert not Notification.objects.filter(recipient=zz.unit, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_another_users_message_is_not_found(zz) -> None:  # noqa: ANN001
    theirs = message(zz.other_unit)
    assert signed_in(zz.unit).post(READ, {"id": theirs.pk}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_refuses_a_missing_or_bad_id(zz) -> None:  # noqa: ANN001
    client = signed_in(zz.unit)
    assert client.post(READ, {}).status_code == 400
    assert client.post(READ, {"id": "x"}).status_code == 400


def test_marking_read_needs_post(zz) -> None:  # noqa: ANN001
    assert signed_in(zz.unit).get(READ).status_code == 405
    assert signed_in(zz.unit).post(INBOX).status_code == 405


def test_visitors_are_sent_to_sign_in(client) -> None:  # noqa: ANN001
    for response in (client.get(INBOX), client.post(READ, {"all": "1"})):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
