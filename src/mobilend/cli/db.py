"""Database commands: ``mobilend migrate`` and ``mobilend db url|start|stop|status``."""

from __future__ import annotations

import typer

from mobilend.adapters.db import engine as db_engine
from mobilend.adapters.db import migrate as db_migrate
from mobilend.config import get_settings

db_app = typer.Typer(
    help="本地数据库 / the database: where it is, start and stop the embedded server.",
    no_args_is_help=True,
)


def migrate_command(
    revision: str = typer.Argument("head", help="目标版本 / revision to reach"),
) -> None:
    """升级数据库结构 / Bring the database schema up to date (Alembic upgrade)."""
    url = db_engine.database_url()
    db_migrate.upgrade(url, revision)
    typer.echo(f"数据库已是最新 / database at revision {db_migrate.current_revision(url)}")


@db_app.command("url")
def url_command(
    tcp: bool = typer.Option(False, "--tcp", help="TCP 地址而非 unix socket / TCP address"),
) -> None:
    """打印数据库地址 / Print the database URL (starts the embedded server if needed)."""
    settings = get_settings()
    if settings.database_url or not tcp:
        typer.echo(db_engine.database_url(settings))
        return
    info = db_engine.embedded_server(settings).start()
    db_engine.ensure_database(info, settings.pg_database)
    typer.echo(info.url(settings.pg_database, tcp=True))


@db_app.command("start")
def start_command() -> None:
    """启动内置 PostgreSQL / Start the embedded PostgreSQL server (no-op when running)."""
    settings = get_settings()
    if settings.database_url:
        typer.echo("MOBILEND_DATABASE_URL 已设置，不使用内置服务器 / external database in use")
        return
    info = db_engine.embedded_server(settings).start()
    db_engine.ensure_database(info, settings.pg_database)
    typer.echo(f"running: pid {info.pid}, port {info.port}, socket {info.socket_dir}")


@db_app.command("stop")
def stop_command() -> None:
    """停止内置 PostgreSQL / Stop the embedded PostgreSQL server."""
    stopped = db_engine.embedded_server().stop()
    typer.echo("stopped" if stopped else "not running")


@db_app.command("status")
def status_command() -> None:
    """内置服务器状态 / Whether the embedded server runs, and where."""
    info = db_engine.embedded_server().status()
    if info is None:
        typer.echo("not running")
        raise typer.Exit(code=3)
    typer.echo(f"running: pid {info.pid}, port {info.port}, socket {info.socket_dir}")
