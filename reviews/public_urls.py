"""The public site (no login): home, notices and objections, the studio directory, open data."""
from __future__ import annotations

from django.urls import path

from portal.pagecache import public_page
from reviews import public
from workshops import public as directory

app_name = "public"

urlpatterns = [
    path("", public.home, name="home"),
    path("notices/", public.notice_list, name="notices"),
    path("notices/<int:pk>/", public.notice_detail, name="notice"),
    path("notices/<int:pk>/objection/", public.objection_form, name="objection"),
    path("notices/<int:pk>/objection/done/", public.objection_done, name="objection_done"),
    path("notices.json", public.notices_json, name="notices_json"),
    path("notices.csv", public.notices_csv, name="notices_csv"),
    path("notices/feed.atom", public_page(public.NoticeFeed()), name="notices_feed"),
    path("studios/", directory.directory, name="studios"),
    path("studios/<int:pk>/", directory.studio_detail, name="studio"),
    path("studios.json", directory.directory_json, name="studios_json"),
    path("studios.csv", directory.directory_csv, name="studios_csv"),
]

# Printable documents: the notice (reviews/document_views.py) and a revoked studio's 通报.
from reviews import document_views  # noqa: E402
from workshops import document_views as studio_documents  # noqa: E402

urlpatterns += [
    path("notices/<int:pk>/notice.pdf", document_views.notice_pdf, name="notice_pdf"),
    path("studios/<int:pk>/revocation.pdf", studio_documents.revocation_pdf, name="revocation_pdf"),
]
