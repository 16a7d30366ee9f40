"""Security operations: ``mobilend audit verify`` and ``mobilend keys rotate``.

``audit verify`` walks the hash-chained audit log in sequence order and recomputes every
link: a changed, removed or reordered record is reported with the first sequence number
that fails (exit 1). It prints the head (sequence and hash) to keep somewhere the
database's administrators cannot write; passing it back as ``--anchor`` also catches
records removed from the end.

``keys rotate`` re-seals personal data under the newest key of ``MOBILEND_PII_KEYS``
(borrowers' identity fields and birth dates, the applicant fields and data-source
answers in decision records) in short batches beside live traffic. Give every service
the new ring first (new key first, old keys after it), run this until it reports 0
rows, then drop the old key from the ring.
"""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="审计日志 / the audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="加密密钥 / PII encryption keys.", no_args_is_help=True)


def _anchor(text: str) -> tuple[int, str] | None:
    if not text:
        return None
    seq, sep, digest = text.partition(":")
    if not (sep and seq.isdigit() and len(digest) == 64):
        raise typer.BadParameter("--anchor 写作 / is written SEQ:SHA256 (64 hex digits)")
    return int(seq), digest.lower()


@audit_app.command("verify")
def verify_command(
    anchor: str = typer.Option(
        "", "--anchor", help="此前记下的 SEQ:HASH / a head printed by an earlier run"
    ),
    batch_size: int = typer.Option(5000, "--batch-size", min=1, help="每批条数 / rows per read"),
) -> None:
    """校验审计日志哈希链 / Verify the audit log's hash chain (exit 1 when broken)."""
    from mobilend.adapters.auth.audit import verify_chain
    from mobilend.adapters.db.engine import create_engine
    from mobilend.adapters.db.security_repository import SqlAuditStore

    expected = _anchor(anchor)
    engine = create_engine(pool_size=1)
    try:
        result = verify_chain(SqlAuditStore(engine).iter_records(batch_size), anchor=expected)
    finally:
        engine.dispose()
    if not result.ok:
        typer.echo(
            f"审计日志已被篡改 / audit log broken at sequence {result.first_bad_seq}: "
            f"{result.reason} ({result.checked} records intact before it)",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(
        f"审计日志完整 / audit log intact: {result.checked} records; "
        f"head {result.head_seq}:{result.head_hash}"
    )


@keys_app.command("rotate")
def rotate_command(
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="每批行数 / rows per batch"),
) -> None:
    """用最新密钥重新加密个人信息 / Re-seal personal data under the newest key."""
    from mobilend.adapters.db.decision_record_repository import rotate_decision_records
    from mobilend.adapters.db.engine import create_engine
    from mobilend.adapters.db.onboarding_repository import rotate_borrower_pii
    from mobilend.bootstrap.infra import load_vault as _vault
    from mobilend.config import get_settings

    vault = _vault(get_settings())
    engine = create_engine(pool_size=1)
    try:
        borrowers = rotate_borrower_pii(engine, vault, batch_size=batch_size)
        decisions = rotate_decision_records(engine, vault, batch_size=batch_size)
    finally:
        engine.dispose()
    typer.echo(
        f"已用密钥 {vault.current_key_id} 重新加密 / re-sealed under {vault.current_key_id}: "
        f"{borrowers} borrowers, {decisions} decision records"
    )
    if borrowers or decisions:
        typer.echo("再运行一次直到为 0 / run again until both are 0, then retire the old key")
