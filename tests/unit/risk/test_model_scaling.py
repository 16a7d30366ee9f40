"""Score scaling, PSI, calibration and reason-code rules of the credit model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mobilend.risk.model.calibration import CalibrationMethod, fit_calibration
from mobilend.risk.model.reasons import (
    MAX_REASONS,
    build_reason_map,
    reason_code_for,
    reason_codes_for,
    top_reason_codes,
    top_reasons,
)
from mobilend.risk.model.scaling import (
    ScoreBins,
    ScoreScaling,
    population_stability_index,
    score_bins_from_scores,
)


def pd_from_odds(good_to_bad: float) -> float:
    return 1.0 / (1.0 + good_to_bad)


@pytest.mark.parametrize("pdo,base_score,base_odds", [(20, 600, 50), (40, 500, 20), (15, 660, 72)])
def test_base_odds_give_base_score_and_doubling_adds_pdo(pdo, base_score, base_odds):
    scaling = ScoreScaling(pdo=pdo, base_score=base_score, base_odds=base_odds)
    assert scaling.raw_score(pd_from_odds(base_odds)) == pytest.approx(base_score, abs=1e-9)
    for odds in (2.0, 7.5, base_odds, 300.0):
        lower = scaling.raw_score(pd_from_odds(odds))
        higher = scaling.raw_score(pd_from_odds(2 * odds))
        assert higher - lower == pytest.approx(pdo, abs=1e-9)


def test_factor_and_offset_follow_the_formula():
    scaling = ScoreScaling(pdo=20, base_score=600, base_odds=50)
    assert scaling.factor == pytest.approx(20 / math.log(2))
    assert scaling.offset == pytest.approx(600 - 20 / math.log(2) * math.log(50))


def test_pd_at_inverts_the_raw_score():
    scaling = ScoreScaling()
    for pd in (0.001, 0.02, 0.3, 0.77):
        assert scaling.pd_at(scaling.raw_score(pd)) == pytest.approx(pd, rel=1e-12)


def test_integer_score_rounds_half_up_and_is_clipped():
    scaling = ScoreScaling(min_score=300, max_score=900)
    assert scaling.score(scaling.pd_at(599.5)) == 600
    assert scaling.score(scaling.pd_at(599.4999)) == 599
    assert scaling.score(1e-12) == 900
    assert scaling.score(1 - 1e-12) == 300
    pds = np.array([scaling.pd_at(s) for s in (250.0, 480.2, 512.5, 950.0)])
    assert scaling.scores(pds).tolist() == [300, 480, 513, 900]


def test_scaling_refuses_nonsense():
    with pytest.raises(ValueError):
        ScoreScaling(pdo=0)
    with pytest.raises(ValueError):
        ScoreScaling(min_score=900, max_score=300)


def test_psi_of_identical_distributions_is_about_zero():
    rng = np.random.default_rng(1)
    reference = rng.normal(600, 50, size=20_000).round()
    bins = score_bins_from_scores(reference)
    assert sum(bins.expected) == pytest.approx(1.0)
    assert population_stability_index(bins, reference) == pytest.approx(0.0, abs=1e-12)
    same_population = rng.normal(600, 50, size=20_000).round()
    assert population_stability_index(bins, same_population) < 0.01


def test_psi_grows_with_a_shift():
    rng = np.random.default_rng(2)
    bins = score_bins_from_scores(rng.normal(600, 50, size=10_000))
    small = population_stability_index(bins, rng.normal(610, 50, size=10_000))
    large = population_stability_index(bins, rng.normal(660, 50, size=10_000))
    assert 0 < small < 0.1
    assert large > 0.25


def test_psi_matches_the_textbook_sum():
    bins = ScoreBins(edges=(500.0, 600.0), expected=(0.2, 0.5, 0.3))
    actual = [450, 550, 550, 650, 650, 650, 650, 650, 650, 650]  # shares 0.1, 0.2, 0.7
    expected = sum(
        (a - e) * math.log(a / e) for a, e in zip((0.1, 0.2, 0.7), (0.2, 0.5, 0.3), strict=True)
    )
    assert population_stability_index(bins, actual) == pytest.approx(expected)
    # A score equal to an edge belongs to the bin that starts there.
    assert bins.shares([500.0]).tolist() == [0.0, 1.0, 0.0]


def test_platt_calibration_keeps_the_ranking():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))).astype(int)
    calibration = fit_calibration(logits, y, CalibrationMethod.PLATT)
    assert calibration.method is CalibrationMethod.PLATT
    pds = calibration.pds(logits)
    assert np.all(np.diff(pds[np.argsort(logits)]) >= 0)
    # The model was over-confident (true slope 0.5): calibration must shrink it.
    assert 0.3 < calibration.slope < 0.7
    assert abs(pds.mean() - y.mean()) < 0.01
    assert calibration.pd(float(logits[0])) == pytest.approx(pds[0], abs=1e-15)


def test_isotonic_calibration_matches_single_and_batch():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=500)
    y = (rng.random(500) < 1 / (1 + np.exp(-logits))).astype(int)
    calibration = fit_calibration(logits, y, CalibrationMethod.ISOTONIC)
    batch = calibration.pds(logits[:50])
    assert [calibration.pd(float(z)) for z in logits[:50]] == pytest.approx(batch.tolist())
    assert np.all((batch >= 0) & (batch <= 1))


def test_reason_codes_are_stable_upper_snake_case():
    assert reason_code_for("status_of_existing_checking_account") == (
        "R_STATUS_OF_EXISTING_CHECKING_ACCOUNT"
    )
    assert reason_code_for("Income") == "R_INCOME"
    assert reason_code_for("debt ratio (%)") == "R_DEBT_RATIO"
    chinese = reason_code_for("月收入")
    assert chinese.startswith("R_F_") and chinese == reason_code_for("月收入")
    codes = reason_codes_for(["debt-ratio", "debt_ratio", "age"])
    assert codes["age"] == "R_AGE"
    assert len(set(codes.values())) == 3


def test_reason_map_uses_packaged_texts_then_a_generic_fallback():
    reason_map = build_reason_map(["Income", "mystery_column"])
    assert reason_map["Income"].zh == "收入偏低或未提供"
    assert reason_map["Income"].en == "Income low or not provided"
    assert reason_map["mystery_column"].zh == "特征“mystery_column”不利"
    assert reason_map["mystery_column"].en == "feature mystery_column unfavourable"


def test_top_reasons_keep_at_most_four_adverse_factors_largest_first():
    names = [f"f{i}" for i in range(7)]
    texts = list(build_reason_map(names).values())
    points = [3.0, -2.0, 9.0, 0.0, 5.0, 5.0, 1.0]
    reasons = top_reasons(points, texts)
    assert [r.feature for r in reasons] == ["f2", "f4", "f5", "f0"]
    assert len(reasons) == MAX_REASONS
    assert reasons[0].points == 9.0
    assert top_reasons([-1.0, 0.0, -3.0, 0.0, -1.0, -1.0, -1.0], texts) == []
    batch = top_reason_codes(
        np.array([points, [0.0, 0.0, 2.0, 0, 0, 0, 0]]), [t.code for t in texts]
    )
    assert batch == [[r.code for r in reasons], ["R_F2"]]
