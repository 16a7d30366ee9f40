"""The borrower HTTP API (FastAPI): ``create_api(container)``."""

from mobilend.api.app import create_api

__all__ = ["create_api"]
