"""URLs of the bureaus' side: queues, stage decisions, expert panels, opinions and decisions."""
from __future__ import annotations

from django.urls import path

from reviews import notice_views, views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/decide/", views.application_decide, name="decide"),
    path("rounds/<int:round_id>/panels/", views.panel_list, name="panels"),
    path("panels/<int:pk>/", views.panel_detail, name="panel"),
    path("panels/<int:pk>/assign/", views.panel_assign, name="assign"),
    path("panels/<int:pk>/close/", views.panel_close, name="panel_close"),
    path("assignments/", views.assignment_list, name="assignments"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/recuse/", views.assignment_recuse, name="recuse"),
    path("rounds/<int:round_id>/opinions/", views.opinion_list, name="opinions"),
    path("rounds/<int:round_id>/decision/", views.round_decision, name="round_decision"),
    path("rounds/<int:round_id>/notices/", notice_views.notice_list, name="notices"),
    path("notices/<int:pk>/", notice_views.notice_manage, name="notice_manage"),
    path("objections/<int:pk>/", notice_views.objection_detail, name="objection"),
    path("rounds/<int:round_id>/establish/", notice_views.establish, name="establish"),
]

# Documents as PDFs (reviews/document_views.py).
from reviews import document_views  # noqa: E402

urlpatterns += [
    path("studios/<int:pk>/establishment.pdf", document_views.establishment_pdf, name="establishment_pdf"),
]

# Dashboards, lists and exports (reviews/dashboard_views.py).
from reviews import dashboard_views  # noqa: E402

urlpatterns += [
    path("dashboard/", dashboard_views.overview, name="dashboard"),
    path("dashboard/review/", dashboard_views.review, name="dashboard_review"),
    path("dashboard/money/", dashboard_views.money, name="dashboard_money"),
    path("dashboard/assessment/", dashboard_views.assessment, name="dashboard_assessment"),
    path("dashboard/report/<int:year>.pdf", dashboard_views.yearly_report, name="yearly_report"),
    path("data/<slug:dataset>/", dashboard_views.data_list, name="data"),
    path("data/<slug:dataset>/export/", dashboard_views.export_create, name="export"),
    path("exports/", dashboard_views.export_list, name="exports"),
    path("exports/<int:pk>/", dashboard_views.export_job, name="export_job"),
    path("exports/<int:pk>/download/", dashboard_views.export_download, name="export_download"),
]
