"""A throwaway PostgreSQL cluster the checker may restart and kill at will.

It lives in its own directory on its own port, so killing it disturbs nothing
else on the machine. PostgreSQL refuses to run as root, so when the checker
runs as root the cluster's files belong to, and its commands run as, the
`postgres` OS user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg

DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
DATABASE = "examsync"


class ClusterError(RuntimeError):
    """The cluster could not be set up or started; the message says why."""


def find_bin_dir() -> Path:
    """The directory holding initdb and pg_ctl: PG_BIN_DIR, the Debian default, or pg_config's answer."""
    candidates = [os.environ.get("PG_BIN_DIR", ""), str(DEFAULT_BIN_DIR)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(result.stdout.strip())
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise ClusterError("PostgreSQL's initdb and pg_ctl were not found; set PG_BIN_DIR to their directory")


class PostgresCluster:
    def __init__(self, root: Path, port: int, *, unsafe: bool, bin_dir: Path | None = None) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.socket_dir = root / "socket"
        self.log_path = root / "postgresql.log"
        self.port = port
        self.unsafe = unsafe
        self.bin_dir = bin_dir or find_bin_dir()
        self._os_user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._os_user:
            command = ["runuser", "-u", self._os_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"{args[0]} {args[1] if len(args) > 1 else ''} failed: "
                               f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result

    def create(self) -> None:
        """initdb, configure, start, and create the database."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._os_user:
            try:
                entry = pwd.getpwnam(self._os_user)
            except KeyError:
                raise ClusterError("running as root needs a `postgres` OS user to own the cluster") from None
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        settings = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.socket_dir}'",
            "max_connections = 200",
            "fsync = on",
            "logging_collector = off",
        ]
        if self.unsafe:
            # The negative control: commits are acknowledged before their WAL is flushed, and the WAL
            # writer waits as long as it may, so a crash loses the last acknowledged transactions.
            settings += ["synchronous_commit = off", "wal_writer_delay = 10s"]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# examsync chaos\n" + "\n".join(settings) + "\n")
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        # A postmaster killed with SIGKILL leaves backends that exit only once they notice; until then
        # the old shared memory is in use and a new postmaster refuses to start, so keep trying.
        deadline = time.monotonic() + 60
        while True:
            result = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60",
                               "start", check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"PostgreSQL did not start: {result.stderr.strip()[-1000:]}\n"
                                   f"{self._log_tail()}")
            time.sleep(0.5)

    def restart(self, mode: str) -> None:
        """`pg_ctl restart -m fast|immediate`."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60",
                  "-m", mode, "restart")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill_postmaster(self, *, with_backends: bool) -> None:
        """SIGKILL the postmaster (and, for a crash with nothing flushed on the way out, all its children)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = _children_of(pid)
        _kill(pid)
        if with_backends:
            for child in children:
                _kill(child)
        # Wait for the orphaned backends to notice and exit, so the next start finds the shared memory free.
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in [pid, *children]) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in children:
            _kill(child)

    def stop(self) -> None:
        if self.postmaster_pid() is not None:
            self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "30", "-m", "immediate", "stop", check=False)
        pid = self.postmaster_pid()
        if pid is not None and _alive(pid):
            self.kill_postmaster(with_backends=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after the last ')' do not.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
