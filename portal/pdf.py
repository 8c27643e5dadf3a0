"""Official documents as PDFs: a Django template rendered to HTML, then WeasyPrint, cached by content.

One path for every document (forms, notices, certificates, assessment sheets, 通报):

- `render(template, context) -> bytes` renders the HTML, hashes it (with `DOCUMENTS_VERSION` and
  WeasyPrint's version) and returns the stored PDF for that hash, or renders and stores it. A PDF
  is therefore reused until the data it shows changes, and a change of data is a new hash.
- Apps register how to rebuild a document from ids (`@document("workshops.application_form")`),
  so the Celery task `render_document(kind, object_id, variant)` can re-fetch and render off the
  request path, and `download(request, …)` can serve the stored PDF, queue the task and show
  progress, and audit the download.

Speed: WeasyPrint spends nearly all of a Chinese page's time subsetting the CJK font (65 535
glyphs). With HarfBuzz's subsetter (Debian `libharfbuzz-subset0`) that is milliseconds; without it
WeasyPrint falls back to fontTools and a one-page form takes seconds (docs/benchmarks.md). The
`portal.W101` check says when the library is missing. Every document uses one family (Noto Serif
CJK SC, regular and bold; it covers Latin too) so a PDF embeds at most two subsets.

Safety: user text reaches the HTML only through Django's autoescaping, and WeasyPrint is given a
URL fetcher that refuses every URL, so nothing in a document can load a file or a remote resource.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version as package_version
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.core.cache import cache
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render as render_page
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy

from portal import audit, crypto

logger = logging.getLogger(__name__)

# Bump when the rendering changes in a way the HTML does not show (fonts, WeasyPrint options).
DOCUMENTS_VERSION = "1"
STORAGE_DIR = "documents"
JOB_TIMEOUT = 300  # seconds a queued render is waited for before it may be queued again
FAILED_TIMEOUT = 60
PROGRESS_REFRESH_SECONDS = 2
# Where a stored PDF would show a full 身份证号 or phone number it is encrypted with the PII keys:
# the database never holds those in clear, and neither may the document store.
ENCRYPTED_PREFIX = b"enc1:"

Template = str | Sequence[str]
Source = tuple[Template, Mapping[str, Any]]
Builder = Callable[[int, str], Source]


@dataclass(frozen=True)
class Prepared:
    html: str
    key: str
    sensitive: bool


# --- HTML and its key ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _renderer_version() -> str:
    return f"{DOCUMENTS_VERSION}:weasyprint-{package_version('weasyprint')}"


def render_html(template: Template, context: Mapping[str, Any]) -> str:
    names = [template] if isinstance(template, str) else list(template)
    return render_to_string(names, dict(context))


def content_key(html: str) -> str:
    """The hash a finished PDF is stored under: same HTML and renderer → same PDF."""
    return hashlib.sha256(f"{_renderer_version()}\n{html}".encode()).hexdigest()


def prepare(template: Template, context: Mapping[str, Any]) -> Prepared:
    html = render_html(template, context)
    return Prepared(html=html, key=content_key(html), sensitive=bool(context.get("sensitive")))


# --- WeasyPrint ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _fetcher() -> Any:
    from weasyprint import URLFetcher

    # An empty list of allowed protocols: file:, http:, data: … are all refused.
    return URLFetcher(allowed_protocols=(), fail_on_errors=False)


def html_to_pdf(html: str) -> bytes:
    """Render without looking at the store (the benchmark and `render` use it)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=None, url_fetcher=_fetcher()).write_pdf()


WARM_UP_HTML = ('<html lang="zh-Hans"><body style="font-family: \'Noto Serif CJK SC\'">'
                '<p>技能大师工作室</p><p style="font-weight: bold">申报表</p></body></html>')


@worker_process_init.connect
def warm_up(**kwargs: Any) -> None:
    """Load the CJK fonts once when a worker process starts: the first Chinese render in a process
    spends ~2 s in fontconfig and Pango that later renders do not (docs/benchmarks.md)."""
    try:
        html_to_pdf(WARM_UP_HTML)
    except Exception:  # a worker that cannot render PDFs still runs every other task
        logger.exception("pdf warm-up failed")


def has_fast_subsetting() -> bool:
    from weasyprint.text.ffi import harfbuzz_subset

    return harfbuzz_subset is not None


@register(Tags.compatibility)
def fast_font_subsetting(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    try:
        fast = has_fast_subsetting()
    except OSError:  # Pango itself is missing: WeasyPrint's own import error says so when used
        return []
    if fast:
        return []
    return [CheckWarning("WeasyPrint 找不到 HarfBuzz 子集化库，中文 PDF 每页需数秒。",
                    hint="安装 Debian 软件包 libharfbuzz-subset0（scripts/bootstrap 会安装）。", id="portal.W101")]


# --- the store -------------------------------------------------------------------------------------

def _path(key: str) -> str:
    return f"{STORAGE_DIR}/{key[:2]}/{key}.pdf"


def stored(key: str) -> bytes | None:
    path = _path(key)
    try:
        with default_storage.open(path, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        return None
    # Storage writes in place, so a file another worker is still writing can be read half-way: a
    # torn copy fails the Fernet MAC or lacks the PDF trailer, and counts as not stored yet.
    if data.startswith(ENCRYPTED_PREFIX):
        try:
            return base64.b64decode(crypto.decrypt(data.decode()))
        except (ImproperlyConfigured, ValueError):
            return None
    return data if data.rstrip().endswith(b"%%EOF") else None


def store(key: str, data: bytes, *, sensitive: bool) -> None:
    path = _path(key)
    if default_storage.exists(path):
        return  # same key, same bytes: another worker got there first
    payload = crypto.encrypt(base64.b64encode(data).decode()).encode() if sensitive else data
    saved = default_storage.save(path, ContentFile(payload))
    if saved != path:  # lost a race with another worker; keep one copy
        default_storage.delete(saved)


def render(template: Template, context: Mapping[str, Any]) -> bytes:
    """The PDF for this template and context: from the store when the HTML is unchanged."""
    prepared = prepare(template, context)
    return render_prepared(prepared)


def render_prepared(prepared: Prepared) -> bytes:
    data = stored(prepared.key)
    if data is None:
        started = time.perf_counter()
        data = html_to_pdf(prepared.html)
        logger.info("pdf rendered %s in %.2fs (%d bytes)", prepared.key[:12], time.perf_counter() - started,
                    len(data))
        store(prepared.key, data, sensitive=prepared.sensitive)
    return data


# --- documents rebuilt from ids (for the task) ------------------------------------------------------

_builders: dict[str, Builder] = {}


def document(kind: str) -> Callable[[Builder], Builder]:
    """Register how to rebuild a document from an object id and a variant ("" or e.g. "full")."""
    def register_builder(fn: Builder) -> Builder:
        if kind in _builders:
            raise RuntimeError(f"document {kind!r} registered twice")
        _builders[kind] = fn
        return fn

    return register_builder


def source(kind: str, object_id: int, variant: str = "") -> Source:
    try:
        builder = _builders[kind]
    except KeyError:
        raise KeyError(f"no document registered as {kind!r}") from None
    return builder(object_id, variant)


def _job_key(key: str) -> str:
    return f"pdf:job:{key}"


def job_status(key: str) -> dict[str, Any] | None:
    return cache.get(_job_key(key))


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=5, retry_kwargs={"max_retries": 3})
def render_document(self: Any, kind: str, object_id: int, variant: str = "", key: str = "") -> str | None:
    """Render one document from ids and store it. Safe to run twice: the second run finds it stored."""
    if key:
        cache.set(_job_key(key), {"state": "rendering", "since": time.time()}, JOB_TIMEOUT)
    try:
        prepared = prepare(*source(kind, object_id, variant))
        render_prepared(prepared)
    except ObjectDoesNotExist:
        if key:
            cache.delete(_job_key(key))
        return None
    except Exception:
        if key:
            cache.set(_job_key(key), {"state": "failed", "since": time.time()}, FAILED_TIMEOUT)
        raise
    if key:
        cache.delete(_job_key(key))
    return prepared.key


# --- serving -----------------------------------------------------------------------------------------

def pdf_response(data: bytes, filename: str, *, public: bool) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = _disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    # A person's documents must not sit in shared caches or the browser's history cache.
    response["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c.isalnum() or c in "-_." else "_" for c in filename)
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def download(request: HttpRequest, kind: str, object_id: int, *, variant: str = "", filename: str,
             audit_obj: models.Model | None = None, public: bool = False) -> HttpResponse:
    """Serve a document: the stored PDF when its data is unchanged, else queue the render and show
    progress (the page reloads itself until the PDF is there). Access is the caller's job, done
    before this; `audit_obj` (required unless `public`) gets a `document.download` row per download."""
    if not public and audit_obj is None:
        raise ValueError("a non-public document must name the object its download is audited on")
    prepared = prepare(*source(kind, object_id, variant))
    data = stored(prepared.key)
    if data is None:
        status = job_status(prepared.key)
        if status is None:
            queue = cache.add(_job_key(prepared.key), {"state": "queued", "since": time.time()}, JOB_TIMEOUT)
        else:
            queue = status.get("state") == "failed" and bool(request.GET.get("retry"))
            if queue:
                cache.set(_job_key(prepared.key), {"state": "queued", "since": time.time()}, JOB_TIMEOUT)
        if queue:
            # Eager (no broker) renders here and now; with a worker the progress page polls.
            render_document.delay(kind, object_id, variant, prepared.key)
        data = stored(prepared.key)
    if data is None:
        return _progress(request, job_status(prepared.key), filename)
    if audit_obj is not None:
        audit.record(request.user, "document.download", audit_obj, request=request, data={
            "document": kind, "variant": variant, "sha256": hashlib.sha256(data).hexdigest()})
    return pdf_response(data, filename, public=public)


STATE_LABELS = {"queued": gettext_lazy("排队等待生成"), "rendering": gettext_lazy("正在生成"),
                "failed": gettext_lazy("生成失败")}


def _progress(request: HttpRequest, status: dict[str, Any] | None, filename: str) -> HttpResponse:
    state = (status or {}).get("state", "queued")
    waited = int(time.time() - (status or {}).get("since", time.time()))
    response = render_page(request, "documents/progress.html", {
        "state": state, "state_label": STATE_LABELS.get(state, STATE_LABELS["queued"]), "waited": waited,
        "filename": filename, "refresh": PROGRESS_REFRESH_SECONDS if state != "failed" else None})
    response["Cache-Control"] = "no-store"
    return response
