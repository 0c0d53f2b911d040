"""The package's shape: folders that follow the pipeline, one job per module (a docstring says
which, CONTRIBUTING maps them all), no module over 350 lines, no import cycle, and no private name
imported across modules."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bertclf"
MAX_LINES = 350


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, name: str) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``bertclf`` import in ``path``, at any depth (function-level too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.startswith("bertclf")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            if module.startswith("bertclf"):
                found.append((module, [alias.name for alias in node.names]))
    return found


def graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (``from a import b`` of a submodule counts as ``a.b``);
    importing ``a.b`` also runs the package ``a``'s ``__init__``."""
    known = modules()
    edges = {}
    for name, path in known.items():
        targets = set()
        for module, names in imports(path, name):
            chosen = {f"{module}.{n}" for n in names if f"{module}.{n}" in known} or {module}
            for target in chosen:
                parts = target.split(".")
                targets |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)}  # the packages on the way
        edges[name] = {t for t in targets if t in known and t != name and not name.startswith(t + ".")}
    return edges


def test_no_module_is_over_the_line_limit():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by job (over {MAX_LINES} lines): {long}"


def test_every_module_says_its_job_in_a_docstring():
    missing = [name for name, path in modules().items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing


def test_no_private_name_is_imported_across_modules():
    crossing = [f"{name}: from {module} import {n}" for name, path in modules().items()
                for module, names in imports(path, name) for n in names if n.startswith("_") and n != "__version__"]
    assert not crossing


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(graph()) is None, f"import cycle: {' -> '.join(find_cycle(graph()))}"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_contributing_maps_every_module():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## The package", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(bertclf[\w./]*\.py)`|`([\w/]+\.py)`", section))
    listed = {a or b for a, b in named}
    paths = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")}
    missing = sorted(p for p in paths if p not in listed and f"bertclf/{p}" not in listed)
    assert not missing, f"add these to CONTRIBUTING.md's map of the package: {missing}"


@pytest.mark.parametrize("stage", ["data", "encoders", "models", "train", "runs", "evaluate", "serve", "book"])
def test_each_stage_is_a_folder(stage):
    assert (PACKAGE / stage / "__init__.py").is_file()


def test_importing_the_package_or_asking_the_cli_for_help_loads_no_heavy_library():
    """``import bertclf`` and ``bertclf --help`` answer at once: torch, transformers, datasets and
    scikit-learn load on first use."""
    probe = ("import sys, bertclf, bertclf.cli\n"
             "try:\n    bertclf.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
