"""Schema inference, value parsing and target labels of the credit model."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from mobilend.risk.model.features import (
    UNKNOWN_CATEGORY_CODE,
    FeatureKind,
    FeatureValueError,
    RowEncoder,
    TargetError,
    infer_feature_specs,
    numeric_value,
    read_csv_frame,
    resolve_target_labels,
)


def test_types_are_inferred_from_the_cells(tmp_path):
    path = tmp_path / "apps.csv"
    ids = "\n".join(
        f"id{i},{i % 7},{'rent' if i % 2 else 'own'},,{i % 2 == 0},good" for i in range(150)
    )
    path.write_text("app,months,home,empty,flag,target\n" + ids + "\n")
    frame = read_csv_frame(path)
    specs, dropped = infer_feature_specs(frame, exclude={"target"})
    kinds = {s.name: s.kind for s in specs}
    assert kinds == {
        "months": FeatureKind.NUMERIC,
        "home": FeatureKind.CATEGORICAL,
        "flag": FeatureKind.CATEGORICAL,
    }
    assert next(s for s in specs if s.name == "home").categories == ("own", "rent")
    assert {d.name for d in dropped} == {"app", "empty"}  # identifier-like text, all empty


def test_only_empty_cells_are_missing(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("home,n\nNA,1\n,2\nnull,\n")
    frame = read_csv_frame(path)
    assert frame["home"].tolist()[0] == "NA" and frame["home"].tolist()[2] == "null"
    assert pd.isna(frame["home"].tolist()[1]) and pd.isna(frame["n"].tolist()[2])


def test_numeric_values_parse_like_the_batch_path():
    assert numeric_value("12.5", "x") == 12.5
    assert numeric_value(Decimal("3.10"), "x") == 3.1
    assert numeric_value(7, "x") == 7.0
    assert math.isnan(numeric_value(None, "x")) and math.isnan(numeric_value("", "x"))
    for bad in ("12,5", True, [1], "inf"):
        with pytest.raises(FeatureValueError, match="x"):
            numeric_value(bad, "x")


def test_row_and_frame_encoding_agree():
    frame = pd.DataFrame({"n": ["1.5", None, "3"], "c": ["b", "zzz", None]}, dtype=object)
    specs, _ = infer_feature_specs(pd.DataFrame({"n": [1.0, 2.0], "c": ["a", "b"]}))
    encoder = RowEncoder(specs)
    matrix = encoder.encode_frame(frame)
    rows = np.array([encoder.encode_row(r) for r in frame.to_dict("records")])
    np.testing.assert_array_equal(matrix, rows)
    assert matrix[1, 1] == UNKNOWN_CATEGORY_CODE and math.isnan(matrix[2, 1])
    assert math.isnan(RowEncoder(specs, unknown_as_missing=True).encode_row({"c": "zzz"})[1])


@pytest.mark.parametrize(
    "values,good_label,expected",
    [
        (["good", "bad", "good"], None, ("good", "bad")),
        (["Good", "Bad"], None, ("Good", "Bad")),
        (["0", "1", "1"], None, ("0", "1")),
        ([0, 1, 1], None, ("0", "1")),
        (["paid", "default"], "paid", ("paid", "default")),
    ],
)
def test_target_labels(values, good_label, expected):
    labels = resolve_target_labels(pd.Series(values, dtype=object), good_label)
    assert (labels.good, labels.bad) == expected


def test_target_label_errors():
    with pytest.raises(TargetError, match="exactly two"):
        resolve_target_labels(pd.Series(["a", "b", "c"]))
    with pytest.raises(TargetError, match="good_label"):
        resolve_target_labels(pd.Series(["paid", "default"]))
    with pytest.raises(TargetError, match="not one of"):
        resolve_target_labels(pd.Series(["paid", "default"]), "good")
    labels = resolve_target_labels(pd.Series(["good", "bad"]))
    assert labels.encode(pd.Series(["bad", "good", "bad"])).tolist() == [1, 0, 1]
