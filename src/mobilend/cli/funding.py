"""Funding commands: ``mobilend funders list|add|joint|strategy|settlement``,
``mobilend reconcile --date D`` and ``mobilend disbursement worker|status|dead-letters|retry``.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mobilend.cli.output import print_table
from mobilend.domain.business_day import business_today

console = Console()

funders_app = typer.Typer(
    help="资金方 / funders: the registry, joint programmes, routing strategy.",
    no_args_is_help=True,
)
disbursement_app = typer.Typer(
    help="放款 / disbursement: the payout worker and what operators see.", no_args_is_help=True
)


def _lending() -> Any:
    from mobilend.bootstrap.lending import build_lending

    return build_lending()


def _date(value: str | None) -> dt.date:
    return dt.date.fromisoformat(value) if value else business_today()


def _money(value: str | None) -> Any:
    from mobilend.domain.money import Money

    return None if value in (None, "") else Money(value)


def _fail(exc: Exception) -> None:
    console.print(f"[red]{type(exc).__name__}[/]: {exc}")
    raise typer.Exit(code=2)


# --------------------------------------------------------------------------- funders


@funders_app.command("list")
def list_command(
    on: str = typer.Option(None, "--date", help="业务日期 / business date (default today)"),
) -> None:
    """列出资金方及额度使用 / List funders with quota use and outstanding balance."""
    from mobilend.app.funding.routing import list_funders, list_programmes

    lending = _lending()
    day = _date(on)
    table = Table(
        "code", "名称 name", "类型 kind", "白名单 whitelist", "今日 today", "累计 total",
        "余额 outstanding", "资金成本 cost", "利息分成 share", "审批 approval",
    )  # fmt: skip
    for view in list_funders(lending.uow_factory, day):
        f, p = view.funder, view.position
        quota = f" / {f.daily_quota.format()}" if f.daily_quota else ""
        limit = f" / {f.max_balance.format()}" if f.max_balance else ""
        table.add_row(
            f.code, f.name, f.kind.value, view.whitelist_problem or "ok",
            p.routed_today.format() + quota, p.routed_total.format(),
            p.outstanding.format() + limit, f"{f.cost_of_funds:.2%}", f"{f.interest_share:.0%}",
            "yes" if f.requires_approval else "no",
        )  # fmt: skip
    print_table(console, table)
    programmes = Table("programme", "shares", "priority", "weight", "enabled")
    for programme in list_programmes(lending.uow_factory):
        shares = " + ".join(f"{s.funder_code} {s.share:.0%}" for s in programme.shares)
        programmes.add_row(
            programme.code, shares, str(programme.priority), str(programme.weight),
            "yes" if programme.enabled else "no",
        )  # fmt: skip
    print_table(console, programmes)


@funders_app.command("add")
def add_command(
    code: str = typer.Option(..., help="代码 / code, e.g. bank_a"),
    name: str = typer.Option(..., help="名称 / name"),
    kind: str = typer.Option("bank", help="bank | consumer_finance | micro_lender | own_pool"),
    licence: str = typer.Option(..., "--licence", help="金融许可证号 / licence number"),
    whitelisted_from: str = typer.Option(..., "--from", help="白名单生效日 / whitelisted from"),
    whitelisted_until: str = typer.Option(None, "--until", help="白名单到期日 / until"),
    status: str = typer.Option("whitelisted", help="whitelisted | pending | suspended | removed"),
    regions: str = typer.Option("", help="服务地区代码，逗号分隔（空=全部）/ regions"),
    products: str = typer.Option("", help="产品代码，逗号分隔（空=全部）/ products"),
    min_score: int = typer.Option(None, help="评分下限 / score cut-off"),
    min_amount: str = typer.Option("500.00", help="单笔下限 / minimum amount"),
    max_amount: str = typer.Option("200000.00", help="单笔上限 / maximum amount"),
    daily_quota: str = typer.Option(None, help="日额度 / daily quota"),
    total_quota: str = typer.Option(None, help="总额度 / total quota"),
    max_balance: str = typer.Option(None, help="余额上限（集中度）/ concentration limit"),
    cost_of_funds: str = typer.Option("0.05", help="资金成本（年化）/ cost of funds"),
    interest_share: str = typer.Option("0.8", help="利息分成 / interest share"),
    approval: bool = typer.Option(True, "--approval/--no-approval", help="逐笔审批 / decides"),
    priority: int = typer.Option(100, help="优先级（小者先）/ priority (lower first)"),
    joint_only: bool = typer.Option(False, help="只参与联合贷 / lends only jointly"),
) -> None:
    """登记资金方 / Register a funder (and, unless joint only, its own programme)."""
    from mobilend.app.funding.routing import register_funder
    from mobilend.domain.errors import DomainError
    from mobilend.domain.funding import Funder, FunderKind, WhitelistStatus

    try:
        funder = Funder(
            code=code, name=name, kind=FunderKind(kind), licence_no=licence,
            whitelist_status=WhitelistStatus(status),
            whitelisted_from=dt.date.fromisoformat(whitelisted_from),
            whitelisted_until=dt.date.fromisoformat(whitelisted_until) if whitelisted_until else None,
            regions=frozenset(r for r in regions.split(",") if r),
            products=frozenset(p for p in products.split(",") if p),
            min_score=min_score, min_amount=_money(min_amount), max_amount=_money(max_amount),
            daily_quota=_money(daily_quota), total_quota=_money(total_quota),
            max_balance=_money(max_balance), cost_of_funds=Decimal(cost_of_funds),
            interest_share=Decimal(interest_share), requires_approval=approval, priority=priority,
        )  # fmt: skip
        lending = _lending()
        register_funder(lending.uow_factory, funder, single_programme=not joint_only)
    except (DomainError, ValueError) as exc:
        _fail(exc)
    console.print(f"已登记 / registered funder [bold]{code}[/]")
    # Routing passes over a partner the rules do not allow; say so now, not at a draw.
    for breach in lending.cost_caps.partner_breaches(funder, "*", lending.today()):
        console.print(f"[yellow]{breach.message}[/]")


@funders_app.command("joint")
def joint_command(
    code: str = typer.Option(..., help="方案代码 / programme code"),
    part: list[str] = typer.Option(..., help="资金方=比例 / funder=share, e.g. own_pool=0.3"),
    name: str = typer.Option("", help="名称 / name"),
    priority: int = typer.Option(50, help="优先级 / priority"),
    weight: str = typer.Option("1", help="轮询权重 / round-robin weight"),
) -> None:
    """联合贷方案（自有资金≥30%）/ A joint-lending programme (own pool ≥ 30 %)."""
    from mobilend.app.funding.routing import add_programme
    from mobilend.domain.errors import DomainError
    from mobilend.domain.funding import Programme, ProgrammeShare

    try:
        shares = []
        for item in part:
            funder, _, share = item.partition("=")
            shares.append(ProgrammeShare(funder.strip(), Decimal(share)))
        programme = Programme(code, name or code, tuple(shares), priority, Decimal(weight))
        lending = _lending()
        add_programme(lending.uow_factory, programme, rules=lending.cost_caps, on=lending.today())
    except (DomainError, ValueError, ArithmeticError) as exc:
        _fail(exc)
    console.print(f"已添加联合贷方案 / joint programme [bold]{code}[/] added")


@funders_app.command("strategy")
def strategy_command(
    strategy: str = typer.Argument(None, help="priority | cheapest | round_robin"),
    joint_limit: str = typer.Option(None, help="联合贷余额上限 / ceiling on joint balance"),
    approval_timeout: int = typer.Option(None, help="审批超时秒数 / approval timeout (s)"),
) -> None:
    """路由策略 / Set the routing strategy and limits (no arguments: show them)."""
    from mobilend.app.funding.routing import configure_funding
    from mobilend.domain.errors import DomainError

    try:
        settings = configure_funding(
            _lending().uow_factory,
            strategy=strategy,
            joint_balance_limit=_money(joint_limit),
            approval_timeout_s=approval_timeout,
        )
    except DomainError as exc:
        _fail(exc)
    limit = settings.joint_balance_limit
    console.print(
        f"strategy {settings.strategy}; joint balance limit "
        f"{limit.format() if limit else 'none'}; approval timeout {settings.approval_timeout_s}s"
    )


@funders_app.command("settlement")
def settlement_command(
    first: str = typer.Option(..., "--from", help="起始日 / first business date"),
    last: str = typer.Option(None, "--to", help="截止日 / last business date (default: --from)"),
) -> None:
    """资金方结算 / What each funder is owed out of what borrowers paid."""
    from mobilend.app.funding.reconciliation import partner_settlement

    start = dt.date.fromisoformat(first)
    rows = partner_settlement(_lending().uow_factory, start, _date(last) if last else start)
    table = Table(
        "funder", "loans", "本金 principal", "利息 interest", "费用 fees", "罚息 penalty",
        "应付 owed", "平台留存 margin",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r.funder_code, str(r.loans), r.principal.format(), r.interest.format(),
            r.fees.format(), r.penalty.format(), r.total.format(), r.platform_margin.format(),
        )  # fmt: skip
    print_table(console, table)


# --------------------------------------------------------------------------- rail side


def _desk(
    rail_url: str | None,
    rail_secret: str | None,
    accounts_file: Path | None,
    partners: list[str],
    options: dict[str, Any] | None = None,
    timeout: float = 5.0,
) -> Any:
    from mobilend.app.funding.ports import DisbursementSettings
    from mobilend.bootstrap.funding import (
        build_disbursement,
        build_http_rail,
        build_partner_banks,
        payout_accounts_from_file,
    )
    from mobilend.config import get_settings

    settings = get_settings()
    url = rail_url or settings.payment_gateway_url
    if not url:
        raise typer.BadParameter(
            "需要支付网关地址 / the payment gateway's address is needed: pass --rail-url URL or "
            "set MOBILEND_PAYMENT_GATEWAY_URL (a service started with no gateway configured "
            "runs a sandbox one: its URL is printed at start and listed by GET /health)",
            param_hint="--rail-url",
        )
    from mobilend.adapters.counterparty_secrets import counterparty_secrets

    secrets = counterparty_secrets(settings)
    secret = rail_secret or secrets.rail
    rail = build_http_rail(
        url, secret, timeout=timeout, retries=2, breaker_threshold=10, breaker_reset_s=2.0
    )
    urls = dict(item.partition("=")[::2] for item in partners)
    return build_disbursement(
        _lending(),
        rail=rail,
        payout_accounts=payout_accounts_from_file(accounts_file) if accounts_file else None,
        partners=build_partner_banks(urls, secrets.partners, timeout=timeout),
        settings=DisbursementSettings(**(options or {})),
    )


RAIL_URL = typer.Option(
    None,
    "--rail-url",
    envvar="MOBILEND_PAYMENT_GATEWAY_URL",
    help="支付网关地址 / payment gateway base URL (the sandbox's is in GET /health)",
)
RAIL_SECRET = typer.Option(None, "--rail-secret", envvar="MOBILEND_RAIL_SECRET")
ACCOUNTS = typer.Option(
    None, "--accounts-file", help="收款账户 JSON（测试/模拟）/ payout accounts (tests, sims)"
)
PARTNERS = typer.Option([], "--partner", help="资金方代码=地址 / funder=partner bank URL")


def reconcile_command(
    on: str = typer.Option(..., "--date", help="对账日 / business date"),
    rail_url: str = RAIL_URL,
    rail_secret: str = RAIL_SECRET,
) -> None:
    """日终对账 / Reconcile the rail's statement with the ledger, and show what each funder is
    owed from the day's collections; exit 1 on any break."""
    from mobilend.app.funding.reconciliation import reconcile_rail

    day = dt.date.fromisoformat(on)
    report = reconcile_rail(_desk(rail_url, rail_secret, None, []), day)
    settlement_command(first=on, last=on)
    console.print(
        f"{report.business_date}: {report.statement_lines} statement lines, "
        f"{report.matched} matched, {len(report.breaks)} breaks, "
        f"{len(report.resolved_from_statement)} resolved from the statement; in transit "
        f"{report.in_transit_balance.format()} (open payouts {report.in_transit_expected.format()})"
    )
    if report.breaks:
        table = Table("kind", "key", "loan", "statement", "ledger")
        for b in report.breaks:
            table.add_row(b.kind, b.idempotency_key, b.loan_id, b.statement, b.ledger)
        print_table(console, table)
        raise typer.Exit(code=1)
    console.print("[green]对账无差异 / reconciliation clean[/]")


@disbursement_app.command("worker")
def worker_command(
    rail_url: str = RAIL_URL,
    rail_secret: str = RAIL_SECRET,
    accounts_file: Path = ACCOUNTS,
    partner: list[str] = PARTNERS,
    threads: int = typer.Option(2, min=1, max=32, help="线程数 / threads"),
    idle: float = typer.Option(0.2, help="空闲等待秒数 / idle pause (s)"),
    batch: int = typer.Option(20, help="每次领取条数 / claim batch size"),
    lease: float = typer.Option(60.0, help="领取租约秒数 / claim lease (s)"),
    confirm_after: float = typer.Option(60.0, help="多久未确认即查询 / poll after (s)"),
    max_attempts: int = typer.Option(8, help="死信前尝试次数 / attempts before dead letter"),
    backoff: float = typer.Option(1.0, help="退避基数秒 / backoff base (s)"),
    timeout: float = typer.Option(5.0, help="HTTP 超时秒 / HTTP timeout (s)"),
) -> None:
    """放款工作进程 / Run the disbursement worker until SIGTERM/SIGINT."""
    from mobilend.app.funding.worker import run_worker

    options = {
        "batch_size": batch, "lease_s": lease, "confirm_after_s": confirm_after,
        "max_attempts": max_attempts, "backoff_base_s": backoff,
    }  # fmt: skip
    desk = _desk(rail_url, rail_secret, accounts_file, partner, options, timeout)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    workers = [
        threading.Thread(
            target=run_worker,
            args=(desk,),
            kwargs={"should_stop": stop.is_set, "idle_s": idle},
            daemon=True,
        )
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    print("disbursement worker ready", flush=True)
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(timeout=0.5)
        if stop.is_set():
            break
    for worker in workers:
        worker.join(timeout=30)
    sys.stdout.flush()


@disbursement_app.command("status")
def status_command(loan_id: str = typer.Argument(..., help="贷款编号 / loan id")) -> None:
    """放款状态 / A loan's payout: pending, paid or failed, and where it stands."""
    from mobilend.app.funding.disbursement import disbursement_status
    from mobilend.domain.errors import DomainError

    try:
        view = disbursement_status(_lending().uow_factory, loan_id)
    except DomainError as exc:
        _fail(exc)
    funders = ", ".join(f"{code} {amount.format()}" for code, amount in view.funders)
    console.print(
        f"{view.loan_id}: [bold]{view.status}[/] ({view.stage}) {view.amount.format()} "
        f"ref {view.rail_reference or '-'} {view.failure_code} funders: {funders}"
    )


@disbursement_app.command("dead-letters")
def dead_letters_command() -> None:
    """待人工处理的放款 / Payouts waiting for operators (dead letters, needs review)."""
    from mobilend.app.funding.dispatch import dead_letters, payout_counts

    lending = _lending()
    console.print(payout_counts(lending.uow_factory))
    table = Table("loan", "status", "amount", "attempts", "last error", "updated")
    for p in dead_letters(lending.uow_factory):
        table.add_row(
            p.loan_id, p.status, p.amount.format(), str(p.attempts), p.last_error[:80],
            str(p.updated_at),
        )  # fmt: skip
    print_table(console, table)


@disbursement_app.command("retry")
def retry_command(
    loan_id: str = typer.Argument(..., help="贷款编号 / loan id"),
    rail_url: str = RAIL_URL,
    rail_secret: str = RAIL_SECRET,
) -> None:
    """重新放款（同一幂等键）/ Send a dead-lettered payout again, same idempotency key."""
    from mobilend.app.funding.dispatch import retry_payout
    from mobilend.domain.errors import DomainError

    try:
        payout = retry_payout(_desk(rail_url, rail_secret, None, []), loan_id)
    except DomainError as exc:
        _fail(exc)
    console.print(f"{payout.loan_id}: {payout.status}")
