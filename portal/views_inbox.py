"""The in-site inbox: a user's own messages (reminders, notices of work to do), and marking them read."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.models import Notification

PAGE_SIZE = 30


def _mine(request: HttpRequest):  # noqa: ANN202 - NotificationQuerySet
    # An inbox is its owner's alone: no role, however senior, reads another account's messages.
    return Notification.objects.filter(recipient=request.user)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    qs = _mine(request).unread() if unread_only else _mine(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/inbox.html", {"page": page, "unread_only": unread_only,
                                                 "query": "show=unread" if unread_only else ""})


@login_required
@require_POST
def inbox_read(request: HttpRequest) -> HttpResponse:
    """Mark one message read (``id``; with ``open`` go on to its link) or all of them (``all``)."""
    now = timezone.now()
    if request.POST.get("all"):
        n = _mine(request).unread().update(read_at=now)
        messages.success(request, _("已将 %(n)d 条消息标为已读。") % {"n": n})
        return redirect("portal:inbox")
    try:
        pk = int(request.POST.get("id", ""))
    except ValueError:
        return HttpResponseBadRequest(_("请指定要标为已读的消息。"))
    note = get_object_or_404(_mine(request), pk=pk)
    _mine(request).filter(pk=note.pk, read_at__isnull=True).update(read_at=now)
    if request.POST.get("open") and note.url and url_has_allowed_host_and_scheme(
            note.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(note.url)
    return redirect("portal:inbox")
