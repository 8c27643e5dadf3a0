"""URLs of the unit's side: rounds and applications."""
from __future__ import annotations

from django.urls import path

from workshops import views

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
]
