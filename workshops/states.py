"""The application's states, with their meaning stated explicitly.

No code derives meaning from a state's name or its Chinese label: it asks these properties.
Review stages map one-to-one onto the policy's stage vocabulary (portal/policies/vocab.py STAGES);
a city whose policy lacks a stage never enters that state (see Application.next_stage_state).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.roles import Role

StrOrPromise = str | Promise


class AppState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    FORMAL_REVIEW = "formal_review", _("形式审查中")
    RETURNED = "returned", _("退回修改")
    AGGREGATION = "aggregation", _("汇总报送中")
    EXPERT_REVIEW = "expert_review", _("专家评审中")
    OPINION = "opinion", _("征求意见中")
    DECISION = "decision", _("待研究决定")
    READY_FOR_NOTICE = "ready_for_notice", _("拟公示")
    BACKUP = "backup", _("备选")
    ON_NOTICE = "on_notice", _("公示中")
    APPROVED = "approved", _("已批准设立")
    REJECTED = "rejected", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")
    DISQUALIFIED = "disqualified", _("撤销资格")


@dataclass(frozen=True)
class StateInfo:
    terminal: bool
    public_label: StrOrPromise  # what a citizen may be told; "" = not public
    acted_on_by: tuple[str, ...]  # roles whose queue holds the application in this state
    withdrawable: bool  # the unit may still withdraw (before a decision)
    stage: str = ""  # the policy stage this state stands for, if any


STATE_INFO: dict[str, StateInfo] = {
    AppState.DRAFT: StateInfo(False, "", (Role.UNIT,), False),
    AppState.FORMAL_REVIEW: StateInfo(False, "", (Role.DISTRICT, Role.AGENCY, Role.CITY), True, "formal_review"),
    AppState.RETURNED: StateInfo(False, "", (Role.UNIT,), True),
    AppState.AGGREGATION: StateInfo(False, "", (Role.AGENCY,), True, "aggregation"),
    AppState.EXPERT_REVIEW: StateInfo(False, "", (Role.CITY, Role.EXPERT), True, "expert_review"),
    AppState.OPINION: StateInfo(False, "", (Role.CITY,), True, "opinion"),
    AppState.DECISION: StateInfo(False, "", (Role.DECISION,), True, "decision"),
    AppState.READY_FOR_NOTICE: StateInfo(False, "", (Role.CITY,), False, "notice"),
    AppState.BACKUP: StateInfo(False, "", (), False),
    AppState.ON_NOTICE: StateInfo(False, _("公示中"), (Role.CITY,), False),
    AppState.APPROVED: StateInfo(True, _("已批准设立"), (), False),
    AppState.REJECTED: StateInfo(True, "", (), False),
    AppState.WITHDRAWN: StateInfo(True, "", (), False),
    AppState.DISQUALIFIED: StateInfo(True, "", (), False),
}

STAGE_STATES: dict[str, str] = {info.stage: state for state, info in STATE_INFO.items() if info.stage}
REVIEW_STATES: tuple[str, ...] = tuple(s for s, i in STATE_INFO.items() if i.stage and s != AppState.READY_FOR_NOTICE)


def info(state: str) -> StateInfo:
    return STATE_INFO[state]


class StudioState(models.TextChoices):
    ESTABLISHED = "established", _("已设立（建设中）")
    MIDTERM_ACCEPTED = "midterm_accepted", _("中期验收通过")
    ACCEPTED = "accepted", _("验收合格")
    OPERATING = "operating", _("运行中")
    PERIOD_ENDED = "period_ended", _("扶持期满")
    REVOKED = "revoked", _("已撤销")


@dataclass(frozen=True)
class StudioStateInfo:
    terminal: bool
    public: bool  # listed in the public directory
    public_label: StrOrPromise


STUDIO_STATE_INFO: dict[str, StudioStateInfo] = {
    StudioState.ESTABLISHED: StudioStateInfo(False, True, _("建设中")),
    StudioState.MIDTERM_ACCEPTED: StudioStateInfo(False, True, _("建设中")),
    StudioState.ACCEPTED: StudioStateInfo(False, True, _("已验收")),
    StudioState.OPERATING: StudioStateInfo(False, True, _("运行中")),
    StudioState.PERIOD_ENDED: StudioStateInfo(False, True, _("扶持期满")),
    # Revoked studios stay public with their 通报 (revocation notice), as the seeds require 予以通报.
    StudioState.REVOKED: StudioStateInfo(True, True, _("已撤销")),
}
