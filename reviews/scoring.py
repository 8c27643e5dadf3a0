"""Aggregating expert scores into a ranked list with a cut-off and a backup list."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

TRIM_FROM = 5  # with five or more scores the highest and the lowest are dropped (bureau practice)


def aggregate(scores: Sequence[Decimal]) -> Decimal:
    """Mean of the scores; with ≥5 scores, drop one highest and one lowest first."""
    if not scores:
        raise ValueError("no scores")
    values = sorted(scores)
    if len(values) >= TRIM_FROM:
        values = values[1:-1]
    mean = sum(values, Decimal(0)) / len(values)
    return mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Ranked:
    application_id: int
    score: Decimal
    rank: int
    selected: bool  # within the cut-off; the rest form the backup list in rank order


def rank(totals: dict[int, Decimal], cutoff: int | None, tie_break: dict[int, object] | None = None) -> list[Ranked]:
    """Rank by score (highest first); equal scores keep the earlier submission first."""
    tie_break = tie_break or {}
    order = sorted(totals, key=lambda pk: (-totals[pk], tie_break.get(pk, pk), pk))
    limit = len(order) if cutoff is None else cutoff
    return [Ranked(pk, totals[pk], i + 1, i < limit) for i, pk in enumerate(order)]
