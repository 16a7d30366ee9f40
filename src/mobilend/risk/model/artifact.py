"""Model artifacts: a directory with the fitted pipeline, serving tables and a manifest.

Layout::

    manifest.json          features, library versions, data hash, CV metrics, calibration,
                           scaling, PSI bins, reason codes, and the SHA-256 of every file
    manifest.sha256        SHA-256 of manifest.json (the model version)
    pipeline.joblib        the fitted library objects (batch scoring, audit)
    logistic_tables.json   plain regression: medians, means, scales, coefficients
    scorecard_tables.json  scorecard: WoE tables and coefficients
    lightgbm_model.txt     LightGBM: the Booster as text (lightgbm_tuned_model.txt, tuned)
    blend.json             blend: members and weights (each member's file is there too)

Online scoring reads only the manifest and the serving file(s), never the pickle.

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

from mobilend.risk.model.blend import FittedBlend, FittedCandidate
from mobilend.risk.model.candidates import (
    CandidateKind,
    FittedLightGbm,
    FittedLogistic,
    FittedScorecard,
)
from mobilend.risk.model.features import FeatureSpec
from mobilend.risk.model.linear import LogisticEngine
from mobilend.risk.model.scoring import (
    BlendEngine,
    Engine,
    LightGbmEngine,
    ScorecardEngine,
    ScoringModel,
)
from mobilend.risk.model.training import TrainedModel

FORMAT = "mobilend-pd-model/1"
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.sha256"
PIPELINE = "pipeline.joblib"
SCORECARD_TABLES = "scorecard_tables.json"
LIGHTGBM_TEXT = "lightgbm_model.txt"
SERVING_FILES = {
    CandidateKind.LOGISTIC: "logistic_tables.json",
    CandidateKind.SCORECARD: SCORECARD_TABLES,
    CandidateKind.LIGHTGBM: LIGHTGBM_TEXT,
    CandidateKind.LIGHTGBM_TUNED: "lightgbm_tuned_model.txt",
    CandidateKind.BLEND: "blend.json",
}
_FITTED_TYPES: dict[CandidateKind, type] = {
    CandidateKind.LOGISTIC: FittedLogistic,
    CandidateKind.SCORECARD: FittedScorecard,
    CandidateKind.LIGHTGBM: FittedLightGbm,
    CandidateKind.LIGHTGBM_TUNED: FittedLightGbm,
    CandidateKind.BLEND: FittedBlend,
}

# Distribution names whose versions are recorded, and which of them each use needs.
TRACKED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "optbinning", "joblib")
_SERVING_LIBRARIES = {
    CandidateKind.LOGISTIC: ("numpy",),
    CandidateKind.SCORECARD: ("numpy",),
    CandidateKind.LIGHTGBM: ("numpy", "lightgbm"),
    CandidateKind.LIGHTGBM_TUNED: ("numpy", "lightgbm"),
    CandidateKind.BLEND: ("numpy", "lightgbm"),
}
_PIPELINE_LIBRARIES = {
    CandidateKind.LOGISTIC: ("numpy", "pandas", "scikit-learn", "joblib"),
    CandidateKind.SCORECARD: ("numpy", "pandas", "scikit-learn", "optbinning", "joblib"),
    CandidateKind.LIGHTGBM: ("numpy", "pandas", "lightgbm", "joblib"),
    CandidateKind.LIGHTGBM_TUNED: ("numpy", "pandas", "lightgbm", "joblib"),
    CandidateKind.BLEND: TRACKED_LIBRARIES,
}
_IMPORTANCE_MEASURE = {
    CandidateKind.LOGISTIC: "term_std_share",
    CandidateKind.SCORECARD: "information_value",
    CandidateKind.LIGHTGBM: "gain_share",
    CandidateKind.LIGHTGBM_TUNED: "gain_share",
    CandidateKind.BLEND: "weighted_member_share",
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
    measure = _IMPORTANCE_MEASURE[kind]
    extra: dict[str, Any] = {}
    if isinstance(trained.fitted, FittedBlend):
        extra["blend"] = trained.fitted.weights.to_json()
    if isinstance(trained.fitted, FittedLightGbm) and trained.fitted.tuning is not None:
        extra["tuning"] = trained.fitted.tuning
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
        "serving_file": SERVING_FILES[kind],
        "files": files,
    } | extra


def _serving_blobs(fitted: FittedCandidate) -> dict[str, bytes]:
    """The file(s) online scoring reads for this model, by name."""
    name = SERVING_FILES[fitted.kind]
    if isinstance(fitted, FittedScorecard):
        return {name: json.dumps(fitted.serving_tables(), indent=1).encode("utf-8")}
    if isinstance(fitted, FittedLogistic):
        return {name: json.dumps(fitted.tables, indent=1).encode("utf-8")}
    if isinstance(fitted, FittedLightGbm):
        return {name: fitted.booster.model_to_string().encode("utf-8")}
    blobs: dict[str, bytes] = {}
    members = []
    for weight, member in zip(fitted.weights.weights, fitted.members, strict=True):
        blobs |= _serving_blobs(member)
        members.append(
            {"kind": member.kind.value, "weight": weight, "file": SERVING_FILES[member.kind]}
        )
    spec = {"intercept": fitted.weights.intercept, "members": members}
    blobs[name] = json.dumps(spec, indent=1).encode("utf-8")
    return blobs


def _engine(
    kind: CandidateKind, name: str, blobs: Mapping[str, bytes], specs: list[FeatureSpec]
) -> Engine:
    data = blobs[name]
    if kind is CandidateKind.SCORECARD:
        return ScorecardEngine(json.loads(data), specs)
    if kind is CandidateKind.LOGISTIC:
        return LogisticEngine(json.loads(data), specs)
    if kind in (CandidateKind.LIGHTGBM, CandidateKind.LIGHTGBM_TUNED):
        import lightgbm as lgb

        return LightGbmEngine(lgb.Booster(model_str=data.decode("utf-8")), specs)
    spec = json.loads(data)
    members = []
    for member in spec["members"]:
        member_kind = CandidateKind(member["kind"])
        if member_kind is CandidateKind.BLEND or member["file"] not in blobs:
            raise ModelArtifactError(f"blend member {member!r} is not a model file")
        members.append(
            (float(member["weight"]), _engine(member_kind, member["file"], blobs, specs))
        )
    return BlendEngine(float(spec["intercept"]), members)


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
        blobs = {PIPELINE: buffer.getvalue()} | _serving_blobs(trained.fitted)
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
    try:
        kind = CandidateKind(manifest["chosen_model"])
    except ValueError as exc:
        raise ModelArtifactError(f"model {directory}: unknown model kind") from exc
    if manifest["serving_file"] != SERVING_FILES[kind]:
        raise ModelArtifactError(f"model {directory}: unexpected serving file for {kind.value}")
    recorded = manifest["libraries"]
    if check_versions:
        check_library_versions(recorded, _SERVING_LIBRARIES[kind], directory)
    specs = [FeatureSpec.from_json(f) for f in manifest["features"]]
    blobs.pop(PIPELINE)
    engine = _engine(kind, manifest["serving_file"], blobs, specs)
    del blobs

    def load_pipeline() -> FittedCandidate:
        import joblib

        if check_versions:
            check_library_versions(recorded, _PIPELINE_LIBRARIES[kind], directory)
        data = _read_verified(directory, PIPELINE, manifest["files"][PIPELINE])
        fitted: FittedCandidate = joblib.load(io.BytesIO(data))
        if not isinstance(fitted, _FITTED_TYPES[kind]) or fitted.kind is not kind:
            raise ModelArtifactError(f"model {directory}: {PIPELINE} holds {type(fitted).__name__}")
        return fitted

    return ScoringModel(
        path=directory,
        version=version,
        manifest=manifest,
        engine=engine,
        pipeline_loader=load_pipeline,
    )
