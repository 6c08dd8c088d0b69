"""What pipeline/ and flows/ import is what pyproject declares: no package arrives only because
prefect happens to pull it in, and the optional ones fail with one clear line."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, str]:
    """Distribution -> where pyproject declares it (``core`` or the extra's name)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found: dict[str, str] = {}
    groups = {"core": project["dependencies"], **project.get("optional-dependencies", {})}
    for where, requirements in groups.items():
        for requirement in requirements:
            name = re.match(r"[A-Za-z0-9_.-]+", requirement)
            assert name is not None, requirement
            found.setdefault(_normal(name.group(0)), where)
    return found


def _top_level_imports() -> dict[str, set[str]]:
    """Third-party top-level module -> files importing it (anywhere in the file)."""
    modules: dict[str, set[str]] = {}
    for folder in ("pipeline", "flows"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in ("pipeline", "flows"):
                        modules.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return modules


def test_every_third_party_import_is_declared() -> None:
    declared = _declared()
    distributions = packages_distributions()
    imports = _top_level_imports()
    assert {"typer", "rich", "jinja2", "sqlalchemy", "alembic", "pydantic_settings"} <= set(imports)
    missing = {}
    for module, files in imports.items():
        names = {_normal(d) for d in distributions.get(module, [])}
        assert names, f"{module} (imported by {sorted(files)[0]}) is not installed"
        if not names & declared.keys():
            missing[module] = sorted(files)
    assert not missing, f"imported but not declared in pyproject: {missing}"


def test_extras_are_where_the_readme_needs_them() -> None:
    declared = _declared()
    assert declared["psycopg"] == "postgres" and declared["prefect-dask"] == "scale"
    assert declared["asyncssh"] == "core"  # `claimflow demo` serves SFTP out of the box


def test_a_postgres_ledger_without_its_driver_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.ledger.engine import make_engine

    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ModuleNotFoundError
    with pytest.raises(ConfigError, match=r"claimflow\[postgres\]"):
        make_engine("postgresql://claimflow@127.0.0.1:1/none")
