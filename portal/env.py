"""Reading settings from the environment.

Every value the deployment may set is read here, once, at start-up. A bad value stops start-up with
a message that names the variable and says what was expected, so an operator never has to guess
which of twenty variables broke the boot.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _fail(self, name: str, expected: str) -> ImproperlyConfigured:
        value = self.environ.get(name, "")
        return ImproperlyConfigured(
            f"环境变量 {name} 的值无效（{value!r}）：{expected}。"
            f" / Environment variable {name} is invalid: {expected}."
        )

    def str(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default).strip()

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise self._fail(name, "应为 true/false、1/0、yes/no 或 on/off")

    def int(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self.environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            raise self._fail(name, "应为整数") from None
        if value < minimum:
            raise self._fail(name, f"应不小于 {minimum}")
        return value

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        raw = self.environ.get(name)
        if raw is None:
            return list(default or [])
        return [item.strip() for item in raw.split(",") if item.strip()]

    def url(self, name: str, schemes: tuple[str, ...], default: str = "") -> str:
        value = self.str(name, default)
        if not value:
            return ""
        parsed = urlparse(value)
        if parsed.scheme not in schemes:
            raise self._fail(name, "协议应为 " + " / ".join(f"{s}://" for s in schemes))
        if parsed.scheme not in {"sqlite"} and not parsed.hostname and not parsed.path:
            raise self._fail(name, "缺少主机名")
        return value

    def email(self, name: str, default: str) -> str:
        value = self.str(name, default)
        if value.count("@") != 1 or value.startswith("@") or value.endswith("@"):
            # Accept "名称 <addr@host>" too: Django sends it as a display name.
            if not ("<" in value and value.endswith(">") and "@" in value):
                raise self._fail(name, "应为电子邮件地址，如 noreply@example.gov.cn")
        return value
