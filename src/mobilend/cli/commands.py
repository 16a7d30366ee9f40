"""Imports every CLI feature module so its commands register on the root app."""

from __future__ import annotations
from mobilend.cli import db  # noqa: F401
from mobilend.cli import schedule  # noqa: F401
from mobilend.cli import model  # noqa: F401
from mobilend.cli import decision  # noqa: F401
from mobilend.cli import demo  # noqa: F401
from mobilend.cli import serve  # noqa: F401
