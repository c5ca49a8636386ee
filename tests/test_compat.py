"""Tests for ``sklearn_mbm._compat``: the one module that imports private
scikit-learn names."""

import ast
import importlib
from pathlib import Path

import pytest

import sklearn_mbm
from sklearn_mbm import _compat

PACKAGE = Path(sklearn_mbm.__file__).parent


def _is_private(module, name=""):
    return any(part.startswith("_") for part in module.split(".")) or name.startswith(
        "_"
    )


def private_sklearn_imports(source):
    """``(line, "module.name")`` of each private scikit-learn import in
    ``source``, at module level or inside functions."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "sklearn":
                continue
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if _is_private(node.module, alias.name)
            ]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name)
                for alias in node.names
                if alias.name.split(".")[0] == "sklearn" and _is_private(alias.name)
            ]
    return found


def test_only_compat_imports_private_sklearn_names():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_compat.py"
        for line, name in private_sklearn_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "import these through sklearn_mbm._compat:\n" + "\n".join(
        offenders
    )


def test_the_check_sees_every_import_form():
    source = (
        "from sklearn.base import _fit_context, clone\n"
        "from sklearn.utils._param_validation import (\n    Interval,\n)\n"
        "import sklearn.utils._tags\n"
        "from sklearn.utils import get_tags\n"
        "from sklearn_mbm._io import is_missing\n"
        "def f():\n    from sklearn.utils.validation import _num_samples\n"
    )
    assert private_sklearn_imports(source) == [
        (1, "sklearn.base._fit_context"),
        (2, "sklearn.utils._param_validation.Interval"),
        (5, "sklearn.utils._tags"),
        (9, "sklearn.utils.validation._num_samples"),
    ]


def test_compat_imports_only_private_sklearn_names():
    """Public names are imported from scikit-learn where they are used."""
    tree = ast.parse(Path(_compat.__file__).read_text(encoding="utf-8"))
    imported = [
        (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]
    assert imported and all(_is_private(m, n) for m, n in imported)
    assert sorted(name for _, name in imported) == sorted(_compat.__all__)


@pytest.mark.parametrize("name", _compat.__all__)
def test_names_are_scikit_learns(name):
    value = getattr(_compat, name)
    module = importlib.import_module(value.__module__)
    assert value.__module__.split(".")[0] == "sklearn"
    assert getattr(module, value.__name__) is value
