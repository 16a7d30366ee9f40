"""What differs between a stored decision record and the same record rebuilt (by a
replay with the recorded versions, or with today's policy and model): each differing
leaf as a dotted path with both values, the result's fields first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Shown first: what the borrower was told, then why.
_FIRST = ("result", "versions", "policy", "model_version", "arm", "workings")


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    stored: Any
    replayed: Any


def _leaves(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _leaves(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for index, item in enumerate(value):
            _leaves(item, f"{prefix}[{index}]", out)
    else:
        out[prefix] = value


def differences(
    stored: Mapping[str, Any], replayed: Mapping[str, Any], limit: int = 80
) -> list[Difference]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _leaves(stored, "", before)
    _leaves(replayed, "", after)
    missing = object()
    found = [
        Difference(path, before.get(path), after.get(path))
        for path in set(before) | set(after)
        if before.get(path, missing) != after.get(path, missing)
    ]

    def order(d: Difference) -> tuple[int, str]:
        top = d.path.split(".", 1)[0].split("[", 1)[0]
        return (_FIRST.index(top) if top in _FIRST else len(_FIRST), d.path)

    return sorted(found, key=order)[:limit]
