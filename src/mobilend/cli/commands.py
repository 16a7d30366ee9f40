"""Imports every CLI feature module so its commands register on the root app."""

from __future__ import annotations

from mobilend.cli import (
    db,  # noqa: F401
    decision,  # noqa: F401
    demo,  # noqa: F401
    funding,  # noqa: F401
    lines,  # noqa: F401
    model,  # noqa: F401
    schedule,  # noqa: F401
    security,  # noqa: F401
    serve,  # noqa: F401
    staff,  # noqa: F401
    worker,  # noqa: F401
)
