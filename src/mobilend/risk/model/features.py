"""Feature schema shared by training and serving: type inference, value parsing, encoding.

A model sees each feature as either numeric (float, NaN = missing) or categorical (text
labels seen in training). The same parsing rules apply to a CSV column (batch) and to one
application's dict (online), so both paths produce identical numbers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Code given to a categorical value never seen in training (missing stays NaN).
UNKNOWN_CATEGORY_CODE = -1.0
# A text column with more distinct values than this is an identifier or free text, not a feature.
MAX_CATEGORIES = 100


class FeatureKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class FeatureValueError(ValueError):
    """A value cannot be read as the feature's type (e.g. text in a numeric column)."""


class TargetError(ValueError):
    """The target column is absent, or does not hold exactly two labels."""


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input: its name, its type and, for text features, the labels seen in training."""

    name: str
    kind: FeatureKind
    categories: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind.value}
        if self.kind is FeatureKind.CATEGORICAL:
            data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        return cls(
            name=str(data["name"]),
            kind=FeatureKind(data["kind"]),
            categories=tuple(str(c) for c in data.get("categories", ())),
        )


@dataclass(frozen=True, slots=True)
class DroppedColumn:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class TargetLabels:
    """Which target label is "good" and which is "bad" (the positive class, y = 1)."""

    good: str
    bad: str

    def encode(self, values: pd.Series) -> np.ndarray:
        text = values.astype(object).map(lambda v: None if _is_missing(v) else _label_text(v))
        unknown = set(text.dropna().unique()) - {self.good, self.bad}
        if unknown:
            raise TargetError(
                f"target has labels {sorted(unknown)} besides good={self.good!r} / bad={self.bad!r}"
            )
        if text.isna().any():
            raise TargetError("target has empty cells; drop those rows first")
        target: np.ndarray = (text == self.bad).to_numpy(dtype=np.int8)
        return target

    def to_json(self) -> dict[str, str]:
        return {"good": self.good, "bad": self.bad}


def read_csv_frame(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text; only empty cells are missing (no "NA"/"null" guessing)."""
    return pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=False
    )


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Hash of a frame's CSV text, for data that did not come from a file."""
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and value == ""


def _label_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def resolve_target_labels(values: pd.Series, good_label: str | None = None) -> TargetLabels:
    """Pick the good/bad labels of a two-label target.

    Without ``good_label``: "good"/"bad" (any case) are recognised; 0/1 means 1 = bad
    (the default flag); anything else needs ``good_label``.
    """
    labels = sorted({_label_text(v) for v in values if not _is_missing(v)})
    if len(labels) != 2:
        raise TargetError(
            f"target must have exactly two labels, found {len(labels)}: {labels[:10]}"
        )
    if good_label is not None:
        if good_label not in labels:
            raise TargetError(f"good label {good_label!r} is not one of {labels}")
        bad = labels[1] if labels[0] == good_label else labels[0]
        return TargetLabels(good=good_label, bad=bad)
    lowered = {label.lower(): label for label in labels}
    if "good" in lowered:
        good = lowered["good"]
        return TargetLabels(good=good, bad=next(lb for lb in labels if lb != good))
    if "bad" in lowered:
        bad = lowered["bad"]
        return TargetLabels(good=next(lb for lb in labels if lb != bad), bad=bad)
    if set(labels) == {"0", "1"}:
        return TargetLabels(good="0", bad="1")
    raise TargetError(f"cannot tell the good label among {labels}; pass good_label")


def infer_feature_specs(
    frame: pd.DataFrame, exclude: Iterable[str] = ()
) -> tuple[list[FeatureSpec], list[DroppedColumn]]:
    """Numeric when every non-empty cell parses as a number, otherwise categorical."""
    excluded = set(exclude)
    specs: list[FeatureSpec] = []
    dropped: list[DroppedColumn] = []
    for name in frame.columns:
        if name in excluded:
            continue
        column = frame[name]
        present = column.dropna()
        if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
            present = present[present.astype(str) != ""]
        if present.empty:
            dropped.append(DroppedColumn(str(name), "all cells empty"))
            continue
        # Booleans are yes/no labels, not amounts.
        is_bool = pd.api.types.is_bool_dtype(column.dtype) or all(
            isinstance(v, bool | np.bool_) for v in present
        )
        as_number = pd.to_numeric(present, errors="coerce") if not is_bool else None
        if as_number is not None and as_number.notna().all():
            if not np.isfinite(as_number.to_numpy(dtype=float)).all():
                dropped.append(DroppedColumn(str(name), "infinite values"))
                continue
            specs.append(FeatureSpec(str(name), FeatureKind.NUMERIC))
            continue
        categories = tuple(sorted({_label_text(v) for v in present}))
        if len(categories) > MAX_CATEGORIES:
            dropped.append(
                DroppedColumn(str(name), f"{len(categories)} distinct text values (identifier?)")
            )
            continue
        specs.append(FeatureSpec(str(name), FeatureKind.CATEGORICAL, categories))
    if not specs:
        raise FeatureValueError("no usable feature columns")
    return specs, dropped


def numeric_value(value: Any, feature: str) -> float:
    """One numeric cell: numbers and numeric text as float, empty as NaN."""
    if _is_missing(value):
        return math.nan
    if isinstance(value, bool):
        raise FeatureValueError(f"{feature}: expected a number, got a boolean")
    if isinstance(value, int | float | Decimal | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise FeatureValueError(f"{feature}: expected a number, got {value!r}") from None
    else:
        raise FeatureValueError(f"{feature}: expected a number, got {type(value).__name__}")
    if math.isinf(number):
        raise FeatureValueError(f"{feature}: infinite value")
    return number


def categorical_value(value: Any) -> str | None:
    """One text cell: the label as text, None when empty."""
    return None if _is_missing(value) else _label_text(value)


def numeric_column(column: pd.Series, feature: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        numbers: np.ndarray = column.to_numpy(dtype=float, na_value=math.nan)
        if np.isinf(numbers).any():
            raise FeatureValueError(f"{feature}: infinite value")
        return numbers
    # Text cells go through the same parser as a single application, so both agree exactly.
    values = column.to_numpy(dtype=object)
    return np.fromiter((numeric_value(v, feature) for v in values), dtype=float, count=len(values))


def categorical_column(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=object)
    return np.array([categorical_value(v) for v in values], dtype=object)


def _feature_array(frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """A feature's column as float (NaN = missing) or object text (None = missing)."""
    if spec.name in frame.columns:
        raw = frame[spec.name]
    else:
        raw = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if spec.kind is FeatureKind.NUMERIC:
        return numeric_column(raw, spec.name)
    return categorical_column(raw)


def model_frame(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """The feature columns as the binning library expects them: float64, or object text.

    A feature column absent from ``frame`` is all-missing.
    """
    # Explicit object dtype: pandas 3 would otherwise turn text columns into `str`.
    return pd.DataFrame(
        {
            spec.name: pd.Series(
                _feature_array(frame, spec),
                index=frame.index,
                dtype=float if spec.kind is FeatureKind.NUMERIC else object,
            )
            for spec in specs
        },
        index=frame.index,
    )


class RowEncoder:
    """Turns features into float rows: numbers as is, text as its category index.

    Missing is NaN. A category not seen in training is ``UNKNOWN_CATEGORY_CODE``, or NaN
    with ``unknown_as_missing`` (LightGBM treats both alike and warns on negative codes).
    Lookup maps are built once, so encoding one application touches no pandas.
    """

    def __init__(self, specs: Sequence[FeatureSpec], unknown_as_missing: bool = False) -> None:
        self.specs = tuple(specs)
        self.names = tuple(spec.name for spec in specs)
        self._numeric = tuple(spec.kind is FeatureKind.NUMERIC for spec in specs)
        self._unknown = math.nan if unknown_as_missing else UNKNOWN_CATEGORY_CODE
        self._codes: tuple[dict[str, float], ...] = tuple(
            {label: float(i) for i, label in enumerate(spec.categories)} for spec in specs
        )

    def encode_row(self, features: Mapping[str, Any]) -> np.ndarray:
        row = np.empty(len(self.specs), dtype=float)
        unknown = self._unknown
        for j, name in enumerate(self.names):
            value = features.get(name)
            if self._numeric[j]:
                row[j] = numeric_value(value, name)
            else:
                label = categorical_value(value)
                row[j] = math.nan if label is None else self._codes[j].get(label, unknown)
        return row

    def encode_frame(self, frame: pd.DataFrame) -> np.ndarray:
        matrix = np.empty((len(frame), len(self.specs)), dtype=float)
        unknown = self._unknown
        for j, spec in enumerate(self.specs):
            values = _feature_array(frame, spec)
            if self._numeric[j]:
                matrix[:, j] = values
            else:
                codes = self._codes[j]
                matrix[:, j] = [math.nan if v is None else codes.get(v, unknown) for v in values]
        return matrix

    @property
    def categorical_indices(self) -> list[int]:
        return [j for j, numeric in enumerate(self._numeric) if not numeric]
