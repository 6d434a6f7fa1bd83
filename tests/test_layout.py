"""The package's layout rules, kept by a test so they stay kept.

Each module has one responsibility and stays small enough to read in one
sitting, and modules talk to each other through public names only, so a
module's private helpers can change without breaking another module.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skepinet"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 600


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module, node):
    """Absolute name of the module an ``ImportFrom`` reads from (None outside skepinet)."""
    if node.level == 0:
        return node.module if (node.module or "").split(".")[0] == "skepinet" else None
    package = module.split(".")
    is_package = MODULES and (PACKAGE.parent / pathlib.Path(*package) / "__init__.py").exists()
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports(path):
    """``(line, what)`` for every private name this module takes from another skepinet module."""
    module, tree = _module_name(path), ast.parse(path.read_text(), str(path))
    found, module_aliases = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source is None:
                continue
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if (PACKAGE.parent / pathlib.Path(*target.split("."))).with_suffix(".py").exists() \
                        or (PACKAGE.parent / pathlib.Path(*target.split("."))).is_dir():
                    # a submodule: private if its own name is
                    module_aliases.add(alias.asname or alias.name)
                    if _is_private(alias.name):
                        found.append((node.lineno, target))
                elif _is_private(alias.name) and source != module:
                    found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "skepinet":
                    if any(_is_private(part) for part in alias.name.split(".")):
                        found.append((node.lineno, alias.name))
                    module_aliases.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases and _is_private(node.attr)):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_takes_a_private_name_from_another(path):
    assert private_imports(path) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{path.name} has {n_lines} lines; split it by responsibility"


def test_the_private_import_check_catches_each_form(tmp_path, monkeypatch):
    fake = tmp_path / "skepinet"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "a.py").write_text("_secret = 1\n")
    (fake / "b.py").write_text(
        "from .a import _secret\nfrom . import a\nfrom skepinet import a as other\n"
        "x = a._secret + other._secret\nfrom .a import __doc__\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert private_imports(fake / "b.py") == [
        (1, "skepinet.a._secret"), (4, "a._secret"), (4, "other._secret")]
