"""Imports every CLI feature module so its commands register on the root app."""

from __future__ import annotations
