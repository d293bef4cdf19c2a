"""The layout a newcomer relies on: imports run one way, packages stay small and say what they hold."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from deft import permissions

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contract_holds():
    """Layers (shared kit < catalog < tasks < requests < monitoring < wiring) and no cycles (pyproject.toml)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


APPS = ("deft", "catalog", "tasks", "requests_app", "monitoring")


def imports_inside_functions(path: Path) -> list[str]:
    """`module:line` of each import statement inside a function body (they hide import cycles)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [
                f"{path.relative_to(ROOT)}:{inner.lineno}"
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            ]
    return found


def test_no_import_hides_inside_a_function_except_app_start_up():
    """An app's `ready()` connects hooks and registers kinds at start-up; every other import is at the top."""
    sources = [p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    hidden = [where for path in sources if path.name != "apps.py" for where in imports_inside_functions(path)]
    assert hidden == []


def test_tasks_has_at_most_twelve_modules_at_its_top_level():
    modules = [p for p in (ROOT / "tasks").iterdir() if p.suffix == ".py"]
    assert len(modules) <= 12, sorted(p.name for p in modules)


@pytest.mark.parametrize("package", sorted(p.parent for p in (ROOT / "tasks").glob("*/__init__.py")))
def test_each_package_of_tasks_says_what_it_holds(package):
    if package.name in ("migrations", "management", "commands"):
        return
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert docstring and len(docstring.splitlines()) == 1, f"{package.name}/__init__.py needs a one-line docstring"


def test_the_policy_refuses_a_verb_it_does_not_know(prodmgr):
    with pytest.raises(ValueError, match="unknown verb 'abrot'"):
        permissions.can(prodmgr, "abrot")
    assert permissions.can(prodmgr, "abort") and permissions.can(prodmgr, "approve")
