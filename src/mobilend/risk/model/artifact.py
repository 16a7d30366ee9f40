"""Model artifacts: a directory with the fitted pipeline, serving tables and a manifest.

Layout::

    manifest.json          features, library versions, data hash, CV metrics, calibration,
                           scaling, PSI bins, reason codes, and the SHA-256 of every file
    manifest.sha256        SHA-256 of manifest.json (the model version)
    pipeline.joblib        the fitted library objects (batch scoring, audit)
    scorecard_tables.json  WoE tables and coefficients (scorecard: online scoring)
    lightgbm_model.txt     the Booster as text (LightGBM: online scoring)

``load_model`` checks every hash before it parses a byte, and refuses libraries whose
major.minor version differs from training; pickles are only ever read from verified bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from mobilend.risk.model.candidates import (
    CandidateKind,
    FittedCandidate,
    FittedLightGbm,
    FittedScorecard,
)
from mobilend.risk.model.features import FeatureSpec
from mobilend.risk.model.scoring import LightGbmEngine, ScorecardEngine, ScoringModel
from mobilend.risk.model.training import TrainedModel

FORMAT = "mobilend-pd-model/1"
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.sha256"
PIPELINE = "pipeline.joblib"
SCORECARD_TABLES = "scorecard_tables.json"
LIGHTGBM_TEXT = "lightgbm_model.txt"

# Distribution names whose versions are recorded, and which of them each use needs.
TRACKED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "optbinning", "joblib")
_SERVING_LIBRARIES = {
    CandidateKind.SCORECARD: ("numpy",),
    CandidateKind.LIGHTGBM: ("numpy", "lightgbm"),
}
_PIPELINE_LIBRARIES = {
    CandidateKind.SCORECARD: ("numpy", "pandas", "scikit-learn", "optbinning", "joblib"),
    CandidateKind.LIGHTGBM: ("numpy", "pandas", "lightgbm", "joblib"),
}


class ModelArtifactError(Exception):
    """The directory is not a usable model artifact."""


class ModelTamperedError(ModelArtifactError):
    """A file's content no longer matches the hash recorded at training time."""


class ModelVersionError(ModelArtifactError):
    """The installed libraries differ (major.minor) from those the model was trained with."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def check_library_versions(recorded: Mapping[str, str], names: Iterable[str], where: Path) -> None:
    """Raise ModelVersionError listing every library whose major.minor differs."""
    installed = library_versions()
    problems = [
        f"{name} {recorded.get(name, '?')} at training, {installed.get(name, 'absent')} installed"
        for name in names
        if _major_minor(recorded.get(name, "?")) != _major_minor(installed.get(name, "absent"))
    ]
    if problems:
        raise ModelVersionError(
            f"model {where} needs matching library versions (major.minor): "
            + "; ".join(problems)
            + ". Retrain the model or install the versions it was trained with."
        )


def _manifest(trained: TrainedModel, files: dict[str, str]) -> dict[str, Any]:
    kind = trained.chosen
    measure = "information_value" if kind is CandidateKind.SCORECARD else "gain_share"
    return {
        "format": FORMAT,
        "created_at": trained.created_at.isoformat(),
        "chosen_model": kind.value,
        "target": {
            "column": trained.target,
            "labels": trained.labels.to_json(),
            "positive_class": trained.labels.bad,
        },
        "id_column": trained.id_column,
        "features": [spec.to_json() for spec in trained.specs],
        "dropped_columns": [{"name": d.name, "reason": d.reason} for d in trained.dropped],
        "libraries": library_versions(),
        "training_data": {
            "sha256": trained.data_sha256,
            "rows": trained.training_rows,
            "bad_rate": trained.training_bad_rate,
            "rows_without_target": trained.rows_without_target,
        },
        "cross_validation": {
            "folds": trained.config.folds,
            "repeats": trained.config.repeats,
            "seed": trained.config.seed,
            "metric": "roc_auc",
            "candidates": {k.value: cv.to_json() for k, cv in trained.cv.items()},
        },
        "selection": trained.selection.to_json(),
        "calibration": trained.calibration.to_json(),
        "out_of_fold_metrics": {
            "before_calibration": trained.oof_raw.to_json(),
            "after_calibration": trained.oof_calibrated.to_json(),
        },
        "scaling": trained.scaling.to_json(),
        "score_bins": trained.score_bins.to_json(),
        "reason_codes": [trained.reason_map[spec.name].to_json() for spec in trained.specs],
        "feature_importance": {"measure": measure, "values": trained.importance},
        "training_config": trained.config.to_json(),
        "serving_file": SCORECARD_TABLES if kind is CandidateKind.SCORECARD else LIGHTGBM_TEXT,
        "files": files,
    }


def save_model(trained: TrainedModel, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write the artifact; it appears at ``out_dir`` complete or not at all."""
    import joblib

    target = Path(out_dir)
    if target.exists() and not overwrite and any(target.iterdir()):
        raise FileExistsError(f"{target} already exists; pass overwrite to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        buffer = io.BytesIO()
        joblib.dump(trained.fitted, buffer, compress=3)
        blobs = {PIPELINE: buffer.getvalue()}
        if isinstance(trained.fitted, FittedScorecard):
            tables = trained.fitted.serving_tables()
            blobs[SCORECARD_TABLES] = json.dumps(tables, indent=1).encode("utf-8")
        else:
            blobs[LIGHTGBM_TEXT] = trained.fitted.booster.model_to_string().encode("utf-8")
        for name, data in blobs.items():
            (staging / name).write_bytes(data)
        manifest = _manifest(trained, {name: _sha256(data) for name, data in blobs.items()})
        manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
        (staging / MANIFEST).write_bytes(manifest_bytes)
        (staging / MANIFEST_HASH).write_text(_sha256(manifest_bytes) + "\n", encoding="ascii")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def _read_verified(directory: Path, name: str, expected: str) -> bytes:
    path = directory / name
    if not path.is_file():
        raise ModelArtifactError(f"model {directory}: file {name} is missing")
    data = path.read_bytes()
    actual = _sha256(data)
    if actual != expected:
        raise ModelTamperedError(
            f"model {directory}: {name} has SHA-256 {actual[:16]}…, the manifest records "
            f"{expected[:16]}… — the file was changed after training; refusing to load it"
        )
    return data


def read_manifest(path: str | Path) -> tuple[dict[str, Any], str]:
    """The manifest and its hash (the model version), after checking that hash."""
    directory = Path(path)
    manifest_path, hash_path = directory / MANIFEST, directory / MANIFEST_HASH
    if not manifest_path.is_file() or not hash_path.is_file():
        raise ModelArtifactError(f"{directory} is not a model artifact (no {MANIFEST})")
    expected = hash_path.read_text(encoding="ascii").strip()
    data = _read_verified(directory, MANIFEST, expected)
    try:
        manifest = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ModelArtifactError(f"model {directory}: {MANIFEST} is not valid JSON") from exc
    if manifest.get("format") != FORMAT:
        raise ModelArtifactError(f"model {directory}: unknown format {manifest.get('format')!r}")
    files = manifest.get("files", {})
    if PIPELINE not in files or manifest.get("serving_file") not in files:
        raise ModelArtifactError(f"model {directory}: manifest lists no pipeline or serving file")
    return manifest, expected


def verify_artifact(path: str | Path) -> str:
    """Check every file against the manifest; returns the model version."""
    directory = Path(path)
    manifest, version = read_manifest(directory)
    for name, expected in manifest["files"].items():
        _read_verified(directory, name, expected)
    return version


def load_model(path: str | Path, check_versions: bool = True) -> ScoringModel:
    """Load and verify a model artifact for scoring.

    Raises ModelTamperedError when any file differs from its recorded hash, and
    ModelVersionError when a library it needs has another major.minor version.
    """
    directory = Path(path)
    manifest, version = read_manifest(directory)
    blobs = {
        name: _read_verified(directory, name, expected)
        for name, expected in manifest["files"].items()
    }
    serving = blobs[manifest["serving_file"]]
    del blobs
    kind = CandidateKind(manifest["chosen_model"])
    recorded = manifest["libraries"]
    if check_versions:
        check_library_versions(recorded, _SERVING_LIBRARIES[kind], directory)
    specs = [FeatureSpec.from_json(f) for f in manifest["features"]]
    engine: ScorecardEngine | LightGbmEngine
    if kind is CandidateKind.SCORECARD:
        engine = ScorecardEngine(json.loads(serving), specs)
    else:
        import lightgbm as lgb

        engine = LightGbmEngine(lgb.Booster(model_str=serving.decode("utf-8")))

    def load_pipeline() -> FittedCandidate:
        import joblib

        if check_versions:
            check_library_versions(recorded, _PIPELINE_LIBRARIES[kind], directory)
        data = _read_verified(directory, PIPELINE, manifest["files"][PIPELINE])
        fitted = joblib.load(io.BytesIO(data))
        expected_type = FittedScorecard if kind is CandidateKind.SCORECARD else FittedLightGbm
        if not isinstance(fitted, expected_type):
            raise ModelArtifactError(f"model {directory}: {PIPELINE} holds {type(fitted).__name__}")
        return fitted

    return ScoringModel(
        path=directory,
        version=version,
        manifest=manifest,
        engine=engine,
        pipeline_loader=load_pipeline,
    )
