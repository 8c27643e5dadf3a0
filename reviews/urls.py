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
