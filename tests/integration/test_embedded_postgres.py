"""The private PostgreSQL server: one per folder, found and reused by every process."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from mobilend.adapters.db.embedded import SIZING, EmbeddedPostgres

pytestmark = pytest.mark.db

FIND_FROM_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from mobilend.adapters.db.embedded import SIZING, EmbeddedPostgres
info = EmbeddedPostgres(Path(sys.argv[1])).start()
print(info.pid, info.port)
"""


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: pytest keeps its base folder private (mode 700), which the
    # server's own user could not traverse.
    path = Path(tempfile.mkdtemp(prefix="mobilend-embedded-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_server_is_shared_reused_and_stopped(scratch_dir: Path) -> None:
    # A checkout path long enough that its own socket path would not fit in sun_path.
    root = scratch_dir / ("deep-" + "x" * 60) / ("deeper-" + "y" * 40) / "pg"
    root.parent.mkdir(parents=True)
    server = EmbeddedPostgres(root)
    assert server.status() is None
    info = server.start()
    try:
        assert len(str(root / "run")) > 100
        assert len(str(info.socket_dir / f".s.PGSQL.{info.port}")) < 100
        for tcp in (False, True):
            with psycopg.connect(info.conninfo(tcp=tcp)) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)

        # Another object and another process find the running server instead of starting one.
        assert EmbeddedPostgres(root).start() == info
        out = subprocess.run(
            [sys.executable, "-c", FIND_FROM_ANOTHER_PROCESS, str(root)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        assert (int(out[0]), int(out[1])) == (info.pid, info.port)

        assert server.stop() is True
        assert server.status() is None
        assert server.stop() is False

        # A restart keeps the data and the port.
        again = server.start()
        assert again.port == info.port and again.pid != info.pid

        # Sized for a million loans: a large cache, checkpoints far apart.
        with psycopg.connect(again.conninfo()) as conn:
            shown = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in SIZING
            }
        assert shown == dict(SIZING)
    finally:
        server.stop(mode="immediate")
        if info.socket_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(info.socket_dir, ignore_errors=True)


def _refused(conninfo: str) -> str:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(conninfo, connect_timeout=5).close()
    return str(refused.value)


def test_every_connection_needs_the_generated_password(scratch_dir: Path) -> None:
    server = EmbeddedPostgres(scratch_dir / "pg")
    info = server.start()
    try:
        password_file = scratch_dir / "secrets" / "pg_password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert info.password == password_file.read_text().strip()
        assert len(info.password) >= 32
        hba = (info.data_dir / "pg_hba.conf").read_text()
        rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
        assert rules and all(rule[-1] == "scram-sha-256" for rule in rules)
        assert "trust" not in hba
        for tcp in (False, True):
            plain = replace(info, password="")
            assert "password" in _refused(plain.conninfo(tcp=tcp))
            wrong = replace(info, password="not-the-password")
            assert "password authentication failed" in _refused(wrong.conninfo(tcp=tcp))
            with psycopg.connect(info.conninfo(tcp=tcp)) as conn:
                method = conn.execute(
                    "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
                    "WHERE rolname = 'postgres'"
                ).fetchone()
                assert method == (True,)
        # The URL carries the password too (what the platform and the tests connect with).
        assert f"postgres:{info.password}@" in info.url("postgres", tcp=True)
    finally:
        server.stop(mode="immediate")
        if info.socket_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(info.socket_dir, ignore_errors=True)


def test_a_cluster_made_with_trust_is_locked_down_at_its_next_start(scratch_dir: Path) -> None:
    server = EmbeddedPostgres(scratch_dir / "pg")
    # As an older version made it: trust for everyone, no password.
    server._prepare_dirs()
    server._run("initdb", "-D", str(server.data_dir), "-U", "postgres", "--auth=trust")
    with open(server.data_dir / "postgresql.conf", "a") as conf:
        conf.write("\ninclude_if_exists = 'mobilend.conf'\n")
    info = server.start()
    try:
        assert "trust" not in (info.data_dir / "pg_hba.conf").read_text()
        assert "password" in _refused(replace(info, password="").conninfo(tcp=True))
        with psycopg.connect(info.conninfo(tcp=True)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop(mode="immediate")
        if info.socket_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(info.socket_dir, ignore_errors=True)


def test_a_running_server_started_with_trust_is_locked_down_when_found(
    scratch_dir: Path,
) -> None:
    server = EmbeddedPostgres(scratch_dir / "pg")
    info = server.start()
    try:
        # Running with the rules an older version wrote.
        hba = info.data_dir / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        server._pg_ctl("reload")
        found = EmbeddedPostgres(scratch_dir / "pg").start()
        assert found.pid == info.pid  # not restarted
        assert hba.read_text().startswith("# mobilend")
        assert "password" in _refused(replace(found, password="").conninfo(tcp=True))
    finally:
        server.stop(mode="immediate")
        if info.socket_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(info.socket_dir, ignore_errors=True)
