"""The operations console: server-rendered staff pages under ``/console``."""

from mobilend.console.site import create_console

__all__ = ["create_console"]
