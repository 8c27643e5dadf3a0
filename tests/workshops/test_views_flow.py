"""A unit's whole path through the views, draft to submission, in each city whose policy is in force;
and the pages' fitness for a phone (the browser test comes later)."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from portal.demo import fake_id_number
from portal.models import AuditEvent
from tests.factories import PDF_BYTES, make_application, make_round
from workshops.models import Application
from workshops.states import STAGE_STATES

pytestmark = pytest.mark.django_db


def person(name: str, n: int, **extra: str) -> dict[str, str]:
    return {"name": name, "id_number": fake_id_number(date(1980, 4, 5), "M", n), "job_category": "worker",
            "skill_level": "5", "honours": "全国技术能手", "mobile": "13812345678", **extra}


@pytest.mark.parametrize("code", ["wenzhou", "pingdingshan", "zhengzhou", "hohhot"])
def test_it_takes_a_draft_through_every_step_to_submission(cast_for, client, code) -> None:  # noqa: ANN001
    cast = cast_for(code)
    year = timezone.localdate().year
    client.force_login(cast.city_staff)
    client.post(reverse("workshops:round_create"), {"year": year, "title": f"{year}年度申报",
                                                    "opens_on": f"{year}-01-01", "closes_on": f"{year}-12-31"})
    rnd = cast.city.rounds.get()

    client.force_login(cast.unit)
    assert reverse("workshops:create", args=[rnd.pk]) in client.get(reverse("workshops:list")).content.decode()
    response = client.post(reverse("workshops:create", args=[rnd.pk]))
    app = Application.objects.get(organization=cast.org)
    policy = app.policy

    def step(slug: str, data: dict[str, Any], htmx: bool = False) -> None:
        extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.post(reverse("workshops:edit", args=[app.pk, slug]), data, **extra)
        assert response.status_code == (200 if htmx else 302), response.content.decode()[:2000]
        if htmx:
            assert 'class="saved"' in response.content.decode() and "error-summary" not in response.content.decode()

    step("leader", person("周大师", 11))
    step("basic", {"occupation": "数控车工", "use_suggestion": "1",
                   "category": policy.categories[0].code if policy.categories else ""})
    step("members", person("吴徒弟", 12, role="assistant"))
    step("site", {"site_address": "实训楼二层", "site_area": "120", "equipment": "数控车床 6 台",
                  "funding_commitment": "20", "education_fund_share": "60"}, htmx=True)
    step("plan", {"necessity": "产业急需", "goals": "三年培养骨干 15 人", "work_plan": "以师带徒",
                  "support_measures": "配套资金和场地", "leader_achievements_text": "全国技术能手",
                  "leader_achievements": [a.code for a in policy.eligibility.leader.achievements][:1]}, htmx=True)
    for material in policy.materials_for(cast.org.kind):
        response = client.post(reverse("workshops:attachment_upload", args=[app.pk]), {
            "kind": material.code, "file": SimpleUploadedFile(f"{material.code}.pdf", PDF_BYTES)})
        assert response.status_code == 302
    step("declarations", {"declarations": [c.code for c in policy.eligibility.conditions], "consent": "on"})

    app.refresh_from_db()
    assert app.studio_name == policy.studio_name(leader="周大师", occupation="数控车工", org=cast.org.name)
    page = client.get(reverse("workshops:submit", args=[app.pk])).content.decode()
    assert "符合本市申报条件" in page and "确认提交" in page
    response = client.post(reverse("workshops:submit", args=[app.pk]), {"version": app.version})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.state == STAGE_STATES[policy.stages[0]]
    assert app.revisions.get().data["members"] == ["吴徒弟（青年技术技能骨干（助手））"]
    actions = set(AuditEvent.objects.for_object(app).values_list("action", flat=True))
    assert {"application.create", "application.edit", "application.member_add", "attachment.upload",
            "application.consent", "application.submit"} <= actions
    detail = client.get(reverse("workshops:detail", args=[app.pk])).content.decode()
    assert app.get_state_display() in detail and "第 1 次提交" in detail


def test_it_serves_phone_friendly_pages_without_inline_script_or_style(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    app = make_application(wz, rnd)
    client.force_login(wz.unit)
    urls = [reverse("workshops:list"), reverse("workshops:rounds"), reverse("workshops:submit", args=[app.pk]),
            reverse("workshops:detail", args=[app.pk])]
    urls += [reverse("workshops:edit", args=[app.pk, s]) for s in
             ("basic", "leader", "members", "site", "plan", "materials", "declarations")]
    for url in urls:
        html = client.get(url).content.decode()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html, url
        assert "/static/css/workshops.css" in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url  # the CSP forbids inline script
        assert " style=" not in html and "<style" not in html, url
        for table in re.findall(r"<table[^>]*>", html):
            assert 'class="stack"' in table and "width" not in table, url
