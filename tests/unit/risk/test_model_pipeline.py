"""Training, artifacts and scoring of the credit model on a small synthetic data set."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mobilend.risk.model import (
    MAX_REASONS,
    FeatureValueError,
    ModelArtifactError,
    ModelTamperedError,
    ModelVersionError,
    TargetError,
    TrainingConfig,
    ensure_default_model,
    load_model,
    save_model,
    train_model,
)
from mobilend.risk.model.blend import cross_fitted_logits, fit_blend_weights
from mobilend.risk.model.candidates import CandidateKind, LightGbmParams, TunedLightGbmParams
from mobilend.risk.model.selection import select_candidate
from mobilend.risk.model.synthetic import synthetic_applications
from mobilend.risk.model.training import (
    CandidateCv,
    SelectionRule,
    _select,
    corrected_standard_error,
)

FAST = dict(
    folds=3,
    repeats=1,
    n_jobs=1,
    lightgbm=LightGbmParams(n_estimators=40, min_data_in_leaf=20),
    lightgbm_tuned=TunedLightGbmParams(leaf_counts=(4, 8), max_rounds=300, patience=30),
)
K = CandidateKind
SERVED = ["scorecard", "lightgbm", "logistic", "lightgbm_tuned", "blend"]
FEATURES = ["income", "age", "debt_ratio", "home", "job", "noise"]


@pytest.fixture(scope="module")
def applications() -> pd.DataFrame:
    return synthetic_applications(n=700, seed=11)


@pytest.fixture(scope="module")
def artifacts(applications, tmp_path_factory) -> dict[str, Path]:
    """One artifact per candidate kind, plus one where two compete."""
    root = tmp_path_factory.mktemp("models")
    out: dict[str, Path] = {}
    for name, candidates in {
        "scorecard": (K.SCORECARD,),
        "lightgbm": (K.LIGHTGBM,),
        "logistic": (K.LOGISTIC,),
        "lightgbm_tuned": (K.LIGHTGBM_TUNED,),
        "both": (K.SCORECARD, K.LIGHTGBM),
    }.items():
        trained = train_model(
            applications, "outcome", "app_id", config=TrainingConfig(candidates=candidates, **FAST)
        )
        out[name] = save_model(trained, root / name)
    # A blend artifact whatever the selection would choose: its serving path is under test.
    trained = train_model(
        applications, "outcome", "app_id", config=TrainingConfig(**FAST), keep_candidates=True
    )
    blend = dataclasses.replace(trained, fitted=trained.refitted[K.BLEND])
    out["blend"] = save_model(blend, root / "blend")
    return out


def scoring_rows(applications: pd.DataFrame) -> pd.DataFrame:
    """Training rows plus awkward ones: unseen category, all missing, numbers as text."""
    rows = applications.head(150).copy()
    extra = pd.DataFrame(
        [
            {
                "app_id": "X1",
                "income": 5000,
                "age": 30,
                "debt_ratio": 0.9,
                "home": "boat",
                "job": "astronaut",
                "noise": 0.1,
            },
            {
                "app_id": "X2",
                "income": None,
                "age": None,
                "debt_ratio": None,
                "home": None,
                "job": None,
                "noise": None,
            },
            {
                "app_id": "X3",
                "income": "12000",
                "age": "44",
                "debt_ratio": "0.05",
                "home": "own",
                "job": "fixed",
                "noise": "-1.5",
            },
        ]
    )
    return pd.concat([rows, extra], ignore_index=True)


@pytest.mark.parametrize("kind", SERVED)
def test_score_one_equals_batch_scoring(artifacts, applications, kind):
    model = load_model(artifacts[kind])
    assert model.kind.value == kind
    frame = scoring_rows(applications)
    batch = model.score_frame(frame)
    for i, record in enumerate(frame[FEATURES].to_dict("records")):
        one = model.score_one(record)
        assert math.isclose(one.pd, batch["pd"].iloc[i], rel_tol=0, abs_tol=1e-9)
        assert one.score == batch["score"].iloc[i]
        codes = [r.code for r in one.reasons]
        assert codes + [""] * (MAX_REASONS - len(codes)) == [
            batch[f"reason_{k}"].iloc[i] for k in range(1, MAX_REASONS + 1)
        ]
    assert ((batch["pd"] > 0) & (batch["pd"] < 1)).all()


@pytest.mark.parametrize("kind", SERVED)
def test_score_one_builds_no_dataframe(artifacts, applications, kind, monkeypatch):
    model = load_model(artifacts[kind])
    record = applications[FEATURES].iloc[3].to_dict()
    expected = model.score_one(record)

    def refuse(*_args, **_kwargs):
        raise AssertionError("pandas object built while scoring one application")

    monkeypatch.setattr(pd.DataFrame, "__init__", refuse)
    monkeypatch.setattr(pd.Series, "__init__", refuse)
    assert model.score_one(record) == expected


@pytest.mark.parametrize("kind", SERVED)
def test_reasons_are_at_most_four_with_chinese_and_english_text(artifacts, applications, kind):
    model = load_model(artifacts[kind])
    riskiest = applications.assign(dr=applications["debt_ratio"]).nlargest(20, "dr")
    seen_four = False
    for record in riskiest[FEATURES].to_dict("records"):
        result = model.score_one(record)
        assert len(result.reasons) <= MAX_REASONS
        seen_four |= len(result.reasons) == MAX_REASONS
        points = [r.points for r in result.reasons]
        assert points == sorted(points, reverse=True) and all(p > 0 for p in points)
        for reason in result.reasons:
            assert reason.code.startswith("R_") and reason.feature in FEATURES
            assert any("\u4e00" <= ch <= "\u9fff" for ch in reason.text_zh)
            assert reason.text_en.isascii() and reason.text_en
            if reason.code in {"R_DEBT_RATIO", "R_NOISE"}:  # no packaged text: generic one
                assert reason.feature in reason.text_zh and reason.feature in reason.text_en
    assert seen_four


def test_a_worse_applicant_gets_a_higher_pd_and_lower_score(artifacts):
    model = load_model(artifacts["scorecard"])
    good = model.score_one(
        {"income": 20000, "age": 55, "debt_ratio": 0.05, "home": "own", "job": "fixed"}
    )
    bad = model.score_one(
        {"income": 1500, "age": 20, "debt_ratio": 0.8, "home": "other", "job": "none"}
    )
    assert bad.pd > good.pd and bad.score < good.score
    assert {r.code for r in bad.reasons} & {"R_INCOME", "R_DEBT_RATIO", "R_JOB"}


def test_bad_numeric_input_is_refused_and_absent_keys_are_missing(artifacts):
    model = load_model(artifacts["scorecard"])
    with pytest.raises(FeatureValueError, match="income"):
        model.score_one({"income": "a lot"})
    assert 0 < model.score_one({}).pd < 1


def test_manifest_records_data_hash_versions_cv_and_file_hashes(artifacts, applications):
    directory = artifacts["both"]
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    assert manifest["training_data"]["rows"] == len(applications)
    assert len(manifest["training_data"]["sha256"]) == 64
    assert {f["name"]: f["kind"] for f in manifest["features"]} == {
        "income": "numeric",
        "age": "numeric",
        "debt_ratio": "numeric",
        "home": "categorical",
        "job": "categorical",
        "noise": "numeric",
    }
    home = next(f for f in manifest["features"] if f["name"] == "home")
    assert home["categories"] == ["other", "own", "parents", "rent"]
    assert {"numpy", "pandas", "scikit-learn", "lightgbm", "optbinning"} <= set(
        manifest["libraries"]
    )
    candidates = manifest["cross_validation"]["candidates"]
    assert set(candidates) == {"scorecard", "lightgbm"}
    assert all(len(c["fold_aucs"]) == 3 and 0.5 < c["auc_mean"] <= 1 for c in candidates.values())
    assert manifest["chosen_model"] == manifest["selection"]["chosen"]
    assert manifest["target"]["labels"] == {"good": "good", "bad": "bad"}
    assert sum(manifest["score_bins"]["expected"]) == pytest.approx(1.0)
    assert manifest["scaling"]["pdo"] == 20 and manifest["scaling"]["base_score"] == 600
    assert [r["code"] for r in manifest["reason_codes"]] == [
        "R_INCOME",
        "R_AGE",
        "R_DEBT_RATIO",
        "R_HOME",
        "R_JOB",
        "R_NOISE",
    ]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    manifest_hash = hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()
    assert load_model(directory).version == manifest_hash


def test_round_trip_reproduces_the_trained_model(artifacts, applications):
    model = load_model(artifacts["scorecard"])
    again = load_model(artifacts["scorecard"])
    record = applications[FEATURES].iloc[0].to_dict()
    assert model.score_one(record) == again.score_one(record)
    training_scores = model.score_frame(applications, with_reasons=False)["score"]
    assert model.psi(training_scores) == pytest.approx(0.0, abs=1e-12)


def copy_artifact(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "copy"))


@pytest.mark.parametrize("name", ["pipeline.joblib", "scorecard_tables.json", "manifest.json"])
def test_a_changed_file_is_refused(artifacts, tmp_path, name):
    directory = copy_artifact(artifacts["scorecard"], tmp_path)
    data = bytearray((directory / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (directory / name).write_bytes(bytes(data))
    with pytest.raises(ModelTamperedError, match=name.replace(".", r"\.")):
        load_model(directory)


def test_a_changed_lightgbm_model_text_is_refused(artifacts, tmp_path):
    directory = copy_artifact(artifacts["lightgbm"], tmp_path)
    path = directory / "lightgbm_model.txt"
    path.write_text(path.read_text().replace("learning_rate: 0.03", "learning_rate: 0.3", 1))
    with pytest.raises(ModelTamperedError, match="changed after training"):
        load_model(directory)


def test_a_missing_file_or_directory_is_refused(artifacts, tmp_path):
    directory = copy_artifact(artifacts["scorecard"], tmp_path)
    (directory / "scorecard_tables.json").unlink()
    with pytest.raises(ModelArtifactError, match="missing"):
        load_model(directory)
    with pytest.raises(ModelArtifactError, match="not a model artifact"):
        load_model(tmp_path / "nowhere")


def test_pipeline_swapped_after_load_is_refused_at_first_batch(artifacts, applications, tmp_path):
    directory = copy_artifact(artifacts["scorecard"], tmp_path)
    model = load_model(directory)
    shutil.copyfile(artifacts["lightgbm"] / "pipeline.joblib", directory / "pipeline.joblib")
    with pytest.raises(ModelTamperedError, match=r"pipeline\.joblib"):
        model.score_frame(applications.head(5))


def test_other_library_versions_are_refused(artifacts, tmp_path):
    directory = copy_artifact(artifacts["lightgbm"], tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    manifest["libraries"]["lightgbm"] = "3.3.5"
    data = json.dumps(manifest, indent=2).encode("utf-8")
    (directory / "manifest.json").write_bytes(data)
    (directory / "manifest.sha256").write_text(hashlib.sha256(data).hexdigest())
    with pytest.raises(ModelVersionError, match=r"lightgbm 3\.3\.5 at training"):
        load_model(directory)
    assert 0 < load_model(directory, check_versions=False).score_one({}).pd < 1


def test_existing_artifact_is_not_overwritten_by_default(artifacts, applications):
    trained = train_model(
        applications,
        "outcome",
        "app_id",
        config=TrainingConfig(candidates=(CandidateKind.SCORECARD,), **FAST),
    )
    with pytest.raises(FileExistsError):
        save_model(trained, artifacts["scorecard"])


def test_custom_labels_need_the_good_label():
    frame = synthetic_applications(n=300, seed=5, good="paid", bad="default")
    config = TrainingConfig(candidates=(CandidateKind.SCORECARD,), **FAST)
    with pytest.raises(TargetError, match="good_label"):
        train_model(frame, "outcome", "app_id", config=config)
    trained = train_model(frame, "outcome", "app_id", good_label="paid", config=config)
    assert (trained.labels.good, trained.labels.bad) == ("paid", "default")
    assert trained.training_bad_rate == pytest.approx((frame["outcome"] == "default").mean())


def test_selection_keeps_the_scorecard_unless_lightgbm_is_clearly_better():
    def cv(kind, aucs):
        return CandidateCv(kind, tuple(aucs), float(np.mean(aucs)), 0.0)

    base = [0.78, 0.80, 0.76, 0.79, 0.77]
    sc = cv(CandidateKind.SCORECARD, base)
    slightly = cv(
        CandidateKind.LIGHTGBM,
        [a + d for a, d in zip(base, [0.01, -0.005, 0.012, 0.0, 0.004], strict=True)],
    )
    clearly = cv(
        CandidateKind.LIGHTGBM,
        [a + d for a, d in zip(base, [0.03, 0.025, 0.028, 0.032, 0.027], strict=True)],
    )
    pair = {CandidateKind.SCORECARD: sc}
    assert (
        _select(pair | {CandidateKind.LIGHTGBM: slightly}, SelectionRule.ONE_SE, 5, 0.01).chosen
        is CandidateKind.SCORECARD
    )
    assert (
        _select(pair | {CandidateKind.LIGHTGBM: slightly}, SelectionRule.MAX_AUC, 5, 0.01).chosen
        is CandidateKind.LIGHTGBM
    )
    assert (
        _select(pair | {CandidateKind.LIGHTGBM: clearly}, SelectionRule.ONE_SE, 5, 0.01).chosen
        is CandidateKind.LIGHTGBM
    )
    differences = np.array([0.01, -0.005, 0.012, 0.0, 0.004])
    naive = differences.std(ddof=1) / math.sqrt(5)
    assert corrected_standard_error(differences, folds=5) == pytest.approx(
        naive * math.sqrt(1 + 5 / 4)
    )


def test_ensure_default_model_trains_once_then_verifies(tmp_path):
    source = Path(__file__).resolve().parents[3] / "data" / "credit_data.csv"
    data = tmp_path / "credit_data.csv"
    pd.read_csv(source, dtype=str, keep_default_na=False).head(600).to_csv(data, index=False)
    model_dir = tmp_path / "var" / "models" / "default"
    config = TrainingConfig(candidates=(CandidateKind.SCORECARD,), **FAST)
    assert ensure_default_model(model_dir, data, config) == model_dir
    stamp = (model_dir / "manifest.json").stat().st_mtime_ns
    assert ensure_default_model(model_dir, data, config) == model_dir
    assert (model_dir / "manifest.json").stat().st_mtime_ns == stamp
    model = load_model(model_dir)
    assert model.manifest["target"]["column"] == "Status"
    assert "rownames" not in model.feature_names
    (model_dir / "pipeline.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelTamperedError):
        ensure_default_model(model_dir, data, config)


def cv_of(kind: CandidateKind, aucs) -> CandidateCv:
    return CandidateCv(kind, tuple(aucs), float(np.mean(aucs)), 0.0)


BASE_FOLDS = np.array([0.78, 0.80, 0.76, 0.79, 0.77, 0.81, 0.75, 0.78, 0.80, 0.77])


def shifted(kind: CandidateKind, deltas) -> CandidateCv:
    return cv_of(kind, BASE_FOLDS + np.asarray(deltas))


def test_one_se_rule_keeps_the_simplest_candidate_within_one_standard_error():
    noise = np.array([0.004, -0.006, 0.003, -0.002, 0.005, -0.004, 0.002, -0.003, 0.001, 0.0])
    cv = {
        K.LOGISTIC: shifted(K.LOGISTIC, noise),  # 0.0 on average: within noise of the best
        K.SCORECARD: shifted(K.SCORECARD, 0.001 + noise[::-1]),
        K.LIGHTGBM: shifted(K.LIGHTGBM, np.full(10, 0.002)),  # best, by a little
    }
    selection = select_candidate(cv, SelectionRule.ONE_SE, folds=5)
    assert selection.best is K.LIGHTGBM and selection.chosen is K.LOGISTIC
    shortfall = {c.kind: c for c in selection.comparisons}[K.LOGISTIC]
    assert 0 < shortfall.shortfall <= shortfall.standard_error
    assert select_candidate(cv, SelectionRule.MAX_AUC, folds=5).chosen is K.LIGHTGBM
    # Logistic now clearly worse (> 1 SE), the scorecard still within: the scorecard.
    cv[K.LOGISTIC] = shifted(K.LOGISTIC, np.full(10, -0.03) + noise)
    selection = select_candidate(cv, SelectionRule.ONE_SE, folds=5)
    assert selection.chosen is K.SCORECARD
    # Both simple ones clearly worse: the best is kept, and the reason says why.
    cv[K.SCORECARD] = shifted(K.SCORECARD, np.full(10, -0.02) + noise)
    selection = select_candidate(cv, SelectionRule.ONE_SE, folds=5)
    assert selection.chosen is K.LIGHTGBM and "more than one SE below" in selection.explanation


def test_the_blend_is_chosen_only_when_it_wins():
    noise = 3 * np.array([0.003, -0.004, 0.002, -0.001, 0.004, -0.003, 0.001, -0.002, 0.0, 0.0])
    singles = {
        K.LOGISTIC: shifted(K.LOGISTIC, noise),
        K.LIGHTGBM: shifted(K.LIGHTGBM, 0.002 - noise),
    }
    wins = singles | {K.BLEND: shifted(K.BLEND, np.full(10, 0.03))}
    assert select_candidate(wins, SelectionRule.ONE_SE, folds=5).chosen is K.BLEND
    within_noise = singles | {K.BLEND: shifted(K.BLEND, np.full(10, 0.004))}
    selection = select_candidate(within_noise, SelectionRule.ONE_SE, folds=5)
    assert selection.best is K.BLEND and selection.chosen is K.LOGISTIC
    loses = singles | {K.BLEND: shifted(K.BLEND, np.full(10, -0.001))}
    for rule in SelectionRule:
        assert select_candidate(loses, rule, folds=5).chosen is not K.BLEND


def test_blend_weights_are_non_negative_and_cross_fitting_hides_each_fold_label():
    rng = np.random.default_rng(3)
    n = 600
    y = (rng.random(n) < 0.3).astype(int)
    signal = y * 1.2 + rng.normal(size=n)
    members = np.column_stack(
        [signal + rng.normal(scale=0.5, size=n), -signal + rng.normal(scale=0.5, size=n)]
    )
    kinds = (K.LOGISTIC, K.LIGHTGBM)
    weights = fit_blend_weights(members, y, kinds)
    # The member that ranks backwards would need a negative weight: it gets none.
    assert weights.weights[0] > 0.5 and weights.weights[1] == 0.0
    folds = np.arange(n) % 3
    blended = cross_fitted_logits(members, y, folds, kinds)
    flipped = y.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]
    again = cross_fitted_logits(members, flipped, folds, kinds)
    # Fold 0's outputs do not depend on fold 0's labels; the other folds' do.
    np.testing.assert_array_equal(blended[folds == 0], again[folds == 0])
    assert not np.allclose(blended[folds == 1], again[folds == 1])


def test_training_scores_every_candidate_on_the_same_folds_and_records_the_choice(artifacts):
    manifest = json.loads((artifacts["blend"] / "manifest.json").read_text("utf-8"))
    candidates = manifest["cross_validation"]["candidates"]
    assert set(candidates) == {"logistic", "scorecard", "lightgbm", "lightgbm_tuned", "blend"}
    assert {len(c["fold_aucs"]) for c in candidates.values()} == {3}
    against = manifest["selection"]["against_best"]
    assert against[manifest["selection"]["best_mean_auc"]]["auc_below_best"] == 0.0
    blend = manifest["blend"]
    assert blend["members"] == ["logistic", "scorecard", "lightgbm", "lightgbm_tuned"]
    assert all(w >= 0 for w in blend["weights"]) and sum(blend["weights"]) > 0
    assert {"blend.json", "logistic_tables.json", "lightgbm_tuned_model.txt"} <= set(
        manifest["files"]
    )
    tuned = json.loads((artifacts["lightgbm_tuned"] / "manifest.json").read_text("utf-8"))
    assert tuned["tuning"]["num_leaves"] in (4, 8) and 1 <= tuned["tuning"]["rounds"] <= 375
