"""One studio per city from establishment through its first assessment cycle to acceptance or revocation,
every step taken through the web pages by the role the city's policy gives it (the test client, signed in
as the cast's users). After each step the database is checked as the bureau would: the studio's state,
the record the step leaves, the audit row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, SkillLevel, User
from tests.factories import Cast, make_person, make_studio
from tests.studios.helpers import prefixed, text, url
from workshops.models import (
    AnnualPlan,
    Assessment,
    Disbursement,
    LeaderChange,
    PlanAggregation,
    Revocation,
    Sanction,
    Studio,
)
from workshops.states import StudioState

pytestmark = pytest.mark.django_db


@dataclass
class Journey:
    cast: Cast
    studio: Studio
    clients: dict[int, Client] = field(default_factory=dict)

    def client(self, user: User) -> Client:
        if user.pk not in self.clients:
            self.clients[user.pk] = Client()
            self.clients[user.pk].force_login(user)
        return self.clients[user.pk]

    def page(self, user: User, name: str = "studio", **params: Any) -> str:
        response = self.client(user).get(url(name, self.studio), params)
        assert response.status_code == 200, (name, response.status_code)
        return text(response)

    def act(self, user: User, name: str, data: dict[str, Any]) -> str:
        """A step that must succeed: redirected, and the page it leads to says what was done."""
        response = self.client(user).post(url(name, self.studio), data)
        assert response.status_code == 302, text(response)[:4000]
        self.studio.refresh_from_db()
        return text(self.client(user).get(response["Location"]))

    def refused(self, user: User, name: str, data: dict[str, Any], *needles: str) -> None:
        """A step the rules refuse: the page comes back (200) naming the field and the rule."""
        response = self.client(user).post(url(name, self.studio), data)
        page = text(response)
        assert response.status_code == 200, (name, response.status_code)
        for needle in needles:
            assert needle in page, (needle, page[:4000])

    def audited(self, action: str, user: User, to_state: str | None = None) -> None:
        rows = AuditEvent.objects.filter(action=action, actor_id=user.pk, object_id=str(self.studio.pk))
        if to_state is not None:
            rows = rows.filter(to_state=to_state)
        assert rows.exists(), action

    # --- the steps every city has ------------------------------------------------------------------

    def plaque(self, on: str) -> None:
        self.act(self.cast.city_staff, "studio_plaque", prefixed("plaque", issued_on=on))
        assert self.studio.plaques.get(withdrawn_on__isnull=True).issued_on == date.fromisoformat(on)
        self.audited("plaque.issue", self.cast.city_staff)

    def file_plan(self) -> AnnualPlan:
        year = timezone.localdate().year
        page = self.act(self.cast.unit, "studio_plan", prefixed("plan", year=year, content=f"{year}年带徒传技计划"))
        plan = AnnualPlan.objects.get(studio=self.studio, year=year)
        assert plan.is_late == (plan.due_on is not None and timezone.localdate() > plan.due_on)
        assert ("逾期报送" in page) == plan.is_late  # late filing is kept and marked, never lost
        return plan

    def record(self, kind: str, on: str, title: str, **values: Any) -> None:
        data = {"kind": kind, "date": on, "title": title, "person_name": "", "level": "", "certificate_no": "",
                "agreement_on": "", "detail": ""}
        data.update(values)
        self.act(self.cast.unit, "studio_record", prefixed("record", **data))

    def people(self, kind: str, n: int, on: str, level: int, *, new: bool = True) -> None:
        for i in range(n):
            self.record(kind, on, f"{kind}{i}", person_name=f"学员{level}{i}", level=level, agreement_on=on,
                        **({"is_new_certificate": "on"} if new else {}))

    def assess(self, kind: str, period: int, on: str, *, passed: bool | None = None, **extra: Any) -> Assessment:
        data: dict[str, Any] = {"kind": kind, "period": period, "conducted_on": on, "opinion": "考核意见", **extra}
        if passed is not None:
            data["passed"] = "1" if passed else "0"
        self.act(self.cast.city_staff, "studio_assessment", data)
        self.audited("assessment.record", self.cast.city_staff)
        return Assessment.objects.get(studio=self.studio, kind=kind, period=period)

    def pay(self, subsidy: str, amount: str, on: str = "2026-06-01", **extra: Any) -> None:
        data = {"subsidy": subsidy, "amount": amount, "paid_on": on, "basis": "拨付文件", "approver": "局长",
                "quantity": 1, **extra}
        self.act(self.cast.city_staff, "studio_disbursement", prefixed("money", **data))
        self.audited("money.disburse", self.cast.city_staff)

    def refuse_pay(self, subsidy: str, amount: str, *needles: str) -> None:
        data = {"subsidy": subsidy, "amount": amount, "paid_on": "2026-06-01", "basis": "拨付文件",
                "approver": "局长", "quantity": 1}
        count = Disbursement.objects.count()
        self.refused(self.cast.city_staff, "studio_disbursement", prefixed("money", **data),
                     "金额（元）：超出可拨付额度", *needles)
        assert Disbursement.objects.count() == count

    def change_state(self, method: str, to: str) -> None:
        self.act(self.cast.city_staff, "studio_state", prefixed("state", method=method))
        assert self.studio.state == to
        self.audited(f"studio.{method}", self.cast.city_staff, to)

    def public(self) -> str:
        response = Client().get(reverse("public:studio", args=[self.studio.pk]))
        assert response.status_code == 200
        return text(response)


def start(cast_for: Any, code: str, **extra: Any) -> Journey:
    cast = cast_for(code)
    return Journey(cast, make_studio(cast, established_on=date(2024, 3, 1), **extra))


# --- 平顶山: plaque, plan, ledger, mid-term and final acceptance, the grant in two tranches ----------------

def test_pingdingshan_from_establishment_to_final_acceptance(cast_for) -> None:  # noqa: ANN001
    j = start(cast_for, "pingdingshan")
    pds = j.cast
    j.plaque("2024-03-20")  # bureau setting: on establishment, by the city bureau
    j.file_plan()  # 第八条(五): by 30 April to the city bureau
    j.people("apprentice", 10, "2024-05-01", SkillLevel.SENIOR)
    j.people("apprentice", 2, "2024-06-01", SkillLevel.INTERMEDIATE, new=False)
    page = j.page(pds.unit, year=2024)
    assert "年师带徒培养人数 第三条 12 人 30 未达到" in page and "其中高技能人才 第三条 10 人 10 已达到" in page
    assessor = j.page(pds.city_staff, "studio_assessment", period=2024)
    assert "年师带徒培养人数" in assessor  # the ledger's indicators are shown to the assessors
    j.assess("midterm", 2024, "2024-12-10", passed=True, joint_with=["finance"])  # 第十条, 第十二条(二)
    assert j.studio.state == StudioState.MIDTERM_ACCEPTED
    j.audited("studio.accept_midterm", pds.city_staff, StudioState.MIDTERM_ACCEPTED)
    j.pay("construction_grant", "50000")  # 第十条: the first of two tranches
    j.refuse_pay("construction_grant", "0.01", "第十条")
    j.assess("annual", 2024, "2024-12-16", passed=True)  # 第十三条: 12月中旬, by the city bureau alone
    j.assess("final", 2025, "2025-12-18", passed=True, joint_with=["finance"])
    assert j.studio.state == StudioState.ACCEPTED
    j.pay("construction_grant", "50000")
    j.refuse_pay("construction_grant", "1", "第十条")
    j.change_state("start_operation", StudioState.OPERATING)
    page = j.page(pds.observer)
    assert "2024 中期验收 会同财政部门 2024-12-10 合格" in page and "2025 终期验收 会同财政部门 2025-12-18 合格" in page
    assert "一次性建设奖补资金 第十条 100000.00 100000.00 0.00" in page
    assert "运行中" in j.public()


# --- 郑州: the plaque waits for acceptance; two failed years; joint revocation with its 通报 ----------------

def test_zhengzhou_from_establishment_to_revocation_after_two_failed_years(cast_for) -> None:  # noqa: ANN001
    j = start(cast_for, "zhengzhou", category="traditional_craft")
    zz = j.cast
    j.refused(zz.city_staff, "studio_plaque", prefixed("plaque", issued_on="2024-03-20"),
              "本市办法规定验收合格后授予牌匾（第十二条）")
    plan = j.file_plan()  # 第九条(六): by 20 January, to the training agency
    agency = j.client(zz.agency)
    response = agency.post(url("plan_forward"), {"year": plan.year})  # 第十一条(五): forwarded by 10 February
    assert response.status_code == 302 and PlanAggregation.objects.get(city=zz.city, year=plan.year).plan_count == 1
    plan.refresh_from_db()
    assert plan.forwarded_at is not None
    j.people("trainee", 3, "2024-09-01", SkillLevel.SENIOR)
    page = j.page(zz.city_staff, "studio_assessment", period=2024)
    assert "每年培养高技能人才 第九条(一) 3 人 6 未达到" in page  # 传统工艺类 ≥ 6 人
    base = {"kind": "annual", "conducted_on": "2024-12-16", "passed": "0", "opinion": "未完成年度培养任务"}
    j.refused(zz.city_staff, "studio_assessment", {**base, "period": 2024},
              "会同部门：本市办法规定考核由人社部门会同教育部门、财政部门开展（第十六条）")
    joint = {"joint_with": ["finance", "education"]}
    first = j.assess("annual", 2024, "2024-12-16", passed=False, **joint)
    assert (first.grade, first.passed) == ("fail", False) and j.studio.revocation_proposed_at is None
    j.assess("annual", 2025, "2025-12-16", passed=False, **joint)
    assert j.studio.revocation_proposed_at is not None  # 第十七条(四): 连续2年考核不合格
    assert "撤销建议：" in j.page(zz.decision)
    revoke = {"ground": "consecutive_assessment_failures", "decided_on": "2026-01-20",
              "notice_text": "该工作室连续2年考核不合格，经市人社局会同市财政、教育部门研究，"
                             "取消其郑州市技能大师工作室称号。",
              "plaque_recovered_on": "", "equipment_note": "配套设备已收回"}
    j.refused(zz.city_staff, "studio_revoke", revoke, "会同部门：撤销须由郑州市人力资源社会保障局会同")
    page = j.act(zz.city_staff, "studio_revoke", {**revoke, **joint})  # 第十八条
    assert j.studio.state == StudioState.REVOKED
    j.audited("studio.revoke", zz.city_staff, StudioState.REVOKED)
    assert Revocation.objects.get(studio=j.studio).joint_with == ["education", "finance"]
    assert "连续2年考核不合格的 第十七条(四)" in page and not Sanction.objects.exists()
    public = j.public()
    assert "撤销通报" in public and "取消其郑州市技能大师工作室称号" in public
    assert j.client(zz.unit).post(url("studio_record", j.studio), {}).status_code == 403


# --- 东莞: set-up, progress report, third-party evaluation, pass/fail acceptance; rewards and upgrade ------

def test_dongguan_from_establishment_to_acceptance_and_provincial_upgrade(cast_for) -> None:  # noqa: ANN001
    j = start(cast_for, "dongguan", category="b")
    dg = j.cast
    j.plaque("2024-03-20")  # 第九条(六): 发文设立并授予相应牌匾
    assert url("studio_plan", j.studio) not in j.client(dg.unit).get(url("studio", j.studio)).content.decode()
    j.pay("startup_fund", "100000", "2024-04-01")  # 第十一条(1)
    j.assess("setup", 2024, "2024-08-30", passed=True)  # 第十四条: within six months
    j.assess("progress_report", 2025, "2025-09-01", passed=True)  # 第十六条
    j.assess("evaluation", 2026, "2026-03-01", passed=True)  # 第十七条: third party
    assert j.studio.state == StudioState.ESTABLISHED
    j.assess("final", 2026, "2026-10-15", passed=True)  # 第十七条: 合格/不合格
    assert j.studio.state == StudioState.ACCEPTED
    j.refuse_pay("acceptance_reward", "400000", "第十一条(2)")  # B类 30万
    j.pay("acceptance_reward", "300000")
    j.pay("leader_reward", "50000")  # 第十一条(4)
    assert Disbursement.objects.get(subsidy="leader_reward").recipient == j.studio.leader
    j.refuse_pay("provincial_upgrade", "200000", "第十一条(3)")  # not yet recognised
    j.act(dg.city_staff, "studio_upgrade", prefixed("upgrade", level="provincial", recognized_on="2026-09-01",
                                                    document="粤人社函〔2026〕12号"))
    j.audited("studio.upgrade", dg.city_staff)
    j.pay("provincial_upgrade", "200000")
    j.change_state("end_support_period", StudioState.PERIOD_ENDED)  # 第十四条: 3年培育建设期满
    page = j.page(dg.observer)
    assert "省级技能大师工作室 2026-09-01，粤人社函〔2026〕12号" in page
    assert "2026 期满考核验收 2026-10-15 合格" in page and "2026 第三方绩效评价 2026-03-01 合格" in page
    assert "扶持期满" in j.public()


# --- 温州: the 100-point table fails; the leader leaves, which revokes (第七条(四)4) ---------------------

def test_wenzhou_from_establishment_to_revocation_when_the_leader_leaves(cast_for) -> None:  # noqa: ANN001
    j = start(cast_for, "wenzhou")
    wz = j.cast
    j.plaque("2024-05-08")  # 第五条(三): three offices, jointly
    j.change_state("start_operation", StudioState.OPERATING)  # no acceptance in 温州's rules
    j.file_plan()
    j.people("apprentice", 3, "2024-07-01", SkillLevel.INTERMEDIATE)
    j.people("apprentice", 2, "2025-07-01", SkillLevel.SENIOR)
    assessor = j.page(wz.city_staff, "studio_assessment", period=2025)
    assert "2024年度" in assessor and "2025年度" in assessor and "年均培养中级工以上青年技术技能骨干" in assessor
    scores: dict[str, Any] = {}
    left = 50
    for section in j.studio.policy.assessment.scoring.sections:
        for item in section.items:
            scores[f"score_{item.code}"] = min(item.points, left)
            scores[f"self_{item.code}"] = item.points
            left -= scores[f"score_{item.code}"]
    biennial = j.assess("biennial", 2025, "2025-12-15", bonus="5", **scores)  # 第七条(二): every two years
    assert (biennial.total, biennial.grade, biennial.passed) == (55, "fail", False)
    assert biennial.self_scores["solve_problems"] == 10
    successor = make_person(organization=wz.org, skill_level=SkillLevel.SENIOR_TECHNICIAN)
    leader = {"reason": "调离", "name": successor.name, "id_number": successor.id_number, "job_category": "worker",
              "skill_level": SkillLevel.SENIOR_TECHNICIAN, "ich_inheritor_level": "", "honours": "", "mobile": ""}
    j.refused(wz.unit, "studio_leader_change", prefixed("leader", **leader), "第七条(四)4")
    assert not LeaderChange.objects.exists()
    page = j.act(wz.city_staff, "studio_revoke", {
        "ground": "leader_departure", "decided_on": "2026-03-02", "plaque_recovered_on": "2026-03-10",
        "notice_text": "该工作室领办人调离原工作单位，依照第七条(四)4取消其温州市技能大师工作室称号，收回牌匾。",
        "equipment_note": ""})
    assert j.studio.state == StudioState.REVOKED
    assert j.studio.plaques.get().withdrawn_on == date(2026, 3, 10)  # 第七条(四): 收回牌匾
    assert "2026-03-10 已收回" in page and "工作室领办人调离原工作单位的 第七条(四)4" in page
    assert "收回牌匾" in j.public()


# --- 呼和浩特: leader change approved (第十二条(二)); biennial evaluation; acceptance -----------------------

def test_hohhot_from_establishment_through_leader_change_to_acceptance(cast_for) -> None:  # noqa: ANN001
    j = start(cast_for, "hohhot")
    hh = j.cast
    j.plaque("2024-03-25")
    j.file_plan()
    j.people("trainee", 3, "2024-10-01", SkillLevel.SENIOR)
    page = j.page(hh.unit, year=2024)
    assert "其中获得高级工以上职业资格或技能等级 第十三条(一) 3 人 2 已达到" in page
    successor = make_person(organization=hh.org, skill_level=SkillLevel.SENIOR_TECHNICIAN, name="李接班")
    j.act(hh.unit, "studio_leader_change", prefixed(
        "leader", reason="原领办人退休", name="李接班", id_number=successor.id_number, job_category="worker",
        skill_level=SkillLevel.SENIOR_TECHNICIAN, ich_inheritor_level="", honours="", mobile=""))
    change = LeaderChange.objects.get(studio=j.studio)
    j.audited("leader_change.request", hh.unit)
    response = j.client(hh.city_staff).post(url("studio_leader_decide", j.studio, change_id=change.pk),
                                            prefixed(f"decide-{change.pk}", decision="approve", opinion="核准"))
    assert response.status_code == 302
    j.studio.refresh_from_db()
    assert j.studio.leader == successor
    j.audited("leader_change.approved", hh.city_staff)
    j.refuse_pay("training_project_fund", "50000.01", "第十三条")
    j.pay("training_project_fund", "50000")
    biennial = j.assess("biennial", 2025, "2025-12-15", passed=True)  # 第十二条: every two years
    assert biennial.grade == "pass"
    j.assess("final", 2025, "2025-12-20", passed=True)  # 第十条: acceptance once the project is complete
    assert j.studio.state == StudioState.ACCEPTED
    j.change_state("start_operation", StudioState.OPERATING)
    page = j.page(hh.decision)
    assert "张大师 → 李接班 已核准" in page and "领办人 李接班" in page
    assert "2025 建设项目验收 2025-12-20 合格" in page and "2025 两年一次绩效评估 2025-12-15 合格" in page
    assert "运行中" in j.public()
