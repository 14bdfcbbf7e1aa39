"""A mutation sample: does the suite notice a one-line change to the code it covers?

Picks mutants at random (a fixed seed, so a run can be repeated) from the modules the
hardening issues named, each a single change to one AST node: a comparison turned
round, ``and`` for ``or``, a ``not`` dropped, a number moved by one, a statement
removed, a ``return`` value made ``None``. Each mutant runs the tests that cover its
module, in a copy of the tree of its own (two at a time), and is killed when they
fail. Survivors are printed with their change, for a reader to judge: a test to add,
or an equivalent mutant (listed in ``EQUIVALENT`` with the reason).

    python scripts/mutation_sample.py [--per-module N] [--seed S] [--jobs J] [--json OUT]
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# module -> the tests that cover it (run with -x: the first failure kills the mutant)
TARGETS: dict[str, list[str]] = {
    "assistants_async/_retry.py": [
        "tests/test_retry.py",
        "tests/reliability/test_survivors.py",
        "tests/test_transport.py",
    ],
    "assistants_async/_pagination.py": [
        "tests/test_pagination.py",
        "tests/reliability/test_round_three.py",
        "tests/reliability/test_survivors.py",
        "tests/test_compatible_servers.py",
    ],
    "assistants_async/_sse.py": [
        "tests/test_sse.py",
        "tests/reliability/test_round_three.py",
        "tests/test_compatible_servers.py",
    ],
    "assistants_async/_errors.py": [
        "tests/test_errors.py",
        "tests/reliability/test_survivors.py",
        "tests/test_compatible_servers.py",
    ],
    "assistants_async/_transport.py": [
        "tests/test_transport.py",
        "tests/test_client.py",
        "tests/reliability/test_survivors.py",
        "tests/reliability/test_round_three.py",
        "tests/reliability/test_timeouts.py",
        "tests/reliability/test_limits.py",
        "tests/test_gateways.py",
    ],
    # Split out of _transport.py (issue 23): the same tests cover them.
    "assistants_async/_session.py": [
        "tests/test_transport.py",
        "tests/test_client.py",
        "tests/reliability/test_survivors.py",
        "tests/test_gateways.py",
    ],
    "assistants_async/_config.py": [
        "tests/test_client.py",
        "tests/test_transport.py",
        "tests/test_gateways.py",
    ],
    "assistants_async/_response.py": [
        "tests/test_transport.py",
        "tests/reliability/test_limits.py",
        "tests/reliability/test_round_three.py",
    ],
    "assistants_async/_error_body.py": [
        "tests/test_errors.py",
        "tests/test_compatible_servers.py",
    ],
    "assistants_async/_accumulate.py": [
        "tests/test_stream_accumulation.py",
        "tests/reliability/test_round_three.py",
        "tests/test_run_helpers.py",
    ],
    "assistants_async/_validators.py": [
        "tests/test_validation.py",
        "tests/test_request_fields.py",
        "tests/reliability/test_survivors.py",
    ],
    "assistants_async/_streaming.py": [
        "tests/test_stream_accumulation.py",
        "tests/reliability/test_interrupts.py",
        "tests/test_run_helpers.py",
        "tests/test_compatible_servers.py",
        "tests/reliability/test_round_three.py",
    ],
    "assistants_async/resources/_validate.py": [
        "tests/test_validation.py",
        "tests/test_request_fields.py",
        "tests/reliability/test_survivors.py",
    ],
    "assistants_async/_schema.py": [
        "tests/test_validation.py",
        "tests/test_request_fields.py",
        "tests/reliability/test_round_three.py",
        "tests/reliability/test_survivors.py",
        "tests/test_fake_server.py",
    ],
    "assistants_async/sync/_portal.py": [
        "tests/test_sync.py",
        "tests/reliability/test_interrupts.py",
        "tests/reliability/test_survivors.py",
    ],
    "assistants_async/testing/_engine.py": [
        "tests/test_engine.py",
        "tests/test_fake_server.py",
        "tests/reliability/test_round_three.py",
    ],
}

# Mutants judged equivalent (no behaviour a user could see changes), by
# "module:line:change", with the reason.
EQUIVALENT: dict[str, str] = {
    "assistants_async/sync/_portal.py:57:delete statement": (
        "the loop thread's own cancel of calls in flight when it stops: Client.close() closes "
        "the async client first, which ends every call in flight (sleepers woken, "
        "connections and streams dropped), so no call is left for it to cancel"
    ),
}

_SWAPS: dict[type[ast.AST], type[ast.AST]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def _returns_none(node: ast.Return) -> bool:
    value = node.value
    return value is None or (isinstance(value, ast.Constant) and value.value is None)


def candidates(tree: ast.Module) -> list[tuple[int, str, Any]]:
    """Every single change this sampler can make: (line, what, how to make it)."""
    found: list[tuple[int, str, Any]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                swap = _SWAPS.get(type(op))
                if swap is not None:
                    found.append(
                        (node.lineno, f"{type(op).__name__} -> {swap.__name__}", (node, i, swap))
                    )
        elif isinstance(node, ast.BoolOp):
            other = "Or" if isinstance(node.op, ast.And) else "And"
            found.append((node.lineno, f"{type(node.op).__name__} -> {other}", (node, "boolop")))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append((node.lineno, "drop not", (node, "not")))
        elif (
            isinstance(node, ast.Constant)
            and type(node.value) in (int, float)
            and not isinstance(node.value, bool)
        ):
            found.append((node.lineno, f"{node.value!r} -> {node.value!r} + 1", (node, "number")))
        elif isinstance(node, ast.Return) and not _returns_none(node):
            found.append((node.lineno, "return None", (node, "return")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.If | ast.For | ast.While):
            for j, stmt in enumerate(node.body):
                if isinstance(stmt, ast.Expr | ast.Assign | ast.AugAssign | ast.Raise) and not (
                    isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                ):
                    found.append((stmt.lineno, "delete statement", (node, "delete", j)))
    return found


def mutate(source: str, index: int) -> tuple[str, int, str]:
    """``source`` with its ``index``-th candidate change made."""
    tree = ast.parse(source)
    line, what, how = candidates(tree)[index]
    node = how[0]
    if how[1] == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif how[1] == "not":
        node.op = ast.UAdd()  # +x: truthiness kept, the negation gone
        node.operand = ast.Call(ast.Name("bool", ast.Load()), [node.operand], [])
    elif how[1] == "number":
        node.value = node.value + 1
    elif how[1] == "return":
        node.value = None
    elif how[1] == "delete":
        node.body[how[2]] = ast.Pass()
    else:
        _, i, swap = how
        node.ops[i] = swap()
    return ast.unparse(ast.fix_missing_locations(tree)), line, what


def run_mutant(job: tuple[str, int, int]) -> dict[str, Any]:
    module, index, timeout = job
    original = (ROOT / module).read_text(encoding="utf-8")
    mutated, line, what = mutate(original, index)
    with tempfile.TemporaryDirectory(prefix="mutant-") as work:
        tree = Path(work)
        for part in ("assistants_async", "tests", "benchmarks"):
            shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
        (tree / module).write_text(mutated, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.monotonic()
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-x",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-m",
                    "not slow",
                    *TARGETS[module],
                ],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            killed = done.returncode != 0
            how = "failed" if killed else "survived"
        except subprocess.TimeoutExpired:
            killed, how = True, "timed out"
    key = f"{module}:{line}:{what}"
    return {
        "module": module,
        "line": line,
        "change": what,
        "killed": killed,
        "how": how,
        "equivalent": EQUIVALENT.get(key),
        "seconds": round(time.monotonic() - started, 1),
        "code": original.splitlines()[line - 1].strip(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-module", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", help="one module of TARGETS")
    args = parser.parse_args()
    rand = random.Random(args.seed)
    jobs = []
    for module in TARGETS:
        if args.only and module != args.only:
            continue
        count = len(candidates(ast.parse((ROOT / module).read_text(encoding="utf-8"))))
        for index in sorted(rand.sample(range(count), min(args.per_module, count))):
            jobs.append((module, index, args.timeout))
    results = []
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        for result in pool.map(run_mutant, jobs):
            results.append(result)
            mark = "killed" if result["killed"] else "SURVIVED"
            print(
                f"{mark:8} {result['module']}:{result['line']} {result['change']} "
                f"({result['how']}, {result['seconds']} s)  {result['code'][:70]}",
                flush=True,
            )
    counted = [r for r in results if not r["equivalent"]]
    killed = sum(r["killed"] for r in counted)
    engine = [r for r in counted if r["module"].endswith("_engine.py")]
    print(
        f"\n{len(results)} mutants, {len(results) - len(counted)} judged equivalent: "
        f"{killed} of {len(counted)} killed ({killed / max(1, len(counted)):.0%}); "
        f"run engine {sum(r['killed'] for r in engine)} of {len(engine)}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
