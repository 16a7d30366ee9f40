"""What the decision engine runs, kept where the engine reads it: the policy folder's
``active.json`` (champion version per scenario, the challenger and its share, and the
promoted champion model's folder) and the model artifacts under the models root.

Writes replace ``active.json`` atomically (a temporary file renamed over it). The
policy files shipped inside the package are never written: promotion needs a policy
folder of the deployment's own (``MOBILEND_POLICY_DIR``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from mobilend.app.operations.promotions import ChallengerSpec, VersionsInForce
from mobilend.app.ports import DecisionEngine
from mobilend.domain.decisions import Applicant, CreditDecision
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.risk.model.artifact import MANIFEST, ModelArtifactError, read_manifest
from mobilend.risk.policy import PolicyBook

log = logging.getLogger(__name__)

#: The key of ``active.json`` naming the promoted champion model's folder.
CHAMPION_MODEL_KEY = "model_dir"


class FileRiskVersions:
    def __init__(
        self, policy_root: Path, models_root: Path, default_model: Path, *, writable: bool
    ) -> None:
        self.policy_root = policy_root
        self.models_root = models_root
        self.default_model = default_model
        self.writable = writable
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        path = self.policy_root / "active.json"
        return json.loads(path.read_text("utf-8")) if path.is_file() else {}

    def _model_folder(self, model: str) -> Path:
        if not model or "/" in model or "\\" in model or model.startswith("."):
            raise ValidationFailed([Problem("model", "模型目录名无效 (not a model folder name)")])
        return self.models_root / model

    def _champion_model(self, index: dict[str, Any]) -> Path:
        promoted = index.get(CHAMPION_MODEL_KEY)
        return Path(promoted) if promoted else self.default_model

    def in_force(self) -> VersionsInForce:
        index = self._index()
        versions: dict[str, tuple[str, ...]] = {}
        for scenario in index.get("active", {}):
            folder = self.policy_root / scenario
            found = folder.iterdir() if folder.is_dir() else iter(())
            versions[scenario] = tuple(
                sorted(p.name for p in found if (p / "policy.json").is_file())
            )
        models: dict[str, str] = {}
        if self.models_root.is_dir():
            for folder in sorted(self.models_root.iterdir()):
                if (folder / MANIFEST).is_file():
                    try:
                        models[folder.name] = read_manifest(folder)[1]
                    except (ModelArtifactError, OSError):
                        models[folder.name] = ""
        champion = self._champion_model(index)
        spec = index.get("challenger") or None
        challenger = None
        if spec:
            model_dir = spec.get("model_dir")
            challenger = ChallengerSpec(
                str(spec.get("name", "")),
                Decimal(str(spec.get("share", "0"))),
                spec.get("policy_version") or None,
                Path(model_dir).name if model_dir else None,
            )
        return VersionsInForce(
            policies=dict(index.get("active", {})),
            policy_versions=versions,
            model=champion.name,
            model_version=models.get(champion.name, ""),
            models=models,
            challenger=challenger,
        )

    def check_policy(self, scenario: str, version: str) -> None:
        index = self._index()
        if scenario not in index.get("active", {}):
            raise ValidationFailed([Problem("scenario", f"未知场景 (unknown scenario {scenario})")])
        try:
            PolicyBook(self.policy_root).get(scenario, version)
        except Exception as exc:  # a missing or malformed version: say which
            raise ValidationFailed(
                [Problem("version", f"策略版本不可用 (policy {scenario}/{version}: {exc})")]
            ) from None

    def check_model(self, model: str) -> None:
        try:
            read_manifest(self._model_folder(model))
        except (ModelArtifactError, OSError) as exc:
            raise ValidationFailed(
                [Problem("model", f"模型不可用 (model {model}: {exc})")]
            ) from None

    # -- writing ------------------------------------------------------------------------
    def _write(self, index: dict[str, Any]) -> None:
        if not self.writable:
            raise Conflict(
                "内置策略目录只读，请设置 MOBILEND_POLICY_DIR (the shipped policy files are "
                "read-only: set MOBILEND_POLICY_DIR to a copy to promote versions)"
            )
        target = self.policy_root / "active.json"
        fd, temporary = tempfile.mkstemp(dir=self.policy_root, prefix=".active-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(index, out, ensure_ascii=False, indent=2)
            out.write("\n")
        os.replace(temporary, target)

    def promote_policy(self, scenario: str, version: str) -> str:
        with self._lock:
            index = self._index()
            previous = str(index.get("active", {}).get(scenario, ""))
            index.setdefault("active", {})[scenario] = version
            self._write(index)
        return previous

    def promote_model(self, model: str) -> str:
        folder = self._model_folder(model)
        with self._lock:
            index = self._index()
            previous = self._champion_model(index).name
            index[CHAMPION_MODEL_KEY] = str(folder.resolve())
            self._write(index)
        return previous

    def set_challenger(self, spec: ChallengerSpec | None) -> None:
        with self._lock:
            index = self._index()
            if spec is None:
                index.pop("challenger", None)
            else:
                index["challenger"] = {
                    "name": spec.name,
                    "share": str(spec.share),
                    "policy_version": spec.policy_version,
                    "model_dir": str(self._model_folder(spec.model).resolve())
                    if spec.model
                    else None,
                }
            self._write(index)


def promoted_model_dir(policy_root: Path) -> Path | None:
    """The champion model a promotion named in ``active.json`` (None: none promoted)."""
    path = policy_root / "active.json"
    if not path.is_file():
        return None
    promoted = json.loads(path.read_text("utf-8")).get(CHAMPION_MODEL_KEY)
    return Path(promoted) if promoted else None


class ReloadingDecisionEngine:
    """The decision engine, rebuilt when a promotion rewrites ``active.json``.

    An approved promotion takes effect at the next decision of every process (service
    workers, job workers), not at their next start: each decision first compares the
    file's modification stamp (one ``stat``) with the one its engine was built from. A
    rebuild that fails keeps the engine in force and is retried at the next change, so a
    broken promotion never stops lending.
    """

    def __init__(self, build: Callable[[], DecisionEngine], policy_root: Path) -> None:
        self._build = build
        self._index = policy_root / "active.json"
        self._lock = threading.Lock()
        self._stamp = self._read_stamp()
        self._engine = build()
        self.rebuilds = 0

    def _read_stamp(self) -> tuple[int, int, int] | None:
        # Writes replace the file (a new inode), so the stamp changes even within one tick.
        try:
            stat = self._index.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def current(self) -> DecisionEngine:
        stamp = self._read_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._engine = self._build()
                        self.rebuilds += 1
                    except Exception:
                        log.exception("versions in %s could not be loaded; keeping", self._index)
                    self._stamp = stamp
        return self._engine

    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision:
        return self.current().decide(applicant, on)
