"""``mobilend serve``: the borrower API (and web app) under uvicorn.

The app is given to uvicorn as an import string, so this module does not import the
API (entry points stay independent) and ``--workers`` can start several processes.
"""

from __future__ import annotations

import os

import typer
import uvicorn

APP_FACTORY = "mobilend.asgi:create_app"


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址 / address to listen on"),
    port: int = typer.Option(8000, "--port", help="端口 / port"),
    workers: int = typer.Option(1, "--workers", min=1, help="进程数 / worker processes"),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="请求日志 / access log"
    ),
) -> None:
    """启动借款人服务 / Serve the borrower API (OpenAPI at /docs) and web app."""
    refuse_unsafe_production()
    _default_public_url(host, port)
    # The service writes its own structured, redacted access log (``mobilend.access``);
    # set here so every worker process sees the choice.
    os.environ["MOBILEND_ACCESS_LOG"] = "true" if access_log else "false"
    shown = _reachable(host)
    base = f"http://{shown}:{port}"
    typer.echo(
        f"移动端网页 / web app      {base}/\n"
        f"借款人接口 / borrower API  {base}/api/v1  (OpenAPI {base}/docs)\n"
        f"员工控制台 / staff console {base}/console  (先建员工账号 / first create a staff "
        "login: .venv/bin/mobilend staff add admin --role admin, asks for its password)\n"
        f"沙盒 / sandboxes          {base}/health  (SMS codes and test identities: the SMS "
        "sandbox's page; see README, Test identities)\n"
        "组合模拟 / simulation      .venv/bin/mobilend simulate --applicants 200 --days 120 "
        "--arrivals-within 30 (a fresh database; report in var/simulation/report.html, "
        "README: Portfolio simulation)\n"
        "Ctrl-C 停止 / stops"
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # uvicorn's own line carries full client addresses and unredacted query strings.
        access_log=False,
        # Forwarded headers are believed only from MOBILEND_TRUSTED_PROXIES (mobilend.edge);
        # uvicorn's own handling would believe any peer on 127.0.0.1.
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        # With several workers the supervisor pings each one; a worker busy serving a
        # burst on a small machine can take longer than uvicorn's 5 s default to answer,
        # and is then killed and restarted mid-request.
        timeout_worker_healthcheck=30,
    )


def refuse_unsafe_production() -> None:
    """Exit 2 with every problem listed when ``MOBILEND_ENV=production`` and the settings
    still hold a default or missing secret, key, or the embedded database."""
    from mobilend.config import describe_problems, get_settings, production_problems

    settings = get_settings()
    if not settings.is_production:
        return
    problems = production_problems(settings)
    if problems:
        typer.echo("拒绝启动 / refusing to start: " + describe_problems(problems), err=True)
        raise typer.Exit(code=2)


def _default_public_url(host: str, port: int) -> None:
    """Where the payment gateway and partner banks call back, when not configured: this
    host and port (a wildcard address is reached through the loopback). Put in the
    environment, so every worker process started by uvicorn sees it."""
    from mobilend.config import get_settings

    if get_settings().public_url:
        return
    os.environ["MOBILEND_PUBLIC_URL"] = f"http://{_reachable(host)}:{port}"
    get_settings.cache_clear()


def _reachable(host: str) -> str:
    """The address a browser on this machine uses for ``host`` (wildcards → loopback)."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"[{reachable}]" if ":" in reachable else reachable
