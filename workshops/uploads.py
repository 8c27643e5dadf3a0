"""Upload checks: size, and the type read from the file's content, never from its name."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

# Magic numbers of the formats bureaus accept for scanned certificates and reports.
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    # OFD (GB/T 33190, China's fixed-layout format) and DOCX are ZIP containers.
    (b"PK\x03\x04", "application/zip", ".zip"),
]
ALLOWED_LABEL = "PDF、JPG、PNG、OFD、DOCX"


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    size: int
    sha256: str


def check_upload(f: UploadedFile, field_label: str) -> CheckedFile:
    limit = settings.UPLOAD_MAX_BYTES
    if f.size is None or f.size == 0:
        raise ValidationError(_("“%(label)s”文件为空。") % {"label": field_label}, code="empty")
    if f.size > limit:
        raise ValidationError(_("“%(label)s”文件过大：不能超过 %(mb)d MB。")
                              % {"label": field_label, "mb": limit // (1024 * 1024)}, code="too_large")
    f.seek(0)
    head = f.read(16)
    f.seek(0)
    for magic, content_type, _ext in SIGNATURES:
        if head.startswith(magic):
            if content_type == "application/zip" and not f.name.lower().endswith((".ofd", ".docx")):
                break
            digest = hashlib.sha256()
            for chunk in f.chunks():
                digest.update(chunk)
            f.seek(0)
            return CheckedFile(content_type, f.size, digest.hexdigest())
    raise ValidationError(_("“%(label)s”文件类型不受支持：请上传 %(allowed)s 格式的文件"
                            "（按文件内容识别，改扩展名无效）。")
                          % {"label": field_label, "allowed": ALLOWED_LABEL}, code="bad_type")
