"""System checks for what settings alone cannot see."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def pii_keys_from_environment(app_configs: Any, **kwargs: Any) -> list[Error]:
    key_file = settings.VAR_DIR / "dev-pii-key"
    if key_file.exists() and key_file.read_text().strip() in settings.PII_ENCRYPTION_KEYS:
        return [Error("个人信息加密密钥来自开发用的 var/dev-pii-key 文件。",
                      hint="在环境变量 PII_ENCRYPTION_KEYS 中提供密钥。", id="portal.E001")]
    return []
