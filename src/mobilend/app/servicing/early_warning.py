"""Early warning: a behaviour score from repayment history, and the loans likely to roll.

The score is a transparent points scorecard (0–1000, higher is riskier) over signals a
collections team reads directly: days past due now and at worst, installments paid late
and by how much on average, installments partly paid and still open, auto-debits that
failed recently, and adverse changes at the credit bureau. Each signal is capped, so no
single one runs away with the score.

A loan is flagged *roll risk* when its score reaches the threshold and it would enter the
next delinquency bucket within the horizon if nothing is paid: a current loan rolls to M1
the day after its next unpaid due date; an overdue one at the next 30-day boundary.

End of day computes this set-based in SQL for every active loan (see
``adapters/db/servicing_scores.py``); ``behaviour_score`` here is the reference the SQL is
tested against, and what a line review uses for one loan.
"""

from __future__ import annotations

from dataclasses import dataclass

from mobilend.app.servicing.settings import EarlyWarningWeights
from mobilend.domain.delinquency import DEFAULT_BUCKETS, BucketTable


@dataclass(frozen=True, slots=True)
class BehaviourSignals:
    dpd: int
    max_dpd: int
    late_installments: int  # installments settled after their due date
    avg_days_late: int  # over those, rounded down
    partial_installments: int  # due, not settled, partly paid
    failed_debits: int  # in the look-back window
    bureau_events: int  # in the look-back window
    #: Days until the loan enters the next bucket if nothing is paid (None: never, e.g.
    #: nothing left to fall due).
    days_to_roll: int | None


@dataclass(frozen=True, slots=True)
class BehaviourScore:
    score: int
    band: str
    roll_risk: bool
    bucket: str
    next_bucket: str


def behaviour_score(
    signals: BehaviourSignals,
    weights: EarlyWarningWeights | None = None,
    buckets: BucketTable = DEFAULT_BUCKETS,
) -> BehaviourScore:
    w = weights or EarlyWarningWeights()
    points = (
        w.per_dpd * min(signals.dpd, w.dpd_cap)
        + w.per_max_dpd * min(signals.max_dpd, w.max_dpd_cap)
        + w.per_late_installment * min(signals.late_installments, w.late_installments_cap)
        + w.per_avg_day_late * min(signals.avg_days_late, w.avg_days_late_cap)
        + w.per_partial_installment * min(signals.partial_installments, w.partial_installments_cap)
        + w.per_failed_debit * min(signals.failed_debits, w.failed_debits_cap)
        + w.per_bureau_event * min(signals.bureau_events, w.bureau_events_cap)
    )
    score = min(points, 1000)
    band = "ABCDE"[sum(1 for bound in w.bands if score >= bound)]
    bucket = buckets.bucket_for(signals.dpd)
    rank = buckets.rank(bucket.code)
    next_bucket = buckets.codes[min(rank + 1, len(buckets.codes) - 1)]
    near = signals.days_to_roll is not None and signals.days_to_roll <= w.horizon_days
    return BehaviourScore(
        score=score,
        band=band,
        roll_risk=score >= w.threshold and near and next_bucket != bucket.code,
        bucket=bucket.code,
        next_bucket=next_bucket,
    )


def days_to_roll(dpd: int, next_unpaid_due_in: int | None) -> int | None:
    """Days until the next bucket with the default 30-day buckets: a current loan rolls the
    day after its next unpaid due date (``next_unpaid_due_in`` days away); an overdue one
    when its days past due reach the next multiple of 30 plus one."""
    if dpd > 0:
        if dpd > 180:
            return None
        return (dpd + 29) // 30 * 30 + 1 - dpd
    if next_unpaid_due_in is None:
        return None
    return next_unpaid_due_in + 1
