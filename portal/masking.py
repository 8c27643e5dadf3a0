"""Masking of personal information for display (个人信息保护法 第五十一条: 去标识化).

Every page, export and PDF shows these masked unless the viewer's task needs the full value (see
portal.access: "person.reveal"), and a reveal is an explicit, audited action.
"""
from __future__ import annotations


def mask_id_number(value: str | None) -> str:
    """4101**********1230: the region's first four digits and the last four stay visible."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678 for mobiles; shorter numbers (landlines) keep fewer leading digits, so at least
    four are always hidden, and seven or fewer are hidden whole."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    head = min(3, len(digits) - 8)
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def mask_address(value: str | None) -> str:
    """Keep the first six characters (province/city/district), hide the rest."""
    if not value:
        return ""
    return value[:6] + "*" * min(8, max(0, len(value) - 6))
