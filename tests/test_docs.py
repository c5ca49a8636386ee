"""The documentation builds without a single warning.

Runs ``sphinx-build -W -b html -D plot_gallery=0`` (the gallery pages are
generated from the examples without running them; ``test_examples.py`` runs
them) on a copy of ``docs/`` and ``examples/``, so that the build leaves no
generated files in the checkout. ``docs/conf.py`` documents the package
copied beside it.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Long-running, but run in CI like every test (see pyproject markers).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DOC_EXTENSIONS = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme")
GENERATED = ("_build", "generated", "auto_examples", "sg_execution_times.rst")


@pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in DOC_EXTENSIONS),
    reason="the docs extra is not installed (pip install '.[docs]')",
)
def test_docs_build_without_warnings(tmp_path):
    shutil.copytree(
        REPO / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns(*GENERATED)
    )
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    # the user guide includes the data set description from the package
    shutil.copytree(
        REPO / "sklearn_mbm",
        tmp_path / "sklearn_mbm",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(tmp_path / "docs"),
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"sphinx-build failed (exit {proc.returncode}):\n{proc.stderr[-8000:]}"
    )
    for page in (
        "index.html",
        "install.html",
        "api.html",
        "user_guide/fusion.html",
        "auto_examples/index.html",
        "generated/sklearn_mbm.fusion.FusionTransformer.html",
    ):
        assert (out / page).is_file(), f"{page} was not built"


def test_api_reference_lists_every_public_name():
    """docs/api.rst has an autosummary entry for each public name."""
    import sklearn_mbm
    import sklearn_mbm.inspection
    import sklearn_mbm.plotting

    api = (REPO / "docs" / "api.rst").read_text(encoding="utf-8")
    entries = {
        line.strip().rsplit(".", 1)[-1]
        for line in api.splitlines()
        if line.startswith("   ") and "." in line and not line.strip().startswith(":")
    }
    public = {name for name in sklearn_mbm.__all__ if name != "__version__"}
    public |= set(sklearn_mbm.inspection.__all__) | set(sklearn_mbm.plotting.__all__)
    assert public - entries == set(), "missing from docs/api.rst"
