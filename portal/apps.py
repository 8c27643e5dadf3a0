from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "平台基础"

    def ready(self) -> None:
        from portal import checks, signals  # noqa: F401  (registers checks and receivers)
