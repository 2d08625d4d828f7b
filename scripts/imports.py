"""Print the import circles between files and the imports that run back up.

    .venv/bin/python scripts/imports.py            # the whole project
    .venv/bin/python scripts/imports.py --strict   # exit 1 on anything found

Reads the source with `ast` (nothing is imported or run). Tests, migrations and
bench/ are left out. "Back up" means a package importing one that stands above
it in LAYERS (docs/architecture.md draws the same floors); packages on one floor
may not import each other either. Imports inside functions count: a lazy import
is still an arrow.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# From the ground up. A package may import the ones on lower floors only.
LAYERS: list[set[str]] = [
    {"common"},
    {"accounts"},
    {"brokers"},
    {"billing", "paperbroker"},
    {"risk"},
    {"webhooks"},
    {"dashboard"},
    {"tradeflow"},
]
# An import that stays inside these pairs of files is the one circle allowed:
# a task module and the service module that enqueues it.
ALLOWED_PAIRS = ("tasks.py", "enqueue.py")
SKIP_PARTS = {"tests", "migrations", ".venv", "var", "bench", "static"}


def floor_of(package: str) -> int | None:
    for index, names in enumerate(LAYERS):
        if package in names:
            return index
    return None


def source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if SKIP_PARTS.intersection(parts) or len(parts) < 2:
            continue
        if floor_of(parts[0]) is not None:
            yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (a name imported from a package that
    is itself a module counts as that module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = here[: len(here) - node.level + 1]
                base = ".".join([*prefix, base] if base else prefix)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def allowed(component: list[str]) -> bool:
    """Two modules of one package: its tasks and the module that enqueues them."""
    if len(component) != 2:
        return False
    a, b = (name.rpartition(".") for name in component)
    names = {a[2] + ".py", b[2] + ".py"}
    return a[0] == b[0] and names == set(ALLOWED_PAIRS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 if any")
    args = parser.parse_args()
    files = {module_name(path): path for path in source_files()}
    graph = {name: imported_modules(path, files) for name, path in files.items()}
    upward = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if _runs_up(source, target)
    )
    found = circles(graph)
    bad = [component for component in found if not allowed(component)]
    print(f"{len(files)} files, {sum(map(len, graph.values()))} imports")
    print(f"import circles between files: {len(bad)}", end="")
    print(f" (and {len(found) - len(bad)} task/enqueue pairs)" if found else "")
    for component in found:
        mark = "  (allowed)" if component not in bad else ""
        print("  " + " <-> ".join(component) + mark)
    print(f"imports that run back up or sideways: {len(upward)}")
    for source, target in upward:
        print(f"  {source} -> {target}")
    return 1 if args.strict and (bad or upward) else 0


def _runs_up(source: str, target: str) -> bool:
    a, b = source.split(".")[0], target.split(".")[0]
    if a == b:
        return False
    floor_a, floor_b = floor_of(a), floor_of(b)
    assert floor_a is not None and floor_b is not None
    return floor_b >= floor_a


if __name__ == "__main__":
    raise SystemExit(main())
