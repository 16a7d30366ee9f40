"""Credit PD models: training on tabular data, verified artifacts, online and batch scoring.

Typical use::

    model = load_model(ensure_default_model())
    result = model.score_one({"Income": 120, "Home": "rent", ...})
    result.pd, result.score, result.reasons
"""

from mobilend.risk.model.artifact import (
    ModelArtifactError,
    ModelTamperedError,
    ModelVersionError,
    load_model,
    save_model,
    verify_artifact,
)
from mobilend.risk.model.defaults import default_model_dir, ensure_default_model
from mobilend.risk.model.features import FeatureValueError, TargetError
from mobilend.risk.model.reasons import MAX_REASONS, ReasonCode, reason_code_for
from mobilend.risk.model.scaling import (
    ScoreBins,
    ScoreScaling,
    population_stability_index,
)
from mobilend.risk.model.scoring import ScoreResult, ScoringModel
from mobilend.risk.model.training import TrainedModel, TrainingConfig, train_model

__all__ = [
    "MAX_REASONS",
    "FeatureValueError",
    "ModelArtifactError",
    "ModelTamperedError",
    "ModelVersionError",
    "ReasonCode",
    "ScoreBins",
    "ScoreResult",
    "ScoreScaling",
    "ScoringModel",
    "TargetError",
    "TrainedModel",
    "TrainingConfig",
    "default_model_dir",
    "ensure_default_model",
    "load_model",
    "population_stability_index",
    "reason_code_for",
    "save_model",
    "train_model",
    "verify_artifact",
]
