"""Hold-out evaluation: the pipeline's choice against every one of its candidates.

Per split seed: one stratified split; the pipeline is trained on the training part (its
cross-validated selection sees nothing else) and measured on the test part through the
real artifact (save, verify, load), so the figures describe what would be deployed. Every
candidate is refitted on the same training part and measured on the same test part.

Over several seeds, the summary compares the pipeline's mean test AUC with that of its
best single candidate on average (the fixed candidate with the highest mean test AUC), and
also reports the mean per-split shortfall against whichever single candidate happened to
do best on each test split (an oracle no selection rule can match: it picks on the test).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.artifact import load_model, save_model
from mobilend.risk.model.features import frame_sha256, resolve_target_labels
from mobilend.risk.model.kinds import CandidateKind
from mobilend.risk.model.metrics import BinaryMetrics, binary_metrics
from mobilend.risk.model.training import TrainingConfig, train_model


@dataclass(frozen=True, slots=True)
class HoldoutEvaluation:
    pipeline: BinaryMetrics
    candidate_auc: dict[str, float]
    chosen_model: str
    selection: str
    cv_auc: dict[str, float]
    n_train: int
    n_test: int
    test_size: float
    seed: int
    test_psi: float
    seconds: float

    @property
    def single_auc(self) -> dict[str, float]:
        """Test AUC of the single-model candidates (every candidate but the blend)."""
        return {k: v for k, v in self.candidate_auc.items() if k != CandidateKind.BLEND.value}

    @property
    def best_single(self) -> str:
        singles = self.single_auc
        return max(singles, key=lambda k: singles[k])

    @property
    def gap_to_best_single(self) -> float:
        """Pipeline test AUC minus the best single candidate's on this split (≤ 0 usually)."""
        return self.pipeline.auc - self.single_auc[self.best_single]

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "pipeline": self.pipeline.to_json(),
            "candidate_test_auc": self.candidate_auc,
            "chosen_model": self.chosen_model,
            "selection": self.selection,
            "cv_auc": self.cv_auc,
            "best_single_on_test": self.best_single,
            "gap_to_best_single": self.gap_to_best_single,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "test_size": self.test_size,
            "test_psi": self.test_psi,
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True, slots=True)
class DatasetEvaluation:
    """Several split seeds of one data set, and what they add up to."""

    name: str
    runs: tuple[HoldoutEvaluation, ...]

    @property
    def mean_pipeline_auc(self) -> float:
        return float(np.mean([r.pipeline.auc for r in self.runs]))

    @property
    def mean_candidate_auc(self) -> dict[str, float]:
        kinds = self.runs[0].candidate_auc
        return {k: float(np.mean([r.candidate_auc[k] for r in self.runs])) for k in kinds}

    @property
    def best_single_on_average(self) -> str:
        means = {k: v for k, v in self.mean_candidate_auc.items() if k != "blend"}
        return max(means, key=lambda k: means[k])

    @property
    def gap_to_best_single(self) -> float:
        """Mean pipeline AUC minus the mean AUC of the best single candidate on average."""
        return self.mean_pipeline_auc - self.mean_candidate_auc[self.best_single_on_average]

    @property
    def mean_gap_to_split_best(self) -> float:
        return float(np.mean([r.gap_to_best_single for r in self.runs]))

    @property
    def chosen_counts(self) -> dict[str, int]:
        return dict(Counter(r.chosen_model for r in self.runs))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seeds": [r.seed for r in self.runs],
            "runs": [r.to_json() for r in self.runs],
            "summary": {
                "mean_pipeline_auc": self.mean_pipeline_auc,
                "mean_candidate_auc": self.mean_candidate_auc,
                "best_single_on_average": self.best_single_on_average,
                "gap_to_best_single_on_average": self.gap_to_best_single,
                "mean_gap_to_best_single_per_split": self.mean_gap_to_split_best,
                "chosen": self.chosen_counts,
            },
        }


def evaluate_holdout(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None = None,
    good_label: str | None = None,
    test_size: float = 0.3,
    seed: int = 42,
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> HoldoutEvaluation:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    labelled = frame[frame[target].notna() & (frame[target].astype(str) != "")]
    labelled = labelled.reset_index(drop=True)
    labels = resolve_target_labels(labelled[target], good_label)
    y = labels.encode(labelled[target]).astype(int)
    train_part, test_part, _y_train, y_test = train_test_split(
        labelled, y, test_size=test_size, stratify=y, random_state=seed
    )
    trained = train_model(
        train_part,
        target,
        id_column,
        good_label=labels.good,
        config=config,
        data_sha256=frame_sha256(train_part),
        progress=progress,
        keep_candidates=True,
    )
    with tempfile.TemporaryDirectory(prefix="mobilend-eval-") as tmp:
        save_model(trained, f"{tmp}/model")
        model = load_model(f"{tmp}/model")
        scored = model.score_frame(test_part, with_reasons=False)
    candidate_auc = {
        kind.value: float(roc_auc_score(y_test, fitted.raw_logits(test_part)))
        for kind, fitted in trained.refitted.items()
    }
    return HoldoutEvaluation(
        pipeline=binary_metrics(y_test, scored["pd"].to_numpy()),
        candidate_auc=candidate_auc,
        chosen_model=trained.chosen.value,
        selection=trained.selection.explanation,
        cv_auc={k.value: cv.mean_auc for k, cv in trained.cv.items()},
        n_train=len(train_part),
        n_test=len(test_part),
        test_size=test_size,
        seed=seed,
        test_psi=model.psi(scored["score"].to_numpy()),
        seconds=time.perf_counter() - started,
    )


def evaluate_seeds(
    name: str,
    frame: pd.DataFrame,
    target: str,
    seeds: Sequence[int],
    id_column: str | None = None,
    good_label: str | None = None,
    test_size: float = 0.3,
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
    on_run: Callable[[HoldoutEvaluation], None] | None = None,
) -> DatasetEvaluation:
    """``evaluate_holdout`` per seed; the split seed is also the training seed."""
    if not seeds:
        raise ValueError("need at least one split seed")
    base = config or TrainingConfig()
    runs: list[HoldoutEvaluation] = []
    for seed in seeds:
        run = evaluate_holdout(
            frame,
            target,
            id_column=id_column,
            good_label=good_label,
            test_size=test_size,
            seed=seed,
            config=replace(base, seed=seed),
            progress=progress,
        )
        runs.append(run)
        if on_run is not None:
            on_run(run)
    return DatasetEvaluation(name, tuple(runs))


def markdown_table(results: Sequence[DatasetEvaluation]) -> str:
    """Per data set and seed: chosen model, pipeline and candidate test AUCs, gap; then means."""
    kinds = list(results[0].runs[0].candidate_auc) if results else []
    head = ["data set", "seed", "chosen", "pipeline", *kinds, "gap to best single"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in results:
        for run in result.runs:
            cells = [result.name, str(run.seed), run.chosen_model, f"{run.pipeline.auc:.4f}"]
            cells += [f"{run.candidate_auc[k]:.4f}" for k in kinds]
            cells.append(f"{run.gap_to_best_single:+.4f}")
            lines.append("| " + " | ".join(cells) + " |")
        means = result.mean_candidate_auc
        cells = [f"**{result.name}**", "mean", _counts(result.chosen_counts)]
        cells.append(f"**{result.mean_pipeline_auc:.4f}**")
        cells += [
            f"**{means[k]:.4f}**" if k == result.best_single_on_average else f"{means[k]:.4f}"
            for k in kinds
        ]
        cells.append(f"**{result.gap_to_best_single:+.4f}** ({result.mean_gap_to_split_best:+.4f})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
