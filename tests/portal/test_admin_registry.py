"""Every model of the portal's apps can be reached in the Django admin (directly or inline)."""
from __future__ import annotations

from django.apps import apps
from django.contrib import admin


def test_every_model_is_in_the_admin() -> None:
    inline_models = {inline.model for model_admin in admin.site._registry.values()
                     for inline in getattr(model_admin, "inlines", [])}
    missing = [m._meta.label for m in apps.get_models()
               if m._meta.app_label in {"portal", "workshops", "reviews"}
               and m not in admin.site._registry and m not in inline_models]
    assert not missing
