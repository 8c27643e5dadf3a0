"""Encryption at rest for personal information (个人信息保护法 第五十一条; 等保2.0 三级 数据保密性).

身份证号, mobile numbers and home addresses are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256).
Keys come from the environment: PII_ENCRYPTION_KEYS is a comma-separated list, the first one
encrypts, all of them decrypt, so a key is rotated by putting a new one first and running
`manage.py rotate_pii_keys`. Exact-match lookups (uniqueness, sanction bans by person) use a keyed
HMAC beside the ciphertext (PII_HASH_KEY), so the database never needs the plain value.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc1:"


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.PII_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("环境变量 PII_ENCRYPTION_KEYS 未设置。")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "环境变量 PII_ENCRYPTION_KEYS 的值无效：应为逗号分隔的 Fernet 密钥（32 字节 URL-safe base64）。"
        ) from None


def reset_keys() -> None:
    """Forget cached keys (after settings change in tests or a rotation)."""
    _fernet.cache_clear()


def encrypt(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet().decrypt(token[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("无法解密个人信息：PII_ENCRYPTION_KEYS 中没有加密它的密钥。") from None


def rotate(token: str) -> str:
    """Re-encrypt a stored token under the first (current) key."""
    return PREFIX + _fernet().rotate(token[len(PREFIX):].encode()).decode()


def blind_index(value: str) -> str:
    """Keyed hash for exact-match lookups; normalise before calling (upper-case, no spaces)."""
    key = settings.PII_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def generate_key() -> str:
    return Fernet.generate_key().decode()


def key_fingerprint(key: str) -> str:
    return base64.b16encode(hashlib.sha256(key.encode()).digest()[:4]).decode().lower()


class EncryptedTextField(models.TextField):
    """A text column that holds only ciphertext; Python code sees the plain value."""

    description = "Encrypted text (Fernet)"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        # Ciphertext is randomised: only "is null" means anything. Use the blind index to search.
        if lookup_name not in {"isnull"}:
            raise TypeError(f"加密字段不支持 {lookup_name} 查询，请使用对应的哈希字段。")
        return super().get_lookup(lookup_name)


class EncryptedBinaryField(models.BinaryField):
    """Bytes kept encrypted (an uploaded spreadsheet full of ID numbers, waiting to be imported)."""

    description = "Encrypted bytes (Fernet)"
    PREFIX = PREFIX.encode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        if value is None:
            return None
        raw = bytes(value)
        if not raw.startswith(self.PREFIX):
            return raw
        try:
            return _fernet().decrypt(raw[len(self.PREFIX):])
        except InvalidToken:
            raise ImproperlyConfigured("无法解密文件：PII_ENCRYPTION_KEYS 中没有加密它的密钥。") from None

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or prepared:
            return super().get_db_prep_value(value, connection, prepared)
        token = self.PREFIX + _fernet().encrypt(bytes(value))
        return super().get_db_prep_value(token, connection, prepared)
