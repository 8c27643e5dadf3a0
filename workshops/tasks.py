"""Celery tasks of the applications app. Tasks take ids (or a date), re-fetch, and are safe to run twice."""
from __future__ import annotations

from datetime import date

from celery import shared_task

from workshops import retention


@shared_task
def purge_expired_attachments(on: str | None = None) -> int:
    """Daily (beat: purge-expired-attachments): delete the materials of rejected and withdrawn
    applications past ATTACHMENT_RETENTION_YEARS; returns how many files were deleted."""
    return retention.purge_expired(date.fromisoformat(on) if on else None).attachment_count


@shared_task
def check_import(job_id: int) -> str:
    """Check an uploaded spreadsheet (workshops/imports.py); safe to run twice (only a job still being checked)."""
    from workshops import imports

    return imports.check_job(job_id)


@shared_task(soft_time_limit=600)
def run_import(job_id: int) -> str:
    """Import a checked spreadsheet in one transaction; a second delivery finds the job done and does nothing."""
    from workshops import imports

    return imports.run_job(job_id)
