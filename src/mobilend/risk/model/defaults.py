"""The platform's default PD model: where it lives and how it is first trained."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mobilend.risk.model.artifact import MANIFEST, save_model, verify_artifact
from mobilend.risk.model.datasets import data_file
from mobilend.risk.model.features import file_sha256, read_csv_frame
from mobilend.risk.model.training import TrainingConfig, train_model

DEFAULT_DATA_FILE = "credit_data.csv"
DEFAULT_TARGET = "Status"
DEFAULT_ID_COLUMN = "rownames"
DEFAULT_GOOD_LABEL = "good"


def default_model_dir(root: str | Path | None = None) -> Path:
    """``<root>/var/models/default``; root defaults to the working directory."""
    return Path(root if root is not None else Path.cwd()) / "var" / "models" / "default"


def default_training_data(root: str | Path | None = None) -> Path:
    """``data/credit_data.csv`` under ``root`` (or the working directory, or the source tree)."""
    try:
        return data_file(DEFAULT_DATA_FILE, root)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"default training data: {exc}") from None


def ensure_default_model(
    model_dir: str | Path | None = None,
    data_path: str | Path | None = None,
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Return the default model directory, training it from credit_data.csv if absent.

    An existing artifact is verified, never silently replaced: a tampered one raises.
    """
    directory = Path(model_dir) if model_dir is not None else default_model_dir()
    if (directory / MANIFEST).is_file():
        verify_artifact(directory)
        return directory
    data = Path(data_path) if data_path is not None else default_training_data()
    trained = train_model(
        read_csv_frame(data),
        target=DEFAULT_TARGET,
        id_column=DEFAULT_ID_COLUMN,
        good_label=DEFAULT_GOOD_LABEL,
        config=config,
        data_sha256=file_sha256(data),
        progress=progress,
    )
    return save_model(trained, directory)
