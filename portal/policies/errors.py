"""Errors raised while reading policy files and looking policies up."""
from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _


class PolicyError(ValueError):
    """A policy file breaks a schema rule.

    ``str()`` gives ``"<file>: <key path>: <rule>"``, e.g.
    ``"zhengzhou.toml: review.notice.working_days: 必须是正整数"``, so an operator can find the
    line to fix without reading a traceback.
    """

    def __init__(self, file: str, key: str, rule: str) -> None:
        self.file = file
        self.key = key
        self.rule = rule
        super().__init__(f"{file}: {key}: {rule}")


class PolicyNotFound(LookupError):
    """No loaded policy version of the city covers the date asked about."""

    def __init__(self, city_code: str, on: date | None = None, version: str | None = None) -> None:
        self.city_code = city_code
        self.on = on
        self.version = version
        if version is not None:
            message = _("城市 %(city)s 没有已载入的政策版本 %(version)s") % {"city": city_code, "version": version}
        else:
            message = _(
                "城市 %(city)s 在 %(date)s 没有生效的政策版本（请确认已运行 loadpolicies，"
                "或新办法已载入）"
            ) % {"city": city_code, "date": on.isoformat() if on else "?"}
        super().__init__(message)
