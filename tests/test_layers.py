"""Imports follow one dependency order (README, "Architecture"): a module imports only
modules of its own layer or of the layers below it, wherever the import stands (at the
top or inside a function). Imports made only for type checking (``if TYPE_CHECKING:``)
are left out: they cost nothing at run time and cannot form an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assistants_async"

# Lowest first. A name stands for a module of the package, or for a package and all it holds.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "_version",
            "_random",
            "_types",
            "_signatures",
            "_errors",
            "_error_body",
            "_retry",
            "_json",
            "_headers",
            "_timeout",
        ),
    ),
    ("transport", ("_options", "_config", "_response", "_session", "_transport", "_sse")),
    ("models", ("_model", "_decoding", "_deviations", "_validators", "_schema", "models")),
    # Below the resources: their methods return paginators and streams and call the run
    # helpers, which use the resource they are given and import none.
    ("helpers", ("_accumulate", "_streaming", "_pagination", "_tools", "_polling")),
    ("resources", ("resources",)),
    ("client", ("_request", "_client", "__init__")),
    ("sync", ("sync",)),
    ("server", ("server",)),
    ("testing", ("testing",)),
    # The commands: the compatibility check (the client) and the demo (the fake server).
    ("commands", ("_check", "__main__")),
]


def layer_of(module: str) -> int:
    """The layer of ``module``, a dotted name inside the package ("" for the package)."""
    head = module.split(".")[0] or "__init__"
    for index, (_, names) in enumerate(LAYERS):
        if head in names:
            return index
    raise AssertionError(f"assistants_async.{module} belongs to no layer: add it to LAYERS")


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def imports(module: str, path: Path) -> list[tuple[str, int]]:
    """The package modules ``module`` imports (dotted, inside the package), with lines."""
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(sub) for sub in ast.walk(node))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [p for p in package if p]
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").startswith("assistants_async"):
                target = (node.module or "").removeprefix("assistants_async").lstrip(".")
            else:
                continue
            if not node.module and node.level:  # "from . import x": x a module, or a name
                for alias in node.names:
                    inner = PACKAGE.joinpath(*base, alias.name)
                    is_module = inner.is_dir() or inner.with_suffix(".py").exists()
                    found.append(
                        (".".join([*base, alias.name]) if is_module else target, node.lineno)
                    )
            else:
                found.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("assistants_async"):
                    name = alias.name.removeprefix("assistants_async").lstrip(".")
                    found.append((name, node.lineno))
    return found


MODULES = modules()


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m or "__init__" for m, _ in MODULES])
def test_imports_go_down_the_layers(module: str, path: Path) -> None:
    own = layer_of(module)
    upward = [
        f"line {line}: {target or '__init__'} ({LAYERS[layer_of(target)][0]})"
        for target, line in imports(module, path)
        if layer_of(target) > own
    ]
    assert upward == [], f"{module or '__init__'} ({LAYERS[own][0]}) imports upward: {upward}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The polling helpers once imported the resources inside a function.
    probe = tmp_path / "_polling.py"
    probe.write_text("def f():\n    from .resources.runs import run_path\n")
    assert imports("_polling", probe) == [("resources.runs", 2)]
    assert layer_of("resources.runs") > layer_of("_polling")
