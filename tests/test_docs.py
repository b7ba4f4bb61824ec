"""The docs stay true: every setting documented, every CLI command and bench listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coverstory.cli import COMMANDS
from coverstory.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    from coverstory.config import settings_table

    doc = (ROOT / "docs" / "settings.md").read_text()
    for s in SETTINGS:
        assert f"| {s.name} | `{s.env}` |" in doc, f"setting {s.name} missing from docs/settings.md"
    assert settings_table() in doc, ("docs/settings.md's table differs from SETTINGS: paste "
                                     "the output of `python -m coverstory.config`")


def test_every_command_line_option_is_documented():
    from coverstory.cli import options_table

    doc = (ROOT / "docs" / "settings.md").read_text()
    assert options_table() in doc, (
        "docs/settings.md's table of command-line options differs from the commands: paste "
        "the output of `python -c 'from coverstory.cli import options_table; "
        "print(options_table())'`")


def test_every_serve_setting_is_documented():
    from coverstory.serve.settings import settings_table

    assert settings_table() in (ROOT / "docs" / "serve.md").read_text(), (
        "docs/serve.md's table of ServeSettings differs: paste the output of `python -c "
        "'from coverstory.serve.settings import settings_table; print(settings_table())'`")


def test_every_environment_variable_read_is_a_setting():
    names = {s.env for s in SETTINGS}
    used: dict[str, str] = {}
    for p in (ROOT / "src").rglob("*.py"):
        for name in re.findall(r"\bCOVERSTORY_[A-Z][A-Z0-9_]*[A-Z0-9]\b", p.read_text()):
            used.setdefault(name, str(p.relative_to(ROOT)))
    missing = {n: f for n, f in used.items() if n not in names}
    assert not missing, f"COVERSTORY_* variables missing from config.SETTINGS: {missing}"
    assert "COVERSTORY_THREADS" in used and "COVERSTORY_HOME" in used     # the scan works


def test_settings_are_read_through_config():
    """Only config.py reads a COVERSTORY_* variable from the environment; the rest call
    ``config.setting`` (or ``threads``, ``cache_dir``), so a default or a parse lives once.
    Setting one for a child process (``dict(os.environ, COVERSTORY_X=...)``) is no read."""
    import ast

    def env_read(node) -> str | None:
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            f = node.func
            name = (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
            on = ast.unparse(f.value) if isinstance(f, ast.Attribute) else ""
            if (name == "get" and on.endswith("environ")) or name == "getenv":
                return node.args[0].value
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and \
                ast.unparse(node.value).endswith("environ") and \
                isinstance(node.slice, ast.Constant):
            return node.slice.value
        return None

    reads = []
    for p in (ROOT / "src" / "coverstory").rglob("*.py"):
        if p.name == "config.py" and p.parent.name == "coverstory":
            continue
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            name = env_read(node)
            if isinstance(name, str) and name.startswith("COVERSTORY_"):
                reads.append(f"{p.relative_to(ROOT)}:{node.lineno} {name}")
    assert not reads, "read these through coverstory.config.setting: " + ", ".join(reads)


def test_threads_setting(monkeypatch):
    from coverstory.config import threads
    from coverstory.errors import BadInput

    monkeypatch.setenv("COVERSTORY_THREADS", "3")
    assert threads() == 3
    monkeypatch.setenv("COVERSTORY_THREADS", "0")
    assert threads() == 1
    monkeypatch.setenv("COVERSTORY_THREADS", "two")
    with pytest.raises(BadInput, match="COVERSTORY_THREADS"):
        threads()
    monkeypatch.delenv("COVERSTORY_THREADS")
    assert threads() >= 1


def test_every_command_is_documented():
    doc = (ROOT / "docs" / "cli.md").read_text()
    for name in COMMANDS:
        assert f"`coverstory {name}" in doc, f"command {name} missing from docs/cli.md"


def test_readme_has_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
