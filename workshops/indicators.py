"""A studio's yearly indicators against its city's minima (policy training.indicators).

One aggregate query per studio-year: the ledger is counted in the database, grouped by kind, level
and whether the certificate is new, then each indicator reads the counts it names.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from portal.models import SkillLevel
from workshops.models import Studio, StudioRecord


@dataclass(frozen=True)
class IndicatorResult:
    code: str
    label: str
    unit: str
    value: Decimal
    minimum: int | None
    maximum: int | None
    article: str

    @property
    def met(self) -> bool:
        return self.minimum is None or self.value >= self.minimum

    @property
    def over(self) -> bool:
        return self.maximum is not None and self.value > self.maximum


def _level_at_least(level: int | None, code: str | None) -> bool:
    return code is None or (level is not None and level >= SkillLevel.from_code(code))


def yearly_indicators(studio: Studio, year: int) -> list[IndicatorResult]:
    rows = (StudioRecord.objects.filter(studio=studio, date__year=year)
            .values("kind", "level", "is_new_certificate").annotate(n=Count("id")))
    counts: Counter[tuple[str, int | None, bool]] = Counter()
    for row in rows:
        counts[(row["kind"], row["level"], row["is_new_certificate"])] += row["n"]
    indicators = studio.policy.training.indicators
    by_code = {i.code: i for i in indicators}
    results = []
    for ind in indicators:
        if ind.unit == "percent":
            # 郑州 第九条(一): newly certified people at the level, as a share of the category's minimum.
            base = by_code[ind.part_of]
            base_min = base.minimum_for(studio.category or None) or 0
            newly = sum(n for (kind, level, new), n in counts.items()
                        if kind in base.counts and new and _level_at_least(level, ind.level))
            value = (Decimal(newly * 100) / base_min).quantize(Decimal("0.1")) if base_min else Decimal(0)
        else:
            value = Decimal(sum(n for (kind, level, _new), n in counts.items()
                                if kind in ind.counts and _level_at_least(level, ind.level)))
        results.append(IndicatorResult(ind.code, ind.label, ind.unit, value, ind.minimum_for(studio.category or None),
                                       ind.maximum, ind.article))
    return results
