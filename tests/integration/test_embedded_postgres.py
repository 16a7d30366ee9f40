"""The private PostgreSQL server: one per folder, found and reused by every process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from mobilend.adapters.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.db

FIND_FROM_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from mobilend.adapters.db.embedded import EmbeddedPostgres
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
    finally:
        server.stop(mode="immediate")
        if info.socket_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(info.socket_dir, ignore_errors=True)
