from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from portal.models import Notification
from tests.factories import Cast, make_person
from workshops.models import Studio
from workshops.states import StudioState


@pytest.fixture
def make_studio() -> Callable[..., Studio]:
    def make(cast: Cast, established_on: date, *, org: Any = None, state: str = StudioState.ESTABLISHED,
             name: str = "") -> Studio:
        org = org or cast.org
        leader = make_person(organization=org)
        return Studio.objects.create(city=cast.city, district=org.district, organization=org, leader=leader,
                                     name=name or f"{cast.city.name}{leader.name}技能大师工作室", occupation="焊工",
                                     policy_version="1", state=state, established_on=established_on)

    return make


def inbox(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).order_by("pk"))


def keys(user: Any) -> list[str]:
    return [n.dedupe_key for n in inbox(user)]
