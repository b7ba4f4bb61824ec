"""The shape of the house (docs/architecture.md), checked from the code itself with ``ast``:

* no import circle among the modules of src/ (lazy imports inside functions count too);
* no import from a stage into a later one (the stage order of docs/architecture.md);
* no module over 450 lines;
* the catalog is the only owner of SQL: neither ``.conn`` nor ``sqlite3.connect`` is used
  outside catalog/;
* the shared feature names of a data home are written once, in artifacts.py.

Each rule has a list of known exceptions in files that other work owned when the rule
was written; a list may only shrink: an entry that no longer breaks its rule fails too
(for module sizes, which move while a file is edited, it is a warning), so it is taken
off when the file is mended.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "coverstory"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
MAX_LINES = 450

# Modules over MAX_LINES, to be split (none left).
OVERSIZE_KNOWN: set[str] = set()

# Imports that run from a stage up into a later one (importer -> imported module).
UPWARD_KNOWN: set[tuple[str, str]] = set()

# Files that still spell a shared feature name ("text/minilm-l6.pretrained", ...) instead of
# taking it from artifacts.py (files other work owned in December 2026).
NAMES_KNOWN: set[str] = {"coverstory/benchmarks/_retrieval_fair.py"}

# Files that still run SQL outside catalog/, on `catalog.conn` or a connection of their own
# (none since December 2026).
CONN_KNOWN: set[str] = set()


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the coverstory modules it imports (at the top or inside functions)."""
    mods = modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base_mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    base_mod = node.module or ""
                # `from pkg import submodule` imports the submodule, else the module itself
                names = [f"{base_mod}.{a.name}" if f"{base_mod}.{a.name}" in mods else base_mod
                         for a in node.names]
            else:
                continue
            out |= {known(n) for n in names if n.split(".")[0] == "coverstory"}
        out.discard(None)
        out.discard(mod)
        graph[mod] = out
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def stages() -> list[list[str]]:
    """The stage order written in docs/architecture.md: the ``stages:`` block, one stage a
    line from the ground up, each a list of rooms (a package, a module, or ``*/commands``
    for the command modules of every stage)."""
    text = DOC.read_text()
    block = re.search(r"```text\nstages:\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```text stages: block"
    out = []
    for line in block.group(1).splitlines():
        if ":" in line:
            out.append(line.split(":", 1)[1].split())
    return out


def stage_of(module: str, order: list[list[str]]) -> int:
    name = module.removeprefix("coverstory").lstrip(".") or "__init__"
    # the longest room that holds the module: "eval.ranking" before "eval"
    parts = name.split(".")
    room = next((i for n in range(len(parts), 0, -1) for i, rooms in enumerate(order)
                 if ".".join(parts[:n]) in rooms), None)
    assert room is not None, f"{module} is in no stage of docs/architecture.md: add its room"
    if name.endswith(".commands"):      # a command module stands with the interfaces
        return max(room, next(i for i, rooms in enumerate(order) if "*/commands" in rooms))
    return room


# ---- the tests --------------------------------------------------------------------------
def test_the_graph_reader_sees_lazy_and_relative_imports(tmp_path):
    graph = import_graph()
    # a lazy import inside a function, and a `from package import submodule`
    assert "coverstory.search.gallery" in graph["coverstory.search.service"]
    assert "coverstory.index.exact" in graph["coverstory.index"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    found = cycles(import_graph())
    assert not found, "import circles (break each one): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_no_import_into_a_later_stage():
    order = stages()
    upward = set()
    for mod, imported in import_graph().items():
        for target in imported:
            if stage_of(target, order) > stage_of(mod, order):
                upward.add((mod, target))
    new = sorted(upward - UPWARD_KNOWN)
    assert not new, "imports from a stage into a later one (docs/architecture.md): " + \
        ", ".join(f"{a} -> {b}" for a, b in new)
    mended = sorted(UPWARD_KNOWN - upward)
    assert not mended, f"take these off UPWARD_KNOWN, they are mended: {mended}"


def test_every_module_has_a_stage():
    order = stages()
    for mod in import_graph():
        stage_of(mod, order)


def test_no_module_over_450_lines():
    sizes = {str(p.relative_to(SRC)): len(p.read_text().splitlines())
             for p in PKG.rglob("*.py")}
    over = {p for p, n in sizes.items() if n > MAX_LINES}
    new = sorted(over - OVERSIZE_KNOWN)
    assert not new, f"modules over {MAX_LINES} lines (split them): " + ", ".join(
        f"{p} ({sizes[p]})" for p in new)
    mended = sorted(OVERSIZE_KNOWN - over)
    if mended:      # modules being edited may hover at the limit: a note, not a failure
        warnings.warn(f"take these off OVERSIZE_KNOWN, they are short now: {mended}")


def conn_users() -> set[str]:
    users = set()
    for p in PKG.rglob("*.py"):
        rel = str(p.relative_to(SRC))
        if rel.startswith("coverstory/catalog/"):
            continue
        tree = ast.parse(p.read_text(), str(p))
        if any(isinstance(n, ast.Attribute) and (
                n.attr == "conn" or (n.attr == "connect" and isinstance(n.value, ast.Name)
                                     and n.value.id == "sqlite3"))
               for n in ast.walk(tree)):
            users.add(rel)
    return users


def test_only_the_catalog_runs_sql():
    users = conn_users()
    new = sorted(users - CONN_KNOWN)
    assert not new, ("SQL (`.conn` or `sqlite3.connect`) outside catalog/: add a Catalog "
                     "method (or a catalog/copies.py function) and call it instead: "
                     + ", ".join(new))
    mended = sorted(CONN_KNOWN - users)
    assert not mended, f"take these off CONN_KNOWN, they no longer use .conn: {mended}"


def feature_name_spellers() -> set[str]:
    """Modules with a string constant equal to a feature name of artifacts.py (docstrings
    aside)."""
    from coverstory import artifacts

    names = {v for k, v in vars(artifacts).items() if k.endswith("_FEATURE")}
    users = set()
    for p in PKG.rglob("*.py"):
        rel = str(p.relative_to(SRC))
        if rel == "coverstory/artifacts.py":
            continue
        tree = ast.parse(p.read_text(), str(p))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and n.body and isinstance(n.body[0], ast.Expr)}
        if any(isinstance(n, ast.Constant) and n.value in names and id(n) not in docs
               for n in ast.walk(tree)):
            users.add(rel)
    return users


def test_feature_names_are_written_once():
    users = feature_name_spellers()
    new = sorted(users - NAMES_KNOWN)
    assert not new, ("feature names spelt out instead of taken from coverstory.artifacts: "
                     + ", ".join(new))
    mended = sorted(NAMES_KNOWN - users)
    assert not mended, f"take these off NAMES_KNOWN, they use artifacts.py now: {mended}"
