"""``python -m assistants_async.server`` (or ``assistants-server``): serve the
Assistants API durably, on a SQLite file or a PostgreSQL database. ``--help`` lists
every option."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ._chat import ChatResponder, add_model_arguments, model_settings
from ._cli import add_listen_options, add_run_options, is_loopback, load_script, until_stopped
from ._control import CONTROL_PREFIX
from ._keys import ENV_VAR, Keys, load_keys
from ._responders import Responder, echo
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

Runs: with --model-base-url, each turn of a run is one streamed call to that
OpenAI-compatible Chat Completions endpoint (function tools only: a run with
code_interpreter, file_search, image_file parts or attachments is refused with a 400).
Without it, a run's turn takes the script's reply (--script, the format of
`python -m assistants_async.testing --script`; queued replies are used once per start
of the server), else echoes the newest user message.

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


The control plane (--control; off by default): the fake server's, under
http://HOST:PORT/__fake__/, for test suites that drive either server. No key needed.
  POST   /__fake__/reset      delete every tenant's objects, runs and idempotency keys,
                              the script and the request log
  POST   /__fake__/script     {{"replies": [...], "rules": [...]}}  (the --script format)
  DELETE /__fake__/script
  GET    /__fake__/requests   the requests that passed the key, beta-header and size
                              checks (keys masked); DELETE clears it
  GET    /__fake__/health     {{"status": "ok"}} once the database answers
Not offered (a 404 says why): faults, clock, progress. Anyone who reaches the port can
reset everything: --control binds loopback only, unless --allow-remote-control.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistants_async.server",
        description="Serve the Assistants API (base URL: http://HOST:PORT/v1) on a SQLite "
        "file or a PostgreSQL database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_listen_options(parser)
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
        help="PostgreSQL: the most connections this process opens for requests and runs "
        "(default 10; one more listens for cancels and streams)",
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
    add_run_options(parser, timer_interval=0.01)
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
        "--control",
        action="store_true",
        help=f"serve the control plane under {CONTROL_PREFIX}/ (reset, script, request log, "
        "health; no key needed): for test suites, never for real data",
    )
    parser.add_argument(
        "--allow-remote-control",
        action="store_true",
        help="let --control be served on an address other than loopback: anyone who "
        "reaches it can delete every tenant's data",
    )
    add_model_arguments(parser)
    return parser


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


async def _serve(args: argparse.Namespace, keys: Keys, script: Script, responder: Responder) -> int:
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
            script=script,
            control=args.control,
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
        control = url.removesuffix("/v1") + CONTROL_PREFIX + "/"
        if args.control:
            log.warning(
                "the control plane is on at %s: anyone who reaches it can delete every "
                "tenant's data, without a key",
                control,
            )
        print(
            f"Assistants API on {url} (data: {where}; {len(keys)} API key(s); "
            + (f"control plane: {control}; " if args.control else "")
            + "SIGTERM or Ctrl-C to stop)",
            flush=True,
        )
        try:
            await until_stopped()
        finally:
            log.info("stopping")
            await server.stop()
    finally:
        if isinstance(responder, ChatResponder):
            await responder.aclose()
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
    if args.allow_remote_control and not args.control:
        parser.error("--allow-remote-control goes with --control")
    if args.control and not is_loopback(args.host) and not args.allow_remote_control:
        parser.error(
            f"--control on --host {args.host} would let anyone who reaches it delete every "
            "tenant's data: bind a loopback address (127.0.0.1, ::1, localhost), or add "
            "--allow-remote-control"
        )
    if args.pool_size < 1:
        parser.error("--pool-size must be at least 1")
    if not args.lease > 0:
        parser.error("--lease must be above 0")
    script = Script()
    try:
        keys = load_keys(args.keys_file)
        settings = model_settings(args)
        if settings is not None and args.script is not None:
            raise ValueError("--script and --model-base-url answer runs each: give one")
        load_script(args.script, script)
        responder: Responder = ChatResponder(settings) if settings else echo()
    except (OSError, ValueError, TypeError) as exc:
        parser.error(str(exc))
    _logging(not args.no_access_log)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args, keys, script, responder))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
