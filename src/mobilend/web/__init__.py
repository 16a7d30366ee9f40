"""The borrower's mobile web app (Jinja2 + HTMX), mounted at ``/`` beside the API."""

from mobilend.web.site import create_web

__all__ = ["create_web"]
