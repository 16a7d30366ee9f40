"""Tree and scorecard candidates: a WoE/logistic scorecard (optbinning) and LightGBM,
either with fixed settings or tuned by early stopping on an inner validation split.

Each fitted candidate gives raw log-odds of bad for a batch (pandas is fine here) and
per-feature adverse contributions for reason codes. The scorecard also exports its WoE
tables, which is what online scoring uses (see ``scoring.py``). The plain logistic
regression lives in ``linear.py``, the blend of several candidates in ``blend.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.features import FeatureKind, FeatureSpec, RowEncoder, model_frame
from mobilend.risk.model.kinds import BASE_KINDS, COMPLEXITY, CandidateKind
from mobilend.risk.model.linear import FittedLogistic, LogisticParams, fit_logistic

__all__ = [
    "BASE_KINDS",
    "COMPLEXITY",
    "CandidateKind",
    "FittedBase",
    "FittedLightGbm",
    "FittedLogistic",
    "FittedScorecard",
    "LightGbmParams",
    "LogisticParams",
    "ScorecardParams",
    "TunedLightGbmParams",
    "fit_lightgbm",
    "fit_logistic",
    "fit_scorecard",
    "fit_tuned_lightgbm",
    "scorecard_best_points",
]

# Stands for "a category not seen in training" when reading the binning tables.
_UNSEEN_CATEGORY = "\x00unseen\x00"


@dataclass(frozen=True, slots=True)
class ScorecardParams:
    """Binning and regression settings. ``c`` is the inverse L2 strength of the regression."""

    c: float = 0.1
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05
    max_n_bins: int | None = None
    min_iv: float = 0.0


@dataclass(frozen=True, slots=True)
class LightGbmParams:
    """Deliberately small, regularised trees: application data sets are small and noisy."""

    n_estimators: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 8
    min_data_in_leaf: int = 30
    feature_fraction: float = 0.7
    bagging_fraction: float = 0.8
    lambda_l2: float = 5.0
    cat_smooth: float = 20.0
    min_data_per_group: int = 30
    max_cat_to_onehot: int = 8

    def booster_params(self, seed: int, n_jobs: int) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "cat_smooth": self.cat_smooth,
            "min_data_per_group": self.min_data_per_group,
            "max_cat_to_onehot": self.max_cat_to_onehot,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": n_jobs,
            "verbose": -1,
        }


@dataclass(frozen=True, slots=True)
class TunedLightGbmParams:
    """LightGBM whose size is found on the data: for each leaf count, boosting stops once
    the log-loss on an inner validation split (``valid_share`` of the training rows) has
    not improved for ``patience`` rounds; the best leaf count and round are then refitted
    on all training rows, with the rounds scaled up by 1 / (1 − valid_share)."""

    learning_rate: float = 0.05
    leaf_counts: tuple[int, ...] = (4, 8, 16)
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_rounds: int = 2000
    patience: int = 100
    valid_share: float = 0.2

    def for_leaves(self, leaves: int) -> LightGbmParams:
        return LightGbmParams(
            learning_rate=self.learning_rate,
            num_leaves=leaves,
            min_data_in_leaf=self.min_data_in_leaf,
            feature_fraction=self.feature_fraction,
            bagging_fraction=self.bagging_fraction,
            lambda_l2=self.lambda_l2,
        )


def scorecard_best_points(tables: dict[str, Any]) -> np.ndarray:
    """Per feature, the points (log-odds of bad) of its most favourable bin."""
    best: list[float] = []
    for entry in tables["features"]:
        coef = float(entry["coef"])
        best.append(min(coef * float(w) for w in entry["woe"]))
    return np.asarray(best)


@dataclass
class FittedScorecard:
    """Optimal binning → WoE → logistic regression, as fitted by the libraries."""

    specs: list[FeatureSpec]
    binning_process: Any
    logistic: Any
    kind: CandidateKind = field(default=CandidateKind.SCORECARD, init=False)

    @property
    def selected(self) -> list[str]:
        return [str(n) for n in self.binning_process.get_support(names=True)]

    def _woe(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.binning_process.transform(
            model_frame(frame, self.specs), metric="woe", metric_missing="empirical"
        )

    def raw_logits(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.logistic.decision_function(self._woe(frame).to_numpy()))

    def points_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Each feature's term coef·WoE (log-odds of bad), one column per spec."""
        woe = self._woe(frame)
        coefs = dict(zip(self.selected, self.logistic.coef_[0], strict=True))
        out = np.zeros((len(frame), len(self.specs)))
        for j, spec in enumerate(self.specs):
            if spec.name in coefs:
                out[:, j] = woe[spec.name].to_numpy(dtype=float) * coefs[spec.name]
        return out

    def adverse(self, frame: pd.DataFrame) -> np.ndarray:
        """Points lost against each feature's most favourable bin (reason codes)."""
        best = scorecard_best_points(self.serving_tables())
        return np.asarray(self.points_matrix(frame) - best, dtype=float)

    def importance(self) -> dict[str, float]:
        return self.information_values()

    def information_values(self) -> dict[str, float]:
        with warnings.catch_warnings():
            # The library's summary uses pandas calls that pandas 3 deprecates.
            warnings.simplefilter("ignore")
            summary = self.binning_process.summary()
        return {str(r["name"]): float(r["iv"]) for _, r in summary.iterrows()}

    def serving_tables(self) -> dict[str, Any]:
        """The scorecard as plain numbers: per feature its bins, WoE and coefficient.

        WoE values are read through the library's own transform on one representative
        value per bin, so the tables reproduce its batch transform exactly.
        """
        coefs = dict(zip(self.selected, self.logistic.coef_[0], strict=True))
        ivs = self.information_values()
        features: list[dict[str, Any]] = []
        for spec in self.specs:
            optb = self.binning_process.get_binned_variable(spec.name)
            entry: dict[str, Any] = {
                "name": spec.name,
                "kind": spec.kind.value,
                "coef": float(coefs.get(spec.name, 0.0)),
                "iv": ivs.get(spec.name, 0.0),
            }
            if spec.kind is FeatureKind.NUMERIC:
                splits = [float(s) for s in optb.splits]
                probes = np.array([-np.inf, *splits, np.nan], dtype=float)
                woe = optb.transform(probes, metric="woe", metric_missing="empirical")
                entry["splits"] = splits
                entry["woe"] = [float(w) for w in woe[:-1]]
                entry["woe_missing"] = float(woe[-1])
            else:
                probes = np.array([*spec.categories, _UNSEEN_CATEGORY, None], dtype=object)
                woe = optb.transform(probes, metric="woe", metric_missing="empirical")
                entry["woe"] = [float(w) for w in woe[:-2]]
                entry["woe_unknown"] = float(woe[-2])
                entry["woe_missing"] = float(woe[-1])
            features.append(entry)
        return {"intercept": float(self.logistic.intercept_[0]), "features": features}


@dataclass
class FittedLightGbm:
    """A LightGBM booster over the encoded feature matrix (text features as categories)."""

    specs: list[FeatureSpec]
    booster: Any
    kind: CandidateKind = CandidateKind.LIGHTGBM
    # Tuned boosters: the chosen leaf count, rounds and inner validation log-loss.
    tuning: dict[str, Any] | None = None

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return RowEncoder(self.specs, unknown_as_missing=True).encode_frame(frame)

    def raw_logits(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self.matrix(frame), raw_score=True))

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """SHAP values per feature in log-odds of bad (the expected-value column dropped)."""
        return np.asarray(self.booster.predict(self.matrix(frame), pred_contrib=True))[:, :-1]

    def adverse(self, frame: pd.DataFrame) -> np.ndarray:
        return self.contributions(frame)

    def importance(self) -> dict[str, float]:
        return self.gain_importance()

    def gain_importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        total = float(np.sum(gains)) or 1.0
        return {spec.name: float(g) / total for spec, g in zip(self.specs, gains, strict=True)}


FittedBase = FittedLogistic | FittedScorecard | FittedLightGbm

assert set(BASE_KINDS) | {CandidateKind.BLEND} == set(COMPLEXITY)


def fit_scorecard(
    frame: pd.DataFrame, y: np.ndarray, specs: list[FeatureSpec], params: ScorecardParams
) -> FittedScorecard:
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    names = [spec.name for spec in specs]
    categorical = [spec.name for spec in specs if spec.kind is FeatureKind.CATEGORICAL]
    selection = {"iv": {"min": params.min_iv}} if params.min_iv > 0 else None
    binning = BinningProcess(
        names,
        categorical_variables=categorical,
        max_n_prebins=params.max_n_prebins,
        min_prebin_size=params.min_prebin_size,
        max_n_bins=params.max_n_bins,
        selection_criteria=selection,
    )
    x = model_frame(frame, specs)
    with warnings.catch_warnings():
        # The solver warns about bins it merges on small samples; the outcome is still valid.
        warnings.simplefilter("ignore")
        binning.fit(x, y)
    woe = binning.transform(x, metric="woe", metric_missing="empirical")
    logistic = LogisticRegression(C=params.c, max_iter=2000).fit(woe.to_numpy(), y)
    return FittedScorecard(specs=list(specs), binning_process=binning, logistic=logistic)


def fit_lightgbm(
    frame: pd.DataFrame,
    y: np.ndarray,
    specs: list[FeatureSpec],
    params: LightGbmParams,
    seed: int,
    n_jobs: int,
) -> FittedLightGbm:
    import lightgbm as lgb

    encoder = RowEncoder(specs, unknown_as_missing=True)
    booster = lgb.train(
        params.booster_params(seed, n_jobs),
        _dataset(encoder, encoder.encode_frame(frame), y),
        num_boost_round=params.n_estimators,
    )
    return FittedLightGbm(specs=list(specs), booster=booster)


def _dataset(encoder: RowEncoder, matrix: np.ndarray, y: np.ndarray, reference: Any = None) -> Any:
    import lightgbm as lgb

    return lgb.Dataset(
        matrix,
        label=y,
        # Column names stay out of LightGBM (it refuses some characters); the manifest has them.
        feature_name=[f"f{j}" for j in range(matrix.shape[1])],
        categorical_feature=encoder.categorical_indices,
        reference=reference,
        free_raw_data=True,
    )


def fit_tuned_lightgbm(
    frame: pd.DataFrame,
    y: np.ndarray,
    specs: list[FeatureSpec],
    params: TunedLightGbmParams,
    seed: int,
    n_jobs: int,
) -> FittedLightGbm:
    """Early stopping per leaf count on an inner split; refit the best on all rows."""
    import lightgbm as lgb
    from sklearn.model_selection import train_test_split

    encoder = RowEncoder(specs, unknown_as_missing=True)
    matrix = encoder.encode_frame(frame)
    inner, valid = train_test_split(
        np.arange(y.size), test_size=params.valid_share, stratify=y, random_state=seed
    )
    best: tuple[float, int, int] | None = None  # (log-loss, leaves, rounds)
    for leaves in params.leaf_counts:
        booster_params = params.for_leaves(leaves).booster_params(seed, n_jobs)
        train_set = _dataset(encoder, matrix[inner], y[inner])
        valid_set = _dataset(encoder, matrix[valid], y[valid], reference=train_set)
        booster = lgb.train(
            booster_params | {"metric": "binary_logloss"},
            train_set,
            num_boost_round=params.max_rounds,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(params.patience, verbose=False)],
        )
        loss = float(booster.best_score["valid_0"]["binary_logloss"])
        if best is None or loss < best[0]:
            best = (loss, leaves, max(1, booster.best_iteration))
    assert best is not None
    loss, leaves, rounds = best
    full_rounds = max(1, round(rounds / (1.0 - params.valid_share)))
    booster = lgb.train(
        params.for_leaves(leaves).booster_params(seed, n_jobs),
        _dataset(encoder, matrix, y),
        num_boost_round=full_rounds,
    )
    return FittedLightGbm(
        specs=list(specs),
        booster=booster,
        kind=CandidateKind.LIGHTGBM_TUNED,
        tuning={"num_leaves": leaves, "rounds": full_rounds, "valid_logloss": loss},
    )
