"""URLs of the unit's side: rounds and applications; and the studios after establishment."""
from __future__ import annotations

from django.urls import path

from workshops import studio_views, views

app_name = "workshops"

urlpatterns = [
    path("", views.application_list, name="list"),
    path("rounds/", views.round_list, name="rounds"),
    path("rounds/new/", views.round_create, name="round_create"),
    path("new/<int:round_id>/", views.application_create, name="create"),
    path("<int:pk>/", views.application_detail, name="detail"),
    path("<int:pk>/edit/<slug:step>/", views.application_edit, name="edit"),
    path("<int:pk>/members/<int:member_id>/delete/", views.member_delete, name="member_delete"),
    path("<int:pk>/projects/<int:project_id>/delete/", views.project_delete, name="project_delete"),
    path("<int:pk>/attachments/upload/", views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:pk>/attachments/<int:attachment_id>/delete/", views.attachment_delete, name="attachment_delete"),
    path("<int:pk>/people/<int:person_id>/reveal/", views.person_reveal, name="reveal"),
    path("<int:pk>/submit/", views.application_submit, name="submit"),
    path("<int:pk>/withdraw/", views.application_withdraw, name="withdraw"),
    # The studio's life after establishment (workshops/studio_views.py).
    path("studios/", studio_views.studio_list, name="studios"),
    path("studios/plans/", studio_views.plan_forward, name="plan_forward"),
    path("studios/<int:pk>/", studio_views.studio_detail, name="studio"),
    path("studios/<int:pk>/plan/", studio_views.studio_plan, name="studio_plan"),
    path("studios/<int:pk>/records/", studio_views.studio_record, name="studio_record"),
    path("studios/<int:pk>/assessment/", studio_views.studio_assessment, name="studio_assessment"),
    path("studios/<int:pk>/plaque/", studio_views.studio_plaque, name="studio_plaque"),
    path("studios/<int:pk>/disbursements/", studio_views.studio_disbursement, name="studio_disbursement"),
    path("studios/<int:pk>/revoke/", studio_views.studio_revoke, name="studio_revoke"),
    path("studios/<int:pk>/leader-change/", studio_views.studio_leader_change, name="studio_leader_change"),
    path("studios/<int:pk>/leader-change/<int:change_id>/", studio_views.studio_leader_decide,
         name="studio_leader_decide"),
    path("studios/<int:pk>/upgrades/", studio_views.studio_upgrade, name="studio_upgrade"),
    path("studios/<int:pk>/state/", studio_views.studio_state, name="studio_state"),
]

# Documents as PDFs (workshops/document_views.py).
from workshops import document_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/form.pdf", document_views.application_pdf, name="application_pdf"),
    path("<int:pk>/documents/<slug:doc>.pdf", document_views.application_document, name="application_document"),
    path("plaques/<int:pk>/certificate.pdf", document_views.plaque_pdf, name="plaque_pdf"),
    path("assessments/<int:pk>/sheet.pdf", document_views.assessment_pdf, name="assessment_pdf"),
]

# Onboarding a city from spreadsheets (workshops/import_views.py).
from workshops import import_views  # noqa: E402

urlpatterns += [
    path("imports/", import_views.import_home, name="imports"),
    path("imports/templates/<slug:kind>.xlsx", import_views.import_template, name="import_template"),
    path("imports/export/<slug:kind>.xlsx", import_views.import_export, name="import_export"),
    path("imports/<int:pk>/", import_views.import_job, name="import_job"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/run/", import_views.import_run, name="import_run"),
    path("imports/<int:pk>/report.xlsx", import_views.import_report, name="import_report"),
]
