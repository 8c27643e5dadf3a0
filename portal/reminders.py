"""Deadline reminders: a registry of deadline sources, one set-based daily sweep, exactly-once delivery.

How it fits together (docs/reminders.md has the rules and the recipient mapping):

* Apps register **sources** (``@reminders.source("plan_filing")`` in workshops/deadlines.py and
  reviews/deadlines.py) and **closers** (jobs that act on a day, e.g. ending notice periods).
  portal imports neither app: the sources come to it.
* A source returns :class:`Batch` objects: a queryset of objects that share a deadline rule, who
  must act (:class:`To`), the due date (one date, or a per-row date expression) and the policy's
  reminder offsets.  Due dates are computed per (city, policy version) in Python, from the policy
  and the working-day calendar; the people are selected with joins, never per studio.
* The sweep turns every batch into one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per offset
  bucket: the subject and body are rendered once from the kind's templates
  (``templates/reminders/<kind>_subject.txt`` / ``_body.txt``) with placeholders that SQL fills
  per row (the studio's name, its due date).  The query count depends on the number of cities,
  policy versions and rules, never on the number of studios.
* **Exactly once** is the database's job: each reminder carries ``Notification.dedupe_key``
  ``reminder.<kind>:<object>:<due date>:<offset>``, unique per recipient.  A second beat, two
  workers sweeping at once, or a sweep retried after a worker died all insert nothing new.
* E-mail follows the inbox, never the other way round: the sweep ends by queueing
  ``portal.tasks.email_notifications`` for every reminder not yet e-mailed (an outbox read from the
  table, so a sweep that died between its INSERT and the queueing is completed by the next run).
  That task locks each row while sending and stamps ``emailed_at``, so a retry or a duplicate
  message never sends twice and never creates a second inbox row.

Offsets: with ``offsets_days = [30, 7, 1]`` a deadline gets the 30-day reminder when it is 8–30 days
away, the 7-day one at 2–7 days, the 1-day one the day before, and the overdue one (plus the
escalation to the supervisors) on the first sweep after the due date, up to ``OVERDUE_WINDOW_DAYS``
late.  Each window is a range, not a single day, so a day the sweep did not run is caught up by
the next one — and the dedupe key still sends each reminder once.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection
from django.db.models import (
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Func,
    Model,
    OuterRef,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat, Left
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.calendar import CalendarDataMissing, next_working_day_on_or_after
from portal.models.notifications import Notification
from portal.policies import PolicyNotFound, get_policy_version
from portal.policies.schema import Policy

logger = logging.getLogger(__name__)

# An overdue reminder is still sent this many days after the due date (the sweep catching up after
# an outage); older deadlines are left alone rather than flooding inboxes on a first deployment.
OVERDUE_WINDOW_DAYS = 30
# Reminders not yet e-mailed are re-queued by every sweep for this long (a mail server down for a
# day is caught up; a permanently bad address stops being tried).
EMAIL_RETRY_DAYS = 3
EMAIL_CHUNK = 500
# Stands for the object's id in a source's URL: reverse("reviews:assignment", args=[REF]).
REF = 987654321
KIND_PREFIX = "reminder."
_PLACEHOLDER = re.compile("\x00(\\w+)\x00")


def _ph(name: str) -> str:
    return f"\x00{name}\x00"


# --- what a source returns -------------------------------------------------------------------------

@dataclass(frozen=True)
class To:
    """The users reached from the object by ``path`` (a relation to portal.User), only active ones,
    and only those with ``role`` when given: ``To("organization__users", Role.UNIT)``."""

    path: str
    role: str | None = None

    def narrow(self, qs: QuerySet) -> QuerySet:
        # One filter() call, so the role, the active flag and the recipient column share one join.
        lookups: dict[str, Any] = {f"{self.path}__is_active": True}
        if self.role:
            lookups[f"{self.path}__role"] = self.role
        return qs.filter(**lookups)


@dataclass(frozen=True)
class Batch:
    """Objects sharing one deadline rule: who acts, when it is due, how early to remind them.

    ``due`` is one date for every object (a policy's fixed filing date), the path of a date field
    (``"stage_due_on"``), or a :class:`DueByRange` ("6 months after establishment").
    """

    kind: str  # templates reminders/<kind>_*.txt; Notification.kind "reminder.<kind>"
    title: str  # what is due, for reports and escalations ("年度工作计划报送")
    scope: str  # where, for reports ("郑州市")
    scope_key: str  # a stable id of the scope, used in escalation keys ("c3v1")
    objects: QuerySet
    to: tuple[To, ...]
    due: date | str | DueByRange
    offsets: tuple[int, ...]
    overdue: bool = True
    escalate_to: To | None = None  # told once when the deadline has passed (a summary per supervisor)
    key_kind: str = ""  # the dedupe key's kind when one template serves several rules (default: kind)
    name: str = "name"  # path of the text naming the object in the message
    ref: str = "pk"  # path of the id the URL's REF stands for
    url: str = ""
    escalation_url: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dedupe_kind(self) -> str:
        return self.key_kind or self.kind


@dataclass(frozen=True)
class Problem:
    """Something the sweep could not compute (no holiday data for a year, a policy version missing)."""

    scope: str
    message: str


Item = Batch | Problem
Source = Callable[[date], Iterable[Item]]
Closer = Callable[[date, bool], list[str]]

_sources: dict[str, Source] = {}
_closers: dict[str, Closer] = {}


def source(name: str) -> Callable[[Source], Source]:
    """Register a deadline source (called at import from an app's AppConfig.ready)."""

    def register(fn: Source) -> Source:
        if name in _sources and _sources[name] is not fn:
            raise RuntimeError(f"reminder source {name!r} registered twice")
        _sources[name] = fn
        return fn

    return register


def closer(name: str) -> Callable[[Closer], Closer]:
    """Register a job the sweep runs first for the day, e.g. ending notice periods that are over."""

    def register(fn: Closer) -> Closer:
        if name in _closers and _closers[name] is not fn:
            raise RuntimeError(f"reminder closer {name!r} registered twice")
        _closers[name] = fn
        return fn

    return register


def sources() -> dict[str, Source]:
    return dict(_sources)


# --- helpers for sources ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyGroup:
    city_id: int
    city_name: str
    version: str
    policy: Policy
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"c{self.city_id}v{self.version}"


def by_policy(qs: QuerySet, *, city: str = "city", version: str = "policy_version",
              extra: tuple[str, ...] = ()) -> Iterator[PolicyGroup | Problem]:
    """The (city, policy version[, extra fields]) combinations present in ``qs``: one query."""
    fields = (city, f"{city}__code", f"{city}__name", version, *extra)
    for row in qs.order_by().values_list(*fields).distinct().order_by(*fields):
        city_id, code, city_name, ver, *rest = row
        try:
            policy = get_policy_version(code, ver)
        except PolicyNotFound as exc:
            yield Problem(f"{city_name}（办法版本 {ver}）", str(exc))
            continue
        yield PolicyGroup(city_id, city_name, ver, policy, dict(zip(extra, rest, strict=True)))


def per_group(groups: Iterable[PolicyGroup | Problem],
              build: Callable[[PolicyGroup], Iterable[Item]]) -> Iterator[Item]:
    """Run ``build`` for each group; a group whose dates cannot be computed becomes a Problem."""
    for group in groups:
        if isinstance(group, Problem):
            yield group
            continue
        items: list[Item] = []
        try:
            items.extend(build(group))  # building is cheap: querysets stay unevaluated
        except (CalendarDataMissing, PolicyNotFound) as exc:
            # What was built before the failure (e.g. this year's deadlines, before next year's) still goes out.
            items.append(Problem(f"{group.city_name}（办法版本 {group.version}）", str(exc)))
        yield from items


@dataclass(frozen=True)
class Bucket:
    """On the sweep day, the due dates that get the reminder sent ``offset`` days ahead (None: overdue)."""

    offset: int | None
    first: date
    last: date

    @property
    def label(self) -> str:
        return "overdue" if self.offset is None else str(self.offset)

    def holds(self, due: date) -> bool:
        return self.first <= due <= self.last


def buckets(offsets: Iterable[int], on: date, *, overdue: bool = True) -> list[Bucket]:
    ks = sorted(set(offsets), reverse=True)
    result = [Bucket(k, on + timedelta(days=(ks[i + 1] if i + 1 < len(ks) else 0) + 1), on + timedelta(days=k))
              for i, k in enumerate(ks)]
    if overdue:
        result.append(Bucket(None, on - timedelta(days=OVERDUE_WINDOW_DAYS), on - timedelta(days=1)))
    return result


def reach(offsets: Iterable[int], on: date, *, overdue: bool = True) -> tuple[date, date] | None:
    """The range of due dates any reminder is sent for on ``on``."""
    bs = buckets(offsets, on, overdue=overdue)
    return (min(b.first for b in bs), max(b.last for b in bs)) if bs else None


def fixed_due(raw: date | None, on: date, offsets: Iterable[int], *, overdue: bool = True) -> date | None:
    """The effective due date of a deadline fixed on ``raw`` if a reminder is due for it on ``on``.

    A date that falls on a rest day moves to the next working day (portal.calendar.due_date_for_fixed_day,
    by analogy with 《民法典》第二百零三条).  Dates far from ``on`` are not looked up in the calendar,
    so a year without holiday data only matters once its deadlines come within reach.
    """
    bs = buckets(offsets, on, overdue=overdue)
    window = reach(offsets, on, overdue=overdue)
    if raw is None or window is None:
        return None
    # The shift only ever moves a date later, and never by more than the longest holiday (9 days).
    if raw > window[1] or raw < window[0] - timedelta(days=31):
        return None
    due = next_working_day_on_or_after(raw)
    return due if any(b.holds(due) for b in bs) else None


def add_months(d: date, months: int) -> date:
    """``d`` plus whole months; the 31st plus one month is the last day of a shorter month."""
    total = d.month - 1 + months
    year, month = d.year + total // 12, total % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def months_after_ranges(months: int, first_due: date, last_due: date) -> list[tuple[date, date, date]]:
    """Establishment-date ranges whose deadline ``months`` later falls due between two dates.

    Returns ``(from, to, due)`` triples: a studio set up between ``from`` and ``to`` has its
    deadline (``months`` after, moved off a rest day) on ``due``.  The sources turn them into one
    ``CASE`` over the establishment date, so a per-studio due date costs no per-studio query.
    """
    spans: dict[date, list[date]] = {}
    raw = first_due - timedelta(days=31)  # a raw date up to a holiday's length before may shift in
    while raw <= last_due:
        due = next_working_day_on_or_after(raw)
        if first_due <= due <= last_due:
            start = add_months(raw, -months)
            for e in (start + timedelta(days=k) for k in range(4)):
                if add_months(e, months) == raw:
                    spans.setdefault(due, []).append(e)
        raw += timedelta(days=1)
    return [(min(es), max(es), due) for due, es in sorted(spans.items())]


@dataclass(frozen=True)
class DueByRange:
    """Per-row due dates given by ranges of a date field: ``(from, to, due)`` spans in due order, as
    :func:`months_after_ranges` returns them ("6 months after ``established_on``, off a rest day")."""

    model: type[Model]
    field: str
    spans: tuple[tuple[date, date, date], ...]


def _dates_by_range(model: type[Model], field: str, spans: list[tuple[date, date, date]]) -> RawSQL:
    """``CASE WHEN <field> BETWEEN from AND to THEN due … END``, as raw SQL so that it is compiled once:
    a query refers to the due date five or six times (dedupe key, subject, body), and Django would
    compile a 60-branch ``Case`` anew for each reference — seconds of Python per sweep."""
    qn = connection.ops.quote_name
    column = f"{qn(model._meta.db_table)}.{qn(model._meta.get_field(field).column)}"
    whens = " ".join(f"WHEN {column} BETWEEN %s AND %s THEN %s" for _span in spans)
    params = [value for span in spans for value in span]
    return RawSQL(f"(CASE {whens} END)", params, output_field=DateField())


# --- SQL -------------------------------------------------------------------------------------------

class IsoDate(Func):
    """A date as 'YYYY-MM-DD' text on every backend."""

    output_field = CharField()
    template = "CAST(%(expressions)s AS TEXT)"  # SQLite stores dates as ISO text already

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')", **extra)


def _text(rendered: str, fields: Mapping[str, Any]) -> Any:
    """Rendered template text with placeholders → a SQL text expression (literals and columns)."""
    parts = _PLACEHOLDER.split(rendered)
    exprs: list[Any] = []
    for i, part in enumerate(parts):
        if i % 2:
            exprs.append(fields[part])
        elif part:
            exprs.append(Value(part))
    if not exprs:
        return Value("")
    if len(exprs) == 1:
        return exprs[0]
    return Concat(*exprs, output_field=TextField())


def _render(kind: str, context: Mapping[str, Any]) -> tuple[str, str]:
    subject = " ".join(render_to_string(f"reminders/{kind}_subject.txt", dict(context)).split())
    body = render_to_string(f"reminders/{kind}_body.txt", dict(context)).strip()
    return subject, body


def _url(url: str) -> str:
    return url.replace(str(REF), _ph("ref"))


@dataclass
class Query:
    """One INSERT the sweep runs (or, in a dry run, counts)."""

    title: str
    scope: str
    due: str
    offset: str
    escalation: bool
    rows: QuerySet  # values: n_recipient, n_kind, n_subject, n_body, n_url, n_key, n_created


_COLUMNS = ("recipient_id", "kind", "subject", "body", "url", "dedupe_key", "created_at")
_ALIASES = ("n_recipient", "n_kind", "n_subject", "n_body", "n_url", "n_key", "n_created")


def _queries(batch: Batch, on: date, now: datetime) -> Iterator[Query]:
    uniform = isinstance(batch.due, date)
    bucket_list = buckets(batch.offsets, on, overdue=batch.overdue or batch.escalate_to is not None)
    if uniform:
        assert isinstance(batch.due, date)
        bucket_list = [b for b in bucket_list if b.holds(batch.due)]
        due_text: Any = Value(batch.due.isoformat())
    else:
        due_text = IsoDate(F("r_due"))
    base = batch.objects.order_by()
    created = Value(now, output_field=DateTimeField())
    context = {**batch.context, "title": batch.title, "scope": batch.scope, "escalated": batch.escalate_to is not None,
               "due": batch.due.isoformat() if uniform else _ph("due")}  # type: ignore[union-attr]

    for bucket in bucket_list:
        if uniform:
            rows_in = base
        elif isinstance(batch.due, DueByRange):
            spans = [span for span in batch.due.spans if bucket.holds(span[2])]
            if not spans:
                continue
            # The bucket as a range of the field itself, not of the CASE: the planner can use the index and
            # estimate the rows (a filter on a CASE is estimated at one row, and the nested loop it then
            # picks walks every account of the city once per studio).
            rows_in = (base.filter(**{f"{batch.due.field}__range": (spans[0][0], spans[-1][1])})
                       .annotate(r_due=_dates_by_range(batch.due.model, batch.due.field, spans))
                       .filter(r_due__isnull=False))
        else:
            rows_in = base.annotate(r_due=F(str(batch.due))).filter(r_due__range=(bucket.first, bucket.last))
        due_label = batch.due.isoformat() if uniform else (  # type: ignore[union-attr]
            f"{bucket.first}～{bucket.last}" if bucket.first != bucket.last else bucket.first.isoformat())
        if bucket.offset is not None or batch.overdue:
            subject, body = _render(batch.kind, {**context, "name": _ph("name"), "offset": bucket.offset,
                                                 "overdue": bucket.offset is None})
            fields = {"name": F("r_name"), "due": due_text, "ref": Cast(F("r_ref"), CharField())}
            key = Concat(Value(f"{KIND_PREFIX}{batch.dedupe_kind}:"), Cast(F("r_obj"), CharField()), Value(":"),
                         due_text, Value(f":{bucket.label}"), output_field=CharField())
            for to in batch.to:
                rows = (to.narrow(rows_in)
                        .annotate(r_recipient=F(to.path), r_obj=F("pk"), r_name=F(batch.name), r_ref=F(batch.ref))
                        .values(n_recipient=F("r_recipient"), n_kind=Value(f"{KIND_PREFIX}{batch.kind}"),
                                n_subject=Left(_text(subject, fields), 200), n_body=_text(body, fields),
                                n_url=Left(_text(_url(batch.url), fields), 300), n_key=key, n_created=created))
                yield Query(batch.title, batch.scope, due_label, bucket.label, False, rows)
        if bucket.offset is None and batch.escalate_to is not None:
            yield _escalation(batch, rows_in, bucket, due_label, uniform, due_text, created)


def _escalation(batch: Batch, rows_in: QuerySet, bucket: Bucket, due_label: str, uniform: bool, due_text: Any,
                created: Value) -> Query:
    """One summary per supervisor (and due date): "N studios in your district have not filed…"."""
    to = batch.escalate_to
    assert to is not None
    context = {**batch.context, "title": batch.title, "scope": batch.scope, "count": _ph("count"),
               "due": batch.due.isoformat() if uniform else _ph("due")}  # type: ignore[union-attr]
    subject, body = _render("escalation", context)
    group = ("r_recipient",) if uniform else ("r_recipient", "r_due")
    fields = {"count": Cast(F("r_count"), CharField()), "due": due_text}
    key = Concat(Value(f"{KIND_PREFIX}{batch.dedupe_kind}:escalated:{batch.scope_key}:"), due_text,
                 Value(":overdue"), output_field=CharField())
    rows = (to.narrow(rows_in).annotate(r_recipient=F(to.path)).values(*group)
            .annotate(r_count=Count("pk", distinct=True))
            .values(n_recipient=F("r_recipient"), n_kind=Value(f"{KIND_PREFIX}{batch.kind}.escalated"),
                    n_subject=Left(_text(subject, fields), 200), n_body=_text(body, fields),
                    n_url=Value(batch.escalation_url), n_key=key, n_created=created))
    return Query(batch.title, batch.scope, due_label, bucket.label, True, rows)


def _insert(rows: QuerySet) -> int:
    """INSERT … SELECT … ON CONFLICT DO NOTHING: rows already sent (same recipient and key) are skipped
    by the unique constraint, whoever inserted them and however often this runs."""
    select_sql, params = rows.query.sql_with_params()
    qn = connection.ops.quote_name
    table = qn(Notification._meta.db_table)
    # Ordered so two concurrent sweeps take the index entries in the same order (no deadlock);
    # "WHERE 1 = 1" keeps SQLite from reading ON CONFLICT as a join's ON.
    sql = (f"INSERT INTO {table} ({', '.join(qn(c) for c in _COLUMNS)}) "
           f"SELECT {', '.join('s.' + qn(a) for a in _ALIASES)} FROM ({select_sql}) s WHERE 1 = 1 "
           f"ORDER BY s.{qn('n_recipient')}, s.{qn('n_key')} ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _unsent(rows: QuerySet) -> QuerySet:
    return rows.filter(~Exists(Notification.objects.filter(recipient_id=OuterRef("n_recipient"),
                                                           dedupe_key=OuterRef("n_key"))))


# --- the sweep -------------------------------------------------------------------------------------

@dataclass
class Line:
    title: str
    scope: str
    due: str
    offset: str
    escalation: bool
    count: int
    samples: list[tuple[str, str]] = field(default_factory=list)  # (recipient, subject), dry runs

    @property
    def label(self) -> str:
        when = _("逾期") if self.offset == "overdue" else _("提前%(n)s天") % {"n": self.offset}
        who = _("（上报督办）") if self.escalation else ""
        return f"{self.title} · {self.scope} · {_('期限')} {self.due} · {when}{who}"


@dataclass
class SweepReport:
    on: date
    dry_run: bool
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    emails_queued: int = 0

    @property
    def sent(self) -> int:
        return sum(line.count for line in self.lines)

    def summary(self) -> dict[str, Any]:
        return {"date": self.on.isoformat(), "dry_run": self.dry_run, "sent": self.sent,
                "escalations": sum(line.count for line in self.lines if line.escalation),
                "closed": len(self.closed), "emails_queued": self.emails_queued,
                "problems": [f"{p.scope}: {p.message}" for p in self.problems]}


def sweep(on: date | None = None, *, dry_run: bool = False, samples: int = 0) -> SweepReport:
    """Send every reminder due on ``on`` (default today) once; run the day's closers first.

    Safe to run any number of times, concurrently, or again after dying halfway: every INSERT
    skips rows already there.  With ``dry_run`` nothing is written and the report says what would be
    sent (rows already sent are not counted); ``samples`` lists that many messages per line.
    """
    on = on or timezone.localdate()
    now = timezone.now()
    report = SweepReport(on, dry_run)
    for close in _closers.values():
        report.closed += close(on, dry_run)
    for name, src in _sources.items():
        try:
            for item in src(on):
                if isinstance(item, Problem):
                    logger.warning("reminders %s: %s: %s", name, item.scope, item.message)
                    report.problems.append(item)
                    continue
                for query in _queries(item, on, now):
                    report.lines.append(_run(query, dry_run, samples))
        except (CalendarDataMissing, PolicyNotFound) as exc:
            report.problems.append(Problem(name, str(exc)))
    if not dry_run:
        report.emails_queued = queue_emails(now)
    return report


def _run(query: Query, dry_run: bool, samples: int) -> Line:
    line = Line(query.title, query.scope, query.due, query.offset, query.escalation, 0)
    if not dry_run:
        line.count = _insert(query.rows)
        return line
    unsent = _unsent(query.rows)
    line.count = unsent.count()
    if samples and line.count:
        from portal.models import User

        picked = list(unsent.values_list("n_recipient", "n_subject")[:samples])
        names = dict(User.objects.filter(pk__in=[r for r, _s in picked]).values_list("pk", "username"))
        line.samples = [(names.get(r, str(r)), s) for r, s in picked]
    return line


def queue_emails(now: datetime | None = None) -> int:
    """Queue an e-mail copy of every recent reminder not yet e-mailed (the outbox is the table)."""
    from portal.tasks import email_notifications

    now = now or timezone.now()
    ids = list(Notification.objects.filter(kind__startswith=KIND_PREFIX, emailed_at__isnull=True,
                                           created_at__gte=now - timedelta(days=EMAIL_RETRY_DAYS),
                                           recipient__is_active=True)
               .exclude(recipient__email="").order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), EMAIL_CHUNK):
        email_notifications.delay(ids[start:start + EMAIL_CHUNK])
    return len(ids)


@shared_task(name="portal.reminders.daily_sweep", bind=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=60, retry_kwargs={"max_retries": 5})
def daily_sweep(self: Any, on: str | None = None) -> dict[str, Any]:
    """The beat's daily job (and `manage.py send_reminders`): a retry after a lost connection or a
    deadlock simply runs again, the unique constraint skipping what the first attempt sent."""
    return sweep(date.fromisoformat(on) if on else None).summary()


__all__ = [
    "EMAIL_RETRY_DAYS", "OVERDUE_WINDOW_DAYS", "REF", "Batch", "Bucket", "DueByRange", "Line", "PolicyGroup",
    "Problem", "SweepReport", "To", "add_months", "buckets", "by_policy", "closer", "daily_sweep", "fixed_due",
    "months_after_ranges", "per_group", "queue_emails", "reach", "source", "sweep",
]
