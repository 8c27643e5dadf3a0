"""Writing and verifying the audit trail. Every action function calls `record`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.models.audit import AuditChainHead, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it,
    # and the deployment's proxy is configured to set REMOTE_ADDR (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def record(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one audit row, chained to the previous one. Joins the caller's transaction."""
    # Round-trip through JSON so the hash is computed over exactly what the database returns.
    clean_data = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            at=timezone.now(),
            actor_id=actor.pk if is_user else None,
            actor_username=actor.get_username() if is_user else "",
            actor_role=(getattr(actor, "role", "") or "") if is_user else "",
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:200] if obj is not None else "",
            from_state=str(from_state or ""),
            to_state=str(to_state or ""),
            reason=reason or "",
            data=clean_data,
            ip=ip or client_ip(request),
            prev_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save()
        head.last_hash = event.hash
        head.count += 1
        head.save(update_fields=["last_hash", "count"])
    return event


def record_many(
    actor: Any,
    action: str,
    items: list[tuple[models.Model, dict[str, Any]]],
    *,
    reason: str = "",
    to_state: Any = None,
) -> int:
    """Append one row per (object, data), chained like `record`, under one lock of the chain head and
    written in batches: a bulk import of ten thousand studios must not cost three queries each.
    `to_state`: a function of the object giving its state, if any. Joins the caller's transaction."""
    if not items:
        return 0
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    now = timezone.now()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        prev = head.last_hash
        events = []
        for obj, data in items:
            event = AuditEvent(
                at=now,
                actor_id=actor.pk if is_user else None,
                actor_username=actor.get_username() if is_user else "",
                actor_role=(getattr(actor, "role", "") or "") if is_user else "",
                action=action,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                from_state="",
                to_state=str(to_state(obj) if to_state else ""),
                reason=reason,
                data=json.loads(json.dumps(data, ensure_ascii=False, default=str)),
                ip=None,
                prev_hash=prev,
            )
            event.hash = prev = event.compute_hash()
            events.append(event)
        # One INSERT per batch assigns ids in list order, so the chain reads back in id order.
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        head.last_hash = prev
        head.count += len(events)
        head.save(update_fields=["last_hash", "count"])
    return len(events)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(batch: int = 2000) -> ChainReport:
    """Walk the chain in id order; report the first row whose hash or link does not hold."""
    prev = "0" * 64
    checked = 0
    last_id = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch):
        if event.prev_hash != prev:
            return ChainReport(checked, event.id, "prev_hash 与上一条记录不符（有记录被删除或插入）")
        if event.compute_hash() != event.hash:
            return ChainReport(checked, event.id, "内容与哈希不符（记录被修改）")
        prev, last_id = event.hash, event.id
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.last_hash != prev:
        return ChainReport(checked, last_id + 1, f"链尾记录被删除：链头记载 {head.count} 条，实际 {checked} 条")
    return ChainReport(checked, None, "")
