"""A throw-away PostgreSQL cluster for the tests.

``throwaway_cluster()`` runs initdb into a fresh temporary directory, starts the server listening only
on a unix socket in that directory (no TCP port is opened), creates the database ``cases_test`` and
yields an SQLAlchemy URL for it (psycopg 3 driver). On exit the server is stopped and the directory
deleted, whatever happened in between.

initdb and postgres refuse to run as root; as root the server programs run as the ``postgres`` system
user (created when missing) and the database superuser is ``postgres``. Otherwise they run as the
current user, whose name is then the superuser's.
"""

from __future__ import annotations

import getpass
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL, create_engine, text

DATABASE = "cases_test"
SYSTEM_USER = "postgres"
# Settings for a server whose data may be lost at any moment: no fsync, no full-page writes, no waiting
# for the WAL at commit. Appended to the cluster's postgresql.conf.
FAST_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_TIMEOUT = 120  # seconds for any one server program


def _has_programs(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in _PROGRAMS)


def _version_key(bin_dir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); a non-numeric version sorts first.
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (-1,)


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when there is none.

    Tried in order: ``pg_config --bindir``, the newest ``/usr/lib/postgresql/<version>/bin`` (Debian's
    layout, not on PATH) and the directory of the ``initdb`` on PATH (symlinks resolved).
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(Path(out))
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates.extend(Path(d) for d in debian)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    return next((d for d in candidates if _has_programs(d)), None)


def _free_port() -> int:
    # The server listens on no TCP port; the number only names the socket file (.s.PGSQL.<port>).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    try:
        subprocess.run(
            [useradd, "--system", "--no-create-home", SYSTEM_USER],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else exc
        raise RuntimeError(
            f"running as root, PostgreSQL needs the system user {SYSTEM_USER!r}; "
            f"`useradd --system --no-create-home {SYSTEM_USER}` failed: {detail}"
        ) from exc
    return pwd.getpwnam(SYSTEM_USER)


def _as(user: str | None, argv: list[str]) -> list[str]:
    """argv, run as user through runuser when user is given."""
    if user is None:
        return argv
    return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user, "--", *argv]


def _run(cmd: Sequence[str | Path], *, as_user: str | None, cwd: Path, log: Path | None = None) -> None:
    argv = _as(as_user, [str(part) for part in cmd])
    try:
        subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True, timeout=_TIMEOUT)
    except subprocess.CalledProcessError as exc:
        output = f"{exc.stdout}{exc.stderr}{_log_tail(log)}"
        raise RuntimeError(f"{' '.join(argv)} failed with exit code {exc.returncode}:\n{output}") from exc


def _log_tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return "\nserver log:\n" + log.read_text(errors="replace")[-4000:]


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a private PostgreSQL server; yield the SQLAlchemy URL of its database ``cases_test``."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server programs (initdb, pg_ctl, postgres) not found: no `pg_config --bindir`, "
            "/usr/lib/postgresql/*/bin or initdb on PATH holds them. Install Debian's package "
            "`postgresql` (`make system-deps` does), or set AD_SKIP_POSTGRES=1 to skip these tests."
        )
    as_root = os.geteuid() == 0
    run_as = SYSTEM_USER if as_root else None
    db_user = SYSTEM_USER if as_root else getpass.getuser()

    # Under /tmp, not $TMPDIR: a unix socket's path is limited to ~107 bytes, and as root the postgres
    # user must be able to traverse every parent directory.
    tmp = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    data = tmp / "data"
    log = tmp / "server.log"
    port = _free_port()
    started = False
    try:
        if as_root:
            account = _ensure_system_user()
            os.chown(tmp, account.pw_uid, account.pw_gid)
            tmp.chmod(0o755)  # the data dir inside stays 0700; root reaches the socket through here
        _run(
            [
                bin_dir / "initdb",
                "--pgdata",
                data,
                "--username",
                db_user,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",  # C collation: sorts by code point, as SQLite's BINARY collation does
                "--no-sync",
            ],
            as_user=run_as,
            cwd=tmp,
        )
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{tmp}'",
            "port": str(port),
            **FAST_SETTINGS,
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# throw-away test cluster (tests/postgres.py)\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        started = True  # from here on, stop whatever pg_ctl may have left running
        _run(
            [bin_dir / "pg_ctl", "--pgdata", data, "--log", log, "--wait", "--silent", "start"],
            as_user=run_as,
            cwd=tmp,
            log=log,
        )
        url = URL.create(
            "postgresql+psycopg",
            username=db_user,
            database="postgres",
            query={"host": str(tmp), "port": str(port)},
        )
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {DATABASE}"))
        except Exception as exc:
            raise RuntimeError(f"could not create database {DATABASE}: {exc}{_log_tail(log)}") from exc
        finally:
            engine.dispose()
        url = url.set(database=DATABASE)
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            if started:
                stop = [bin_dir / "pg_ctl", "--pgdata", data, "--mode", "immediate", "--wait", "stop"]
                subprocess.run(
                    _as(run_as, [str(part) for part in stop]),
                    cwd=tmp,
                    capture_output=True,
                    timeout=_TIMEOUT,
                    check=False,  # a server that already died is fine; the directory goes regardless
                )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
