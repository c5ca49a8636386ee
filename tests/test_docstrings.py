"""Tests for sklearn_mbm._docstrings: one templater for shared docs."""

import subprocess
import sys
from pathlib import Path

import pytest

from sklearn_mbm._docstrings import substitute_docs

REPO = Path(__file__).resolve().parents[1]


def test_placeholders_are_replaced_and_other_braces_kept():
    @substitute_docs(shared="shared : int\n        Shared.\n")
    class A:
        """Doc.

        Parameters
        ----------
        {shared}
        mode : {"a", "b"}
        """

    assert "shared : int" in A.__doc__ and '{"a", "b"}' in A.__doc__
    assert "{shared}" not in A.__doc__


def test_a_missing_placeholder_is_an_error():
    with pytest.raises(ValueError, match="has no {shared}"):

        @substitute_docs(shared="x")
        class B:
            """No placeholder."""


def test_no_docstring_is_fine():
    @substitute_docs(shared="x")
    class C:
        pass

    assert C.__doc__ is None


@pytest.mark.parametrize(
    "module", ["sklearn_mbm", "sklearn_mbm.neural", "sklearn_mbm.ensemble"]
)
def test_import_under_python_OO(module):
    # python -OO strips docstrings: __doc__ is None in every class
    result = subprocess.run(
        [sys.executable, "-OO", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
