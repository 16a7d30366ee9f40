"""Probability calibration fitted on out-of-fold model outputs.

Platt scaling (a logistic map of the model's log-odds) is strictly increasing, so it leaves
the ranking, and therefore AUC, untouched; isotonic regression is available where a
non-parametric fit is wanted. Both are plain formulas at scoring time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np


class CalibrationMethod(StrEnum):
    PLATT = "platt"
    ISOTONIC = "isotonic"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Calibration:
    """Maps a model's raw log-odds of bad to a calibrated probability of default."""

    method: CalibrationMethod
    slope: float = 1.0
    intercept: float = 0.0
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()

    def pd(self, logit: float) -> float:
        if self.method is CalibrationMethod.ISOTONIC:
            return float(np.interp(logit, self.knots_x, self.knots_y))
        z = self.slope * logit + self.intercept
        # Two branches keep exp() from overflowing for large |z|.
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def pds(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, dtype=float)
        if self.method is CalibrationMethod.ISOTONIC:
            calibrated: np.ndarray = np.interp(logits, self.knots_x, self.knots_y)
            return calibrated
        z = self.slope * logits + self.intercept
        out = np.empty_like(z)
        positive = z >= 0
        out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
        e = np.exp(z[~positive])
        out[~positive] = e / (1.0 + e)
        return out

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method.value}
        if self.method is CalibrationMethod.ISOTONIC:
            data["knots_x"] = list(self.knots_x)
            data["knots_y"] = list(self.knots_y)
        else:
            data["slope"] = self.slope
            data["intercept"] = self.intercept
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        method = CalibrationMethod(data["method"])
        if method is CalibrationMethod.ISOTONIC:
            return cls(
                method,
                knots_x=tuple(float(x) for x in data["knots_x"]),
                knots_y=tuple(float(y) for y in data["knots_y"]),
            )
        return cls(method, slope=float(data["slope"]), intercept=float(data["intercept"]))


def fit_calibration(logits: np.ndarray, y: np.ndarray, method: CalibrationMethod) -> Calibration:
    """Fit on out-of-fold log-odds, so the map corrects what the model gets wrong on new data."""
    logits = np.asarray(logits, dtype=float)
    y = np.asarray(y, dtype=int)
    if method is CalibrationMethod.NONE:
        return Calibration(CalibrationMethod.NONE)
    if method is CalibrationMethod.ISOTONIC:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(logits, y)
        return Calibration(
            method,
            knots_x=tuple(float(x) for x in iso.X_thresholds_),
            knots_y=tuple(float(v) for v in iso.y_thresholds_),
        )
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e6, max_iter=1000).fit(logits.reshape(-1, 1), y)
    slope = float(platt.coef_[0, 0])
    if slope <= 0:
        # A non-increasing map would invert the ranking; the model's own PDs are safer.
        return Calibration(CalibrationMethod.NONE)
    return Calibration(method, slope=slope, intercept=float(platt.intercept_[0]))
