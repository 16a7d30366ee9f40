"""Staff accounts: ``mobilend staff add USER --role R`` (e.g. the first admin).

The new account's password is asked for twice without echo (it is what the staff member
signs in with at ``POST /api/v1/ops/auth/login``), or read from
``MOBILEND_STAFF_PASSWORD`` for scripted set-ups. The new account is written to the
audit log.
"""

from __future__ import annotations

import os
import re

import typer

staff_app = typer.Typer(help="员工账号 / staff accounts.", no_args_is_help=True)

#: The same rule the staff sign-in applies (printable ASCII).
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,256}")


@staff_app.command("add")
def add_command(
    username: str = typer.Argument(..., help="登录名 / username (3-64 of a-z 0-9 . _ -)"),
    role: list[str] = typer.Option(
        ...,
        "--role",
        help="角色，可多次 / role, repeatable: admin, risk, operations, collections, "
        "finance, auditor",
    ),
) -> None:
    """新建员工账号 / Create a staff account with the given roles; asks for its password
    twice (or reads MOBILEND_STAFF_PASSWORD)."""
    from mobilend.adapters.db.engine import create_engine
    from mobilend.adapters.ids import SystemClock
    from mobilend.bootstrap.operations import build_staff_administration
    from mobilend.domain.errors import DomainError

    password = os.environ.get("MOBILEND_STAFF_PASSWORD") or typer.prompt(
        "密码 / password", hide_input=True, confirmation_prompt=True
    )
    if not _PRINTABLE.fullmatch(password):
        raise typer.BadParameter("密码只能含可打印ASCII字符 / password: printable ASCII only")
    admin = build_staff_administration(create_engine(pool_size=1))
    try:
        now = SystemClock().now()
        try:
            user = admin.directory.create_user(username, password, role, now)
        except DomainError as error:
            # Each problem once: the summary repeats them, so it is shown only alone.
            lines = [f"  {p.field}: {p.message}" for p in error.problems] or [f"  {error.message}"]
            typer.echo("未创建 / not created:\n" + "\n".join(dict.fromkeys(lines)), err=True)
            raise typer.Exit(1) from None
        roles = sorted(r.value for r in user.roles)
        admin.audit.append(
            at=now,
            actor="system:cli",
            action="staff.created",
            target=f"staff:{user.user_id}",
            details={"username": user.username, "roles": roles},
        )
    finally:
        admin.close()
    typer.echo(
        f"已创建 / created {user.username} ({user.user_id}) 角色 / roles: {', '.join(roles)}"
    )
