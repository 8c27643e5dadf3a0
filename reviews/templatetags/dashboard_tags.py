"""Figures as the bureaus write them: money in 万元, shares in per cent."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


@register.filter
def wan(value: Any) -> str:
    """Yuan → 万元 with two decimals (150000 → 15.00)."""
    try:
        return f"{Decimal(value or 0) / 10000:,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def share(part: Any, whole: Any) -> str:
    """`part` as a percentage of `whole`, one decimal; empty when there is no whole."""
    try:
        whole = Decimal(whole or 0)
        return f"{Decimal(part or 0) * 100 / whole:.1f}%" if whole else ""
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping[key] in a template (0 when missing): cross tables by state, grade, year."""
    try:
        return mapping.get(key, 0)
    except AttributeError:
        return 0
