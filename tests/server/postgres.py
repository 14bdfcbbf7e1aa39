"""A throwaway PostgreSQL for the tests: found (or installed from Debian's packages when
absent), started as its own non-root user in a temporary folder on a free port of
127.0.0.1, and stopped with everything it wrote removed.

Nothing here skips: a PostgreSQL that cannot be found, installed or started is an error
that says why, so that a test needing it fails instead of passing unseen.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Cluster", "PostgresUnavailable", "find_bin", "install"]

ROOT = Path("/usr/lib/postgresql")
# Root may not run initdb; the Debian package makes this user.
SERVICE_USER = "postgres"
SUPERUSER = "postgres"
APT_LOCK = Path(tempfile.gettempdir()) / "assistants-async-apt.lock"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be found, installed or started (the message says which)."""


def find_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL under /usr/lib/postgresql, if any."""
    found = [p for p in ROOT.glob("*/bin") if (p / "pg_ctl").exists() and (p / "initdb").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def install() -> Path:
    """Debian's PostgreSQL, installed once (several test sessions may ask at once)."""
    if os.geteuid() != 0:
        raise PostgresUnavailable(
            f"no PostgreSQL under {ROOT} and not root to install it: "
            "apt-get install postgresql (the tests need it; they never skip)"
        )
    apt = shutil.which("apt-get")
    if apt is None:
        raise PostgresUnavailable(f"no PostgreSQL under {ROOT}, and no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Waits for another dpkg (an engineer's, a second test session) rather than failing.
    install = [apt, "install", "-y", "-qq", "--no-install-recommends"]
    install += ["-o", "DPkg::Lock::Timeout=300", "postgresql"]
    with APT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (found := find_bin()) is not None:  # another session did it meanwhile
            return found
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:  # the package lists may be missing or stale
            subprocess.run([apt, "update", "-qq"], env=env, capture_output=True, check=False)
            done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"apt-get install postgresql failed ({done.returncode}): {done.stderr[-2000:]}"
            )
    found = find_bin()
    if found is None:
        raise PostgresUnavailable(f"apt-get installed postgresql, yet no pg_ctl under {ROOT}")
    # Where services may start (no policy-rc.d), the package starts its own cluster:
    # the tests run their own, so leave none of the package's running.
    ctl = shutil.which("pg_ctlcluster")
    if ctl is not None:
        for cluster in Path("/etc/postgresql").glob("*/*"):
            subprocess.run(
                [ctl, cluster.parent.name, cluster.name, "stop"], capture_output=True, check=False
            )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One PostgreSQL server: ``start()``, ``url(database)``, ``create_database()``,
    ``stop()``."""

    def __init__(self) -> None:
        self.bin: Path | None = None
        self.folder: Path | None = None
        self.port = 0
        self._names = itertools.count(1)
        self._user: pwd.struct_passwd | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self._user is not None:  # root: as the service's own user
            command = [
                shutil.which("runuser") or "/usr/sbin/runuser",
                "-u",
                self._user.pw_name,
                "--",
                *command,
            ]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        if check and done.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(argv)} failed ({done.returncode}): {done.stdout}{done.stderr}"
            )
        return done

    def start(self) -> None:
        self.bin = find_bin() or install()
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and no user {SERVICE_USER!r} to run PostgreSQL as"
                ) from None
        self.folder = Path(tempfile.mkdtemp(prefix="assistants-pg-"))
        if self._user is not None:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        self._watch()
        try:
            self._run(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            # A port taken between the probe and the start: try another.
            for attempt in range(3):
                self.port = _free_port()
                options = (
                    f"-c listen_addresses=127.0.0.1 -p {self.port}"
                    f" -c unix_socket_directories={self.folder}"
                    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                    " -c max_connections=300"
                )
                done = self._run(
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.folder / "log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                    check=False,
                )
                if done.returncode == 0:
                    return
                if attempt == 2:
                    log = (self.folder / "log").read_text(errors="replace")[-2000:]
                    raise PostgresUnavailable(f"pg_ctl start failed: {done.stderr}{log}")
        except BaseException:
            self.stop()
            raise

    def _watch(self) -> None:
        """A watchdog that stops the server and removes its folder once this process
        ends, however it ends (kill -9 included): it waits for the end of a pipe only
        this process holds. In a session of its own, so that Ctrl-C does not stop it
        before the tests' own clean-up has run."""
        assert self.bin is not None
        assert self.folder is not None
        stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        if self._user is not None:
            stop = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", self._user.pw_name]
            stop += ["--", str(self.bin / "pg_ctl"), "-D", str(self.data)]
            stop += ["-m", "immediate", "stop"]
        script = 'cat >/dev/null; folder=$1; shift; "$@" >/dev/null 2>&1; rm -rf "$folder"'
        self._watchdog = subprocess.Popen(
            ["/bin/sh", "-c", script, "watchdog", str(self.folder), *stop],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
        )

    def stop(self) -> None:
        """Stop the server (at once: its data is thrown away) and remove its folder."""
        if self.folder is None:
            return
        if self.bin is not None and (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            assert watchdog.stdin is not None
            watchdog.stdin.close()
            watchdog.wait(60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> None:
        assert self.bin is not None
        self._run(
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.url(database),
            "-c",
            sql,
        )

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"test_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(PostgresUnavailable):  # the cluster may be stopping
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
