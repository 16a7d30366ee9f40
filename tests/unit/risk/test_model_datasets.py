"""The shipped evaluation data sets: each file reads with the columns its entry names."""

from __future__ import annotations

import pytest

from mobilend.risk.model.datasets import DATASETS, load_dataset
from mobilend.risk.model.features import infer_feature_specs, resolve_target_labels


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_shipped_dataset_has_its_target_good_label_and_columns(name):
    dataset, frame = load_dataset(name)
    assert len(frame) >= 1000
    labels = resolve_target_labels(frame[dataset.target], dataset.good_label)
    bad_rate = labels.encode(frame[dataset.target]).mean()
    assert 0.05 < bad_rate < 0.5
    named = {dataset.target, *dataset.exclude} | (
        {dataset.id_column} if dataset.id_column else set()
    )
    assert named <= set(frame.columns)
    specs, _dropped = infer_feature_specs(frame, exclude=named)
    assert len(specs) >= 4 and not {s.name for s in specs} & named


def test_an_unknown_dataset_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="german"):
        load_dataset("nonesuch")
