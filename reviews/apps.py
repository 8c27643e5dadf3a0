from __future__ import annotations

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "评审与公示"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from portal.models import City
        from portal.pagecache import bump
        from reviews import (
            dashboards,  # noqa: F401  (dashboard access rules, the yearly report, cache invalidation)
            deadlines,  # noqa: F401  (registers reminder sources and the notice closer)
            documents,  # noqa: F401  (registers document builders and their access rules)
            exports,  # noqa: F401  (export access rules and the export task)
            rules,  # noqa: F401  (registers access rules and scopes)
        )
        from reviews.models import Notice, NoticeEntry
        from workshops.models import Round, Studio

        # Any change to what the public pages show invalidates every cached public page.
        for model in (Notice, NoticeEntry, Studio, Round, City):
            post_save.connect(bump, sender=model, dispatch_uid=f"public-pages-{model._meta.label}")
            post_delete.connect(bump, sender=model, dispatch_uid=f"public-pages-del-{model._meta.label}")
