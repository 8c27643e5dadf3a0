"""Masking filters for templates and PDFs: `{% load pii %}{{ value|mask_phone }}` (portal/masking.py)."""
from __future__ import annotations

from django import template

from portal import masking

register = template.Library()

register.filter("mask_id_number", masking.mask_id_number)
register.filter("mask_phone", masking.mask_phone)
register.filter("mask_address", masking.mask_address)
