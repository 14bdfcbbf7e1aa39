"""``python -m assistants_async.server`` (or ``assistants-server``): serve the
Assistants API durably, on a SQLite file or a PostgreSQL database. ``--help`` lists
every option."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._keys import ENV_VAR, Keys, load_keys
from ._responders import Reply, Responder, RunContext, echo
from ._script import Script
from ._serve import ACCESS_LOG, AssistantsServer
from ._store import Store
from ._urls import is_postgres_url, redacted

__all__ = ["build_parser", "main"]

DEFAULT_DB = "assistants.sqlite3"

EPILOG = f"""\
API keys: each key is a tenant (what one key makes, no other key sees). Give them in
--keys-file (one a line; blank lines and # comments left out) and/or in the environment
variable {ENV_VAR} (separated by commas or spaces). At least one is needed. Keys are
compared in constant time; only a digest of each is kept, in memory and in the database,
and none is ever logged.

Runs: no model is behind them yet. A run's turn takes the script's reply (--script, the
format of `python -m assistants_async.testing --script`; queued replies are used once
per start of the server), else echoes the newest user message.

Logs (standard error): what the server does, and one JSON line per request (request_id,
method, path, status, ms, tenant, remote). The base URL is printed on standard output.

SIGTERM or Ctrl-C: stop listening, let the requests in flight and the moving runs finish
within --grace seconds, then close the database. After any stop, even kill -9, the next
start takes up the runs left active: queued ones and those whose turn had written
nothing resume, one stopped halfway through its turn fails with a last_error saying so,
one waiting on tool outputs still waits, one whose time is up expires.

Backups while serving: sqlite3 FILE ".backup COPY" (or the SQLite backup API); on
PostgreSQL, pg_dump.

PostgreSQL: --db postgresql://USER:PASSWORD@HOST:PORT/DATABASE (the database must exist;
its tables are made or migrated at start; the password is never printed). Needs the
postgres extra: pip install 'assistants-async[postgres]'.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistants_async.server",
        description="Serve the Assistants API (base URL: http://HOST:PORT/v1) on a SQLite "
        "file or a PostgreSQL database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0: any free port)"
    )
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="FILE|URL",
        help=f"the SQLite file, made if missing (default: ./{DEFAULT_DB}), or a postgresql:// URL",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=10,
        metavar="N",
        help="PostgreSQL: the most connections this process opens (default 10)",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="PostgreSQL: how long a process holds a moving run without renewing it; a "
        "run whose process died is taken over by another this long after (default 10)",
    )
    parser.add_argument(
        "--keys-file",
        type=Path,
        metavar="FILE",
        help=f"the accepted API keys, one a line (and/or {ENV_VAR})",
    )
    parser.add_argument(
        "--max-body",
        type=int,
        default=8 * 1024 * 1024,
        metavar="BYTES",
        help="the largest request body accepted; larger ones get a 413 (default 8388608)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl-C, how long requests in flight and moving runs may take "
        "to finish (default 30)",
    )
    parser.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help='a JSON file of replies and rules for runs: {"replies": [...], "rules": [...]}',
    )
    parser.add_argument(
        "--run-ttl", type=int, default=600, help="seconds before a run expires (default 600)"
    )
    parser.add_argument(
        "--timer-interval",
        type=float,
        default=0.01,
        metavar="SECONDS",
        help="the pause between two steps of a moving run (default 0.01)",
    )
    parser.add_argument(
        "--poll-after-ms",
        type=int,
        default=100,
        help="the openai-poll-after-ms header on runs still moving (default 100)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how often runs nobody reads are expired once their time is up (default 60)",
    )
    parser.add_argument(
        "--synchronous",
        choices=["NORMAL", "FULL"],
        default="NORMAL",
        help="SQLite's synchronous setting: NORMAL keeps every acknowledged write through "
        "a crash of the server; FULL also through a power loss, at a disk flush per "
        "write (default NORMAL)",
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="leave out the line per request"
    )
    parser.add_argument(
        "--no-beta-header",
        action="store_true",
        help="accept requests without 'OpenAI-Beta: assistants=v2' (by default a 400, as "
        "the service answered)",
    )
    return parser


def _responder(script_file: Path | None) -> Responder:
    script = Script()
    if script_file is not None:
        data: Any = json.loads(script_file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{script_file}: a script is a JSON object")
        script.load(data)
    fallback = echo()

    async def reply(ctx: RunContext) -> Reply:
        scripted = script.next_reply(ctx)
        return scripted if scripted is not None else await fallback(ctx)

    return reply


def _logging(access: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    server = logging.getLogger("assistants_async.server")
    server.addHandler(handler)
    server.setLevel(logging.INFO)
    lines = logging.StreamHandler(sys.stderr)
    lines.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOG.addHandler(lines)
    ACCESS_LOG.propagate = False
    ACCESS_LOG.setLevel(logging.INFO if access else logging.WARNING)


def _store(args: argparse.Namespace) -> tuple[Store, str]:
    """The store ``--db`` names, and how to show it (a path, or a URL without password).
    ImportError: the extra it needs is not installed."""
    if is_postgres_url(args.db):
        from ._postgres import PostgresStore

        return PostgresStore(args.db, pool_size=args.pool_size), redacted(args.db)
    from ._sqlite import SQLiteStore

    path = Path(args.db).resolve()
    # One process per file: a second is refused (its runs would be moved twice).
    return SQLiteStore(path, synchronous=args.synchronous, exclusive=True), str(path)


async def _serve(args: argparse.Namespace, keys: Keys, responder: Responder) -> int:
    try:
        store, where = _store(args)
    except ImportError as exc:  # aiosqlite and asyncpg are the extras'
        extra = "postgres" if is_postgres_url(args.db) else "server"
        print(
            f"error: {exc}; install the server's extra: pip install 'assistants-async[{extra}]'",
            file=sys.stderr,
        )
        return 1
    log = logging.getLogger("assistants_async.server")
    try:
        await store.open()
    except Exception as exc:
        print(f"error: cannot open {where}: {exc}", file=sys.stderr)
        await store.close()
        return 1
    try:
        server = AssistantsServer(
            store,
            keys,
            responder=responder,
            run_ttl=args.run_ttl,
            timer_interval=args.timer_interval,
            poll_after_ms=args.poll_after_ms,
            max_body=args.max_body,
            sweep_interval=args.sweep_interval,
            require_beta_header=not args.no_beta_header,
            lease=args.lease,
        )
        try:
            url = await server.start(args.host, args.port, grace=args.grace)
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        print(
            f"Assistants API on {url} (data: {where}; {len(keys)} API key(s); "
            "SIGTERM or Ctrl-C to stop)",
            flush=True,
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stopping.set)
        try:
            await stopping.wait()
        finally:
            log.info("stopping")
            await server.stop()
    finally:
        await store.close()
    log.info("stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_body < 1:
        parser.error("--max-body must be at least 1")
    if args.grace < 0:
        parser.error("--grace must be 0 or more")
    if args.pool_size < 1:
        parser.error("--pool-size must be at least 1")
    if not args.lease > 0:
        parser.error("--lease must be above 0")
    try:
        keys = load_keys(args.keys_file)
        responder = _responder(args.script)
    except (OSError, ValueError, TypeError) as exc:
        parser.error(str(exc))
    _logging(not args.no_access_log)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args, keys, responder))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
