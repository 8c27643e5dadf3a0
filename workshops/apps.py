from __future__ import annotations

from django.apps import AppConfig


class WorkshopsConfig(AppConfig):
    name = "workshops"
    verbose_name = "技能大师工作室"

    def ready(self) -> None:
        from workshops import (
            deadlines,  # noqa: F401  (registers reminder sources)
            documents,  # noqa: F401  (registers document builders and their access rules)
            rules,  # noqa: F401  (registers access rules and scopes)
        )
