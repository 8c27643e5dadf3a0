from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.imports.builders import upload
from workshops import imports
from workshops.models import ImportJob


@pytest.fixture
def run_file(django_capture_on_commit_callbacks: Any) -> Callable[..., ImportJob]:
    """Upload a workbook as `actor` (the check task runs), then import it in `mode` if it can be."""

    def run(actor: Any, kind: str, content: bytes, mode: str | None = ImportJob.Mode.ALL,
            name: str = "导入.xlsx") -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = imports.do_upload(actor.city, actor=actor, kind=kind, upload=upload(content, name))
        job.refresh_from_db()
        if mode is not None:
            with django_capture_on_commit_callbacks(execute=True):
                imports.do_start_import(job, actor=actor, mode=mode)
            job.refresh_from_db()
        return job

    return run
