"""The public credit data sets shipped under ``data/`` (sources and licences: data/README.md).

Each entry says how to read its file: target column, good label, id column, and columns
left out of the features (e.g. a protected attribute).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mobilend.risk.model.features import read_csv_frame


@dataclass(frozen=True, slots=True)
class CreditDataset:
    name: str
    file: str
    target: str
    good_label: str
    id_column: str | None = None
    exclude: tuple[str, ...] = ()
    title: str = ""


DATASETS: dict[str, CreditDataset] = {
    d.name: d
    for d in (
        CreditDataset(
            "german", "german_credit.csv", "creditability", "good", title="German credit"
        ),
        CreditDataset(
            "credit_data",
            "credit_data.csv",
            "Status",
            "good",
            id_column="rownames",
            title="Spanish consumer credit (credit_data)",
        ),
        CreditDataset(
            "taiwan_sample",
            "taiwan_credit_sample.csv",
            "default",
            "0",
            title="Taiwan credit-card default, 6,000-row sample",
        ),
        CreditDataset(
            "hmda_boston",
            "hmda_boston.csv",
            "deny",
            "no",
            id_column="rownames",
            # Race is never a credit feature; the data set records it to study discrimination.
            exclude=("afam",),
            title="Boston HMDA mortgage applications",
        ),
    )
}


def data_file(name: str, root: str | Path | None = None) -> Path:
    """``data/<name>`` under ``root`` (or the working directory), else in the source tree."""
    candidates = [Path(root if root is not None else Path.cwd()) / "data" / name]
    # src/mobilend/risk/model/datasets.py → repository root is four levels up.
    candidates.append(Path(__file__).resolve().parents[4] / "data" / name)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found; looked in " + ", ".join(str(p) for p in candidates))


def load_dataset(name: str, root: str | Path | None = None) -> tuple[CreditDataset, pd.DataFrame]:
    try:
        dataset = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None
    return dataset, read_csv_frame(data_file(dataset.file, root))
