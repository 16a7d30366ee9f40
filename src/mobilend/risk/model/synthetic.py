"""Synthetic loan applications with a known risk structure, for tests and benchmarks.

Numeric and text columns, empty cells, an id column and a good/bad outcome drawn from a
logistic model of the features, so a fitted model has something real to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_applications(
    n: int = 600, seed: int = 0, good: str = "good", bad: str = "bad"
) -> pd.DataFrame:
    """``n`` applications; columns app_id, income, age, debt_ratio, home, job, noise, outcome.

    Missing cells: about 10 % of income and 5 % of home are empty (None / NaN).
    """
    rng = np.random.default_rng(seed)
    income = rng.lognormal(mean=8.5, sigma=0.5, size=n).round(0)
    age = rng.integers(18, 70, size=n).astype(float)
    debt_ratio = rng.beta(2, 5, size=n).round(3)
    home = rng.choice(["own", "rent", "parents", "other"], size=n, p=[0.35, 0.4, 0.2, 0.05])
    job = rng.choice(["fixed", "freelance", "none"], size=n, p=[0.6, 0.3, 0.1])
    noise = rng.normal(size=n).round(3)
    logit = (
        -1.0
        - 0.9 * (np.log(income) - 8.5)
        + 3.0 * (debt_ratio - 0.3)
        - 0.02 * (age - 40)
        + np.select([home == "own", home == "rent"], [-0.5, 0.2], 0.4)
        + np.select([job == "fixed", job == "freelance"], [-0.4, 0.3], 1.0)
    )
    outcome = np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-logit)), bad, good)
    income_cells = income.astype(object)
    income_cells[rng.random(n) < 0.10] = None
    home_cells = home.astype(object)
    home_cells[rng.random(n) < 0.05] = None
    return pd.DataFrame(
        {
            "app_id": [f"A{i:05d}" for i in range(n)],
            "income": income_cells,
            "age": age,
            "debt_ratio": debt_ratio,
            "home": home_cells,
            "job": job.astype(object),
            "noise": noise,
            "outcome": outcome.astype(object),
        }
    )
